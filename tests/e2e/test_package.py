"""The .deb from the Tauri bundler (scripts/test builds it first): installed with dpkg -i on
this machine, it puts the binary, the desktop entry and the icons in place and starts on the
demo organisation. Needs root, as CI and the development machines have."""

import glob
import os
import pathlib
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_deb_installs_and_starts(tmp_path):
    debs = sorted(glob.glob(str(ROOT / "target" / "debug" / "bundle" / "deb" / "*.deb")))
    assert debs, "scripts/test builds the .deb before this test (tauri build --debug --bundles deb)"
    assert os.geteuid() == 0, "dpkg -i needs root"
    subprocess.run(["dpkg", "-i", debs[-1]], check=True, capture_output=True)
    try:
        status = subprocess.run(["dpkg", "-s", "rolecall"], capture_output=True, text=True, check=True).stdout
        assert "Status: install ok installed" in status
        entry = pathlib.Path("/usr/share/applications/Rolecall.desktop").read_text()
        assert "Exec=rolecall-desktop %u" in entry and "Icon=rolecall-desktop" in entry
        # rolecall:// links open in Rolecall (the desktop hands them over as the argument).
        assert "MimeType=x-scheme-handler/rolecall;" in entry
        assert pathlib.Path("/usr/share/icons/hicolor/128x128/apps/rolecall-desktop.png").exists()
        # The CLI, its manual pages and its completions come with it.
        version = subprocess.run(["/usr/bin/rolecall", "--version"], capture_output=True, text=True, check=True)
        assert version.stdout.startswith("rolecall ")
        helper = subprocess.run(["/usr/bin/docker-credential-rolecall", "list"], capture_output=True, text=True,
                                env=dict(os.environ, ROLECALL_HOME=str(tmp_path / "home")))
        assert helper.returncode == 0 and helper.stdout.strip() == "{}", helper.stderr
        for page in ("rolecall.1.gz", "rolecall-exec.1.gz", "rolecall-prompt.1.gz"):
            assert pathlib.Path("/usr/share/man/man1", page).exists(), page
        bash = pathlib.Path("/usr/share/bash-completion/completions/rolecall").read_text()
        assert "COMPLETE" in bash and "rolecall" in bash
        assert pathlib.Path("/usr/share/fish/vendor_completions.d/rolecall.fish").read_text().strip()
        zsh = pathlib.Path("/usr/share/zsh/vendor-completions/_rolecall").read_text()
        assert zsh.startswith("#compdef rolecall") and "_clap_dynamic_completer_rolecall" in zsh
        # bash-completion loads the installed file on demand; completing a subcommand works
        # without any setup of the person's own.
        probe = (
            "source /usr/share/bash-completion/bash_completion\n"
            "_completion_loader rolecall\n"
            'COMP_WORDS=(rolecall exe); COMP_CWORD=1; COMP_LINE="rolecall exe"; COMP_POINT=${#COMP_LINE}\n'
            'f=$(complete -p rolecall | sed -E "s/.* -F ([^ ]+) .*/\\1/"); "$f" rolecall exe rolecall\n'
            'printf "%s\\n" "${COMPREPLY[@]}"\n'
        )
        out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=dict(os.environ, ROLECALL_HOME=str(tmp_path / "home")))
        assert out.stdout.split() == ["exec"], out.stdout + out.stderr

        log = tmp_path / "app.log"
        env = dict(os.environ, ROLECALL_HOME=str(tmp_path / "home"), ROLECALL_OPENER="true")
        with open(log, "w") as out:
            app = subprocess.Popen(["/usr/bin/rolecall-desktop", "--demo", "--no-agent"], env=env, stdout=out, stderr=out)
        try:
            deadline = time.time() + 30
            while time.time() < deadline and "credential endpoint listening" not in log.read_text():
                assert app.poll() is None, f"the installed app exited: {log.read_text()}"
                time.sleep(0.2)
            assert "demo organisation served at http://127.0.0.1:" in log.read_text()
            time.sleep(2)
            assert app.poll() is None, f"the installed app stays up: {log.read_text()}"
        finally:
            app.terminate()
            app.wait(timeout=10)
    finally:
        subprocess.run(["dpkg", "-r", "rolecall"], check=True, capture_output=True)
