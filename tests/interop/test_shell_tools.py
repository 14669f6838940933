"""`rolecall exec`, `prompt`, `status` and shell completions, with the real clients: the AWS CLI
and boto3 read what `exec` gives them, signals go through it, bash, zsh and fish complete
account names from the cached catalogue.
"""

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time

from test_cli_interop import IDENTITY, ROLECALL, VENV_BIN, machine  # noqa: F401  (machine is a fixture)


def test_exec_gives_the_aws_cli_and_boto3_the_role_and_only_the_role(machine):
    m = machine().signed_in()
    # Whatever the shell held before is cleared, so nothing outranks the role's keys.
    stale = {"AWS_PROFILE": "gone", "AWS_ACCESS_KEY_ID": "AKIASTALE", "AWS_SECRET_ACCESS_KEY": "x"}
    cli = m.rolecall(
        "exec", "payments-prod", "ReadOnlyAccess", "--", str(VENV_BIN / "aws"), "sts", "get-caller-identity", "--output", "json",
        extra=stale,
    )
    assert "AWSReservedSSO_ReadOnlyAccess_" in json.loads(cli.stdout)["Arn"]
    boto = m.rolecall(
        "exec", "--region", "eu-west-1", "search-dev", "DeveloperAccess", "--",
        sys.executable, "-c", IDENTITY.format("Session()") + "; import os; print(os.environ['AWS_REGION'])",
    )
    arn_line, region = boto.stdout.strip().splitlines()
    assert "AWSReservedSSO_DeveloperAccess_" in json.loads(arn_line)["Arn"]
    assert region == "eu-west-1"
    # Without --region and with none in the environment, the session's region.
    env = m.rolecall("exec", "search-dev", "DeveloperAccess", "--", "env").stdout
    assert "\nAWS_REGION=us-east-1\n" in "\n" + env
    assert "AWS_PROFILE=" not in env and "AKIASTALE" not in env


