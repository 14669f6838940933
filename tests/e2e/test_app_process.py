"""The desktop app as a process, without WebDriver: PKCE sign-in that finishes by itself
through the browser (the opener plays the browser), single instance (a second launch exits
and brings up the first one's window), and start at login."""

import os
import pathlib
import shlex
import subprocess
import sys
import time

import pytest
from conftest import app_log_problems
from simulator import Sim  # noqa: F401  (importable: the e2e conftest puts it on the path)

ROOT = pathlib.Path(__file__).resolve().parents[2]
APP = os.environ.get("ROLECALL_DESKTOP_BIN", str(ROOT / "target" / "debug" / "rolecall-desktop"))


@pytest.fixture(autouse=True)
def no_app_broke(tmp_path):
    """Every app a test here started logged no panic and no tray call off the main thread."""
    yield
    for log in sorted(tmp_path.glob("*.log")):
        problem = app_log_problems(log.read_text(errors="replace"))
        assert problem is None, f"{log.name} says the app is broken:\n{problem}"


def visible_window(name):
    out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{name}$"], capture_output=True, text=True)
    return out.stdout.strip()


def wait(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = condition()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def launch(tmp_path, sim, *args, opener="true", config_extra=None):
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True, exist_ok=True)
    config = home / "config" / "config.toml"
    if config_extra is not None or not config.exists():
        config.write_text((config_extra or "") + sim.session_toml())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ROLECALL_HOME=str(home), ROLECALL_OPENER=opener, ROLECALL_AGENT_SOCKET=str(tmp_path / "agent.sock"))
    log = open(tmp_path / f"app-{len(list(tmp_path.glob('app-*.log')))}.log", "w")
    return subprocess.Popen([APP, *args], env=env, stdout=log, stderr=log), log.name