def test_exec_passes_the_exit_status_and_signals_through(machine):
    m = machine().signed_in()
    assert m.rolecall("exec", "payments-prod", "ReadOnlyAccess", "--", "sh", "-c", "exit 7", check=False).returncode == 7
    missing = m.rolecall("exec", "payments-prod", "ReadOnlyAccess", "--", "no-such-command-here", check=False)
    assert missing.returncode == 127 and "cannot run no-such-command-here" in missing.stderr
    unknown = m.rolecall("exec", "nowhere", "ReadOnlyAccess", "--", "true", check=False)
    assert unknown.returncode == 4, "an unknown account stops before anything runs"

    for sig, name in ((signal.SIGTERM, "TERM"), (signal.SIGINT, "INT"), (signal.SIGHUP, "HUP")):
        ready = m.home / f"ready-{name}"
        got = m.home / f"got-{name}"
        child = (
            "import signal, sys, time, pathlib\n"
            f"def on(s, f):\n    pathlib.Path({str(got)!r}).write_text(signal.Signals(s).name)\n    sys.exit(3)\n"
            f"signal.signal(signal.SIG{name}, on)\n"
            f"pathlib.Path({str(ready)!r}).write_text('ready')\n"
            "time.sleep(60)\nsys.exit(9)\n"
        )
        proc = subprocess.Popen(
            [ROLECALL, "exec", "payments-prod", "ReadOnlyAccess", "--", sys.executable, "-c", child],
            env=m.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.time() + 30
        while not ready.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert ready.exists(), proc.stderr.read() if proc.poll() is not None else "the command never started"
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 3, proc.stderr.read()
        assert got.read_text() == f"SIG{name}", "the command got the signal Rolecall was sent"

    # A command ended by a signal: 128 + its number, as a shell reports it.
    killed = m.rolecall("exec", "payments-prod", "ReadOnlyAccess", "--", "sh", "-c", "kill -TERM $$", check=False)
    assert killed.returncode == 128 + signal.SIGTERM


def test_exec_refuses_to_nest_another_role_unless_asked(machine):
    m = machine().signed_in()
    inner = [ROLECALL, "exec", "search-dev", "DeveloperAccess", "--", "true"]
    nested = m.rolecall("exec", "payments-prod", "ReadOnlyAccess", "--", *inner, check=False)
    assert nested.returncode == 2 and "--nest" in nested.stderr and "ReadOnlyAccess" in nested.stderr
    m.rolecall("exec", "payments-prod", "ReadOnlyAccess", "--", ROLECALL, "exec", "--nest", *inner[2:])
    m.rolecall("exec", "payments-prod", "ReadOnlyAccess", "--", ROLECALL, "exec", "payments-prod", "ReadOnlyAccess", "--", "true")


def test_exec_with_the_endpoint_renews_and_revokes_its_grant_at_the_end(machine):
    m = machine("--role-credentials-ttl", "4s").signed_in().start_agent()
    script = (
        "import boto3, json, time, os\n"
        "s = boto3.Session(); sts = s.client('sts', region_name='us-east-1')\n"
        "a = sts.get_caller_identity()['Arn']; k1 = s.get_credentials().get_frozen_credentials().access_key\n"
        "time.sleep(5)\n"
        "b = sts.get_caller_identity()['Arn']; k2 = s.get_credentials().get_frozen_credentials().access_key\n"
        "print(json.dumps([a, b, k1 != k2, 'AWS_ACCESS_KEY_ID' in os.environ]))\n"
    )
    out = m.rolecall("exec", "--endpoint", "payments-prod", "AdministratorAccess", "--", sys.executable, "-c", script)
    a, b, renewed, keys_in_env = json.loads(out.stdout)
    assert a == b and "AWSReservedSSO_AdministratorAccess_" in a
    assert renewed and not keys_in_env
    assert m.rolecall("grants").stdout.strip() == "", "the grant died with the command"


def test_prompt_names_the_shells_role_and_nothing_else(machine):
    m = machine().signed_in()
    inside = m.rolecall("exec", "payments-prod", "ReadOnlyAccess", "--", ROLECALL, "prompt").stdout.strip()
    assert re.fullmatch(r"payments-prod/ReadOnlyAccess (\d+m|\dh\d\dm)", inside), inside
    custom = m.rolecall(
        "exec", "payments-prod", "ReadOnlyAccess", "--", ROLECALL, "prompt", "--format", "[{account_id}:{role}]"
    ).stdout.strip()
    assert re.fullmatch(r"\[\d{12}:ReadOnlyAccess\]", custom), custom
    # After `eval "$(rolecall env ...)"` in a real shell.
    script = f'eval "$({ROLECALL} env payments-prod ReadOnlyAccess)"; {ROLECALL} prompt; export AWS_ACCESS_KEY_ID=AKIABYHAND; echo "[$({ROLECALL} prompt)]"'
    out = subprocess.run(["bash", "-c", script], env=m.env, capture_output=True, text=True, timeout=60)
    first, second = out.stdout.strip().splitlines()
    assert first.startswith("payments-prod/ReadOnlyAccess "), out.stderr
    assert second == "[]", "keys set by hand over Rolecall's are not named as Rolecall's"
    nothing = m.rolecall("prompt")
    assert nothing.returncode == 0 and nothing.stdout == ""


def test_status_json_lists_sessions_and_held_roles(machine):
    m = machine().signed_in()
    alone = json.loads(m.rolecall("status", "--json").stdout)
    assert alone["agent"] is False and alone["active"] == []
    assert alone["sessions"][0]["name"] == "sim" and alone["sessions"][0]["signed_in"] is True
    m.start_agent()
    m.rolecall("credential-process", "payments-prod", "ReadOnlyAccess")
    status = json.loads(m.rolecall("status", "--json").stdout)
    assert status["agent"] is True
    (held,) = status["active"]
    assert held["account_name"] == "payments-prod" and held["role"] == "ReadOnlyAccess"
    assert re.fullmatch(r"\d{12}", held["account_id"]) and 0 < held["seconds_left"] <= 3600
    assert "AccessKeyId" not in json.dumps(status) and "access_key" not in json.dumps(status)
    text = m.rolecall("status").stdout
    assert "payments-prod" in text and "ReadOnlyAccess" in text and "left" in text


def completion_env(m):
    m.rolecall("ls")  # caches the catalogue
    return dict(m.env, PATH=f"{os.path.dirname(ROLECALL)}:{m.env['PATH']}")


def test_bash_zsh_and_fish_complete_account_and_role_names(machine):
    m = machine().signed_in()
    env = completion_env(m)
    bash = (
        'source <(rolecall completions bash)\n'
        'COMP_WORDS=(rolecall env pay); COMP_CWORD=2; COMP_LINE="rolecall env pay"; COMP_POINT=${#COMP_LINE}\n'
        'f=$(complete -p rolecall | sed -E "s/.* -F ([^ ]+) .*/\\1/")\n'
        '"$f" rolecall pay env\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    out = subprocess.run(["bash", "-c", bash], env=env, capture_output=True, text=True, timeout=60)
    assert set(out.stdout.split()) == {"payments-dev", "payments-prod", "payments-staging"}, out.stdout + out.stderr

    fish = subprocess.run(
        ["fish", "-c", "rolecall completions fish | source; complete -C 'rolecall env payments-prod Read'"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert [line.split("\t")[0] for line in fish.stdout.splitlines()] == ["ReadOnlyAccess"], fish.stdout + fish.stderr

    # zsh: the registered completion function, run by zsh, with _describe (what it hands the
    # candidates to) printing them.
    zsh = (
        "autoload -U compinit && compinit -u\n"
        "source <(rolecall completions zsh)\n"
        "_describe() { local a=${@[-1]}; print -rl -- ${(P)a} }\n"
        "words=(rolecall whoami pay); CURRENT=3\n"
        "${_comps[rolecall]}\n"
    )
    out = subprocess.run(["zsh", "-f", "-c", zsh], env=dict(env, HOME=str(m.home)), capture_output=True, text=True, timeout=60)
    offered = {line.split(":")[0] for line in out.stdout.split()}
    assert offered == {"payments-dev", "payments-prod", "payments-staging"}, out.stdout + out.stderr


def test_manual_pages_come_from_the_same_definitions(machine, tmp_path):
    m = machine()
    m.rolecall("man", str(tmp_path / "man"))
    pages = sorted(p.name for p in (tmp_path / "man").iterdir())
    for name in ("rolecall.1", "rolecall-exec.1", "rolecall-prompt.1", "rolecall-status.1", "rolecall-completions.1"):
        assert name in pages
    exec_page = (tmp_path / "man" / "rolecall-exec.1").read_text().replace("\\-", "-")
    assert ".TH rolecall-exec 1" in exec_page
    assert "--endpoint" in exec_page and "--nest" in exec_page


def test_the_grants_token_can_live_in_a_file_not_in_the_environment(machine):
    """`env --endpoint --token-file` and `exec --endpoint --token-file`: the token is in a 0600
    file that AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names, never in the environment (which
    `docker inspect` and /proc show); boto3 reads it on every call; exec's file goes with it."""
    m = machine().signed_in().start_agent()
    token_file = m.home / "grant-token"
    out = m.rolecall("env", "payments-prod", "ReadOnlyAccess", "--endpoint", "--token-file", str(token_file))
    exports = dict(re.findall(r"export (\w+)='([^']*)'", out.stdout))
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN" not in exports
    assert exports["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] == str(token_file)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text() not in out.stdout + out.stderr
    who = m.python("import boto3; print(boto3.client('sts', region_name='us-east-1').get_caller_identity()['Arn'])", extra=exports)
    assert "AWSReservedSSO_ReadOnlyAccess_" in who.stdout
    # `rolecall prompt` still names the shell's role.
    assert m.rolecall("prompt", extra=exports).stdout.startswith("payments-prod/ReadOnlyAccess")

    script = (
        "import boto3, json, os, stat\n"
        "f = os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE']\n"
        "arn = boto3.client('sts', region_name='us-east-1').get_caller_identity()['Arn']\n"
        "print(json.dumps([arn, f, stat.S_IMODE(os.stat(f).st_mode), 'AWS_CONTAINER_AUTHORIZATION_TOKEN' in os.environ]))\n"
    )
    ran = m.rolecall("exec", "--endpoint", "--token-file", "payments-prod", "ReadOnlyAccess", "--", sys.executable, "-c", script)
    arn, path, mode, token_in_env = json.loads(ran.stdout)
    assert "AWSReservedSSO_ReadOnlyAccess_" in arn
    assert mode == 0o600 and not token_in_env
    assert not os.path.exists(path), "the token file ends with the command"
    env_grant = exports["ROLECALL_HOLDS"].removeprefix("grant:")
    assert [g.split()[0] for g in m.rolecall("grants").stdout.splitlines()] == [env_grant], "exec's grant ended with it"
    no_endpoint = m.rolecall("env", "payments-prod", "ReadOnlyAccess", "--token-file", str(token_file), check=False)
    assert no_endpoint.returncode == 2 and "--endpoint" in no_endpoint.stderr