def test_pkce_sign_in_finishes_by_itself(start_sim, tmp_path):
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    browser = tmp_path / "browser"
    browser.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1]).read()' \"$1\"\n")
    browser.chmod(0o755)
    app, log = launch(tmp_path, sim, "--hidden", opener=str(browser))
    try:
        wait(lambda: "credential endpoint listening" in pathlib.Path(log).read_text(), 30, "the app")
        # The app signs in (asked over its agent socket, as the CLI does): PKCE by default.
        sock = tmp_path / "agent.sock"
        wait(sock.exists, 10, "the agent socket")
        out = subprocess.run(
            [str(ROOT / "target" / "debug" / "rolecall"), "login"],
            env=dict(os.environ, ROLECALL_AGENT_SOCKET=str(sock), ROLECALL_OPENER=str(browser)),
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert "Opening the browser" in out.stderr and "signed in to sim" in out.stderr
        stats = sim.stats()["operations"]
        assert stats.get("CreateToken") == 1 and "StartDeviceAuthorization" not in stats, "PKCE, not the device flow"
    finally:
        app.terminate()
        app.wait(timeout=10)


def test_single_instance(start_sim, tmp_path):
    sim = start_sim("--org", "demo")
    first, log = launch(tmp_path, sim, "--hidden", "--no-agent")
    try:
        wait(lambda: "credential endpoint listening" in pathlib.Path(log).read_text(), 30, "the first instance")
        assert not visible_window("Rolecall"), "started hidden"
        second, _ = launch(tmp_path, sim, "--no-agent")
        assert second.wait(timeout=30) == 0, "the second launch hands over and exits"
        wait(lambda: visible_window("Rolecall"), 20, "the first instance's window, brought up")
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(timeout=10)


def test_a_link_that_is_not_utf8_hands_over_without_a_panic(start_sim, tmp_path):
    """A browser can start Rolecall with any bytes as its link: the second launch must still
    hand over and exit (it panicked reading its arguments), and the first must stay up and
    say the link is not one it understands."""
    sim = start_sim("--org", "demo")
    first, log = launch(tmp_path, sim, "--hidden", "--no-agent")
    try:
        wait(lambda: "credential endpoint listening" in pathlib.Path(log).read_text(), 30, "the first instance")
        second, second_log = launch(tmp_path, sim, "--no-agent", b"rolecall://open?account=\xff\xfe")
        assert second.wait(timeout=30) == 0, pathlib.Path(second_log).read_text()
        assert "panicked" not in pathlib.Path(second_log).read_text()
        wait(lambda: visible_window("Rolecall"), 20, "the first instance's window, brought up")
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(timeout=10)


def test_start_at_login_follows_the_preference(start_sim, tmp_path, monkeypatch):
    """`autostart = true` writes an XDG autostart entry that starts Rolecall hidden in the
    tray; that entry's command line starts it so; `autostart = false` removes the entry."""
    sim = start_sim("--org", "demo")
    # The entry goes to ~/.config/autostart (the plugin ignores XDG_CONFIG_HOME): a home of
    # the test's own keeps the real one untouched.
    home = tmp_path / "login-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    entry = home / ".config" / "autostart" / "Rolecall.desktop"
    config = tmp_path / "home" / "config" / "config.toml"
    app, log = launch(tmp_path, sim, "--no-agent", config_extra="[preferences]\nautostart = true\n")
    try:
        wait(entry.exists, 30, "the autostart entry")
        wait(lambda: "start at login enabled" in pathlib.Path(log).read_text(), 10, "the log line")
    finally:
        app.terminate()
        app.wait(timeout=10)
    fields = dict(line.split("=", 1) for line in entry.read_text().splitlines() if "=" in line)
    assert fields["Type"] == "Application" and fields["Name"] == "Rolecall"
    command = shlex.split(fields["Exec"])
    assert pathlib.Path(command[0]).resolve() == pathlib.Path(APP).resolve() and command[1:] == ["--hidden"]

    # What the session does at login: run the entry's command line.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ROLECALL_HOME=str(tmp_path / "home"), ROLECALL_OPENER="true",
               ROLECALL_AGENT_SOCKET=str(tmp_path / "agent.sock"))
    with open(tmp_path / "login.log", "w") as out:
        at_login = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    try:
        wait(lambda: "credential endpoint listening" in (tmp_path / "login.log").read_text(), 30, "the app")
        wait(lambda: (tmp_path / "agent.sock").exists(), 10, "its agent socket")
        time.sleep(2)  # past the point where a window would have been shown
        assert not visible_window("Rolecall"), "started at login, Rolecall waits in the tray"
    finally:
        at_login.terminate()
        at_login.wait(timeout=10)

    config.write_text(config.read_text().replace("autostart = true", "autostart = false"))
    app, log = launch(tmp_path, sim, "--hidden", "--no-agent")
    try:
        wait(lambda: not entry.exists(), 30, "the autostart entry removed")
        # The app says so just after it removed the entry: wait for the line, as above.
        wait(lambda: "start at login disabled" in pathlib.Path(log).read_text(), 10, "the log line")
    finally:
        app.terminate()
        app.wait(timeout=10)


def test_the_quick_picker_from_a_launch_with_picker(start_sim, tmp_path):
    """Where the global shortcut cannot be grabbed (Wayland), a desktop's own shortcut settings
    bind `rolecall-desktop --picker`: a second launch hands it to the running app, which shows
    the quick picker (not the main window); a first launch with it starts with the picker."""
    sim = start_sim("--org", "demo")
    first, log = launch(tmp_path, sim, "--hidden", "--no-agent")
    try:
        wait(lambda: "credential endpoint listening" in pathlib.Path(log).read_text(), 30, "the first instance")
        assert not visible_window("Rolecall quick picker")
        second, second_log = launch(tmp_path, sim, "--picker", "--no-agent")
        assert second.wait(timeout=30) == 0, pathlib.Path(second_log).read_text()
        wait(lambda: visible_window("Rolecall quick picker"), 20, "the quick picker, brought up by --picker")
        assert not visible_window("Rolecall"), "the picker alone, not the main window"
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(timeout=10)

    alone, log = launch(tmp_path, sim, "--picker", "--no-agent")
    try:
        wait(lambda: visible_window("Rolecall quick picker"), 30, "the quick picker of a first launch with --picker")
        assert not visible_window("Rolecall")
    finally:
        alone.terminate()
        alone.wait(timeout=10)
