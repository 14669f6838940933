"""The companion CLI with real AWS clients nobody here wrote: boto3/botocore and the AWS CLI
(version 1, from PyPI) use `credential_process` profiles written by `rolecall profiles` and the
local credential endpoint of `rolecall agent` to call STS on the simulator.

Runs inside scripts/with-session-bus (the Rust tests' private D-Bus session with gnome-keyring),
so `rolecall login` keeps its sign-in in a real Secret Service keychain.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLECALL = os.environ.get("ROLECALL_BIN", str(ROOT / "target" / "debug" / "rolecall"))
VENV_BIN = pathlib.Path(sys.executable).parent


class Env:
    """A person's machine in a folder: HOME, ~/.aws, Rolecall's config, the agent socket."""

    def __init__(self, tmp_path, sim):
        self.sim = sim
        self.home = tmp_path / "home"
        (self.home / ".aws").mkdir(parents=True)
        self.aws_config = self.home / ".aws" / "config"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") and k not in ("ROLECALL_SESSION",)
        }
        self.env.update(
            HOME=str(self.home),
            ROLECALL_HOME=str(tmp_path / "rolecall"),
            ROLECALL_AGENT_SOCKET=str(tmp_path / "agent" / "agent.sock"),
            ROLECALL_OPENER="true",
            AWS_CONFIG_FILE=str(self.aws_config),
            AWS_SHARED_CREDENTIALS_FILE=str(self.home / ".aws" / "credentials"),
            PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            **{k: sim.env[k] for k in ("AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_IAM", "ROLECALL_FEDERATION_URL")},
        )
        self.agent = None

    def rolecall(self, *args, check=True, extra=None):
        env = dict(self.env, **(extra or {}))
        out = subprocess.run([ROLECALL, *args], env=env, capture_output=True, text=True, timeout=120)
        if check:
            assert out.returncode == 0, f"rolecall {' '.join(args)} failed ({out.returncode}): {out.stderr}"
        return out

    def python(self, script, extra=None, check=True):
        env = dict(self.env, **(extra or {}))
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
        if check:
            assert out.returncode == 0, out.stderr
        return out

    def aws(self, *args, extra=None):
        env = dict(self.env, **(extra or {}))
        return subprocess.run([str(VENV_BIN / "aws"), *args], env=env, capture_output=True, text=True, timeout=120)

    def signed_in(self):
        self.rolecall("session", "add", "sim", "--start-url", self.sim.start_url, "--region", "us-east-1")
        out = self.rolecall("login", "--device-code")
        assert "enter the code" in out.stderr and "signed in to sim" in out.stderr
        return self

    def start_agent(self):
        self.agent = subprocess.Popen([ROLECALL, "agent"], env=dict(self.env, ROLECALL_LOG="info"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.agent.stdout.readline()
        assert "socket" in line, line + self.agent.stderr.read()
        endpoint_line = self.agent.stdout.readline()
        assert "credential endpoint http://127.0.0.1:" in endpoint_line
        return self

    def stop(self):
        if self.agent and self.agent.poll() is None:
            self.agent.terminate()
            self.agent.wait(timeout=10)


@pytest.fixture
def machine(start_sim, tmp_path):
    made = []

    def make(*sim_args):
        env = Env(tmp_path, start_sim("--org", "demo", "--auto-approve-after", "0", *sim_args))
        made.append(env)
        return env

    yield make
    for env in made:
        env.stop()


IDENTITY = "import boto3, json; print(json.dumps(boto3.{}.client('sts', region_name='us-east-1').get_caller_identity()))"


def test_credential_process_profiles_with_boto3_and_the_aws_cli(machine):
    m = machine().signed_in()
    m.aws_config.write_text("[default]\nregion = eu-west-1\n\n[profile mine]\nregion = us-west-2\n")
    before = m.aws_config.read_text()

    dry = m.rolecall("profiles", "--role", "payments-prod/ReadOnlyAccess", "--role", "search-dev/DeveloperAccess", "--dry-run")
    assert "+[profile payments-prod.ReadOnlyAccess]" in dry.stdout
    assert m.aws_config.read_text() == before, "a dry run writes nothing"

    m.rolecall("profiles", "--role", "payments-prod/ReadOnlyAccess", "--role", "search-dev/DeveloperAccess")
    after = m.aws_config.read_text()
    assert after.startswith(before), "the rest of the file is untouched"
    assert "credential_process = " in after and "credential-process --session sim" in after
    assert (m.home / ".aws" / "config.rolecall-backup").read_text() == before
    assert not (m.home / ".aws" / "credentials").exists(), "no credentials file, ever"

    ident = json.loads(m.python(IDENTITY.format("Session(profile_name='payments-prod.ReadOnlyAccess')")).stdout)
    assert re.match(r"arn:aws:sts::\d{12}:assumed-role/AWSReservedSSO_ReadOnlyAccess_[0-9a-f]{16}/ada@example.com", ident["Arn"])

    cli = m.aws("sts", "get-caller-identity", "--profile", "search-dev.DeveloperAccess", "--output", "json")
    assert cli.returncode == 0, cli.stderr
    assert "AWSReservedSSO_DeveloperAccess_" in json.loads(cli.stdout)["Arn"]

    # Signed out: the profile fails with the CLI's own words about what to do.
    m.rolecall("logout")
    cli = m.aws("sts", "get-caller-identity", "--profile", "search-dev.DeveloperAccess")
    assert cli.returncode != 0
    assert "rolecall login" in cli.stderr


def test_container_endpoint_refreshes_and_refuses_bad_tokens(machine):
    m = machine("--role-credentials-ttl", "4s").signed_in().start_agent()
    out = m.rolecall("env", "payments-prod", "AdministratorAccess", "--endpoint", "--region", "us-east-1")
    exports = dict(re.findall(r"export (\w+)='([^']*)'", out.stdout))
    assert set(exports) == {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        # What the credentials are for (no secret), for `rolecall prompt`.
        "ROLECALL_ACCOUNT_ID",
        "ROLECALL_ACCOUNT",
        "ROLECALL_ROLE",
        "ROLECALL_HOLDS",
    }
    assert exports["ROLECALL_HOLDS"].startswith("grant:")
    assert "AWS_SECRET_ACCESS_KEY" not in out.stdout

    script = """
import boto3, json, time
session = boto3.Session()
sts = session.client('sts', region_name='us-east-1')
first = sts.get_caller_identity()['Arn']
key1 = session.get_credentials().get_frozen_credentials().access_key
time.sleep(5)  # the 4-second credentials have expired by now
second = sts.get_caller_identity()['Arn']
key2 = session.get_credentials().get_frozen_credentials().access_key
print(json.dumps([first, second, key1, key2]))
"""
    first, second, key1, key2 = json.loads(m.python(script, extra=exports).stdout)
    assert first == second and "AWSReservedSSO_AdministratorAccess_" in first
    assert key1 != key2, "botocore fetched fresh credentials from the endpoint by itself"

    cli = m.aws("sts", "get-caller-identity", "--output", "json", extra=exports)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["Arn"] == first

    wrong = dict(exports, AWS_CONTAINER_AUTHORIZATION_TOKEN="not-the-token")
    failed = m.python(IDENTITY.format("Session()"), extra=wrong, check=False)
    assert failed.returncode != 0 and "AssumedRole" not in failed.stdout

    url = exports["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    token = exports["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    rebinding = urllib.request.Request(url, headers={"Authorization": token, "Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(rebinding)
    assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="POST", headers={"Authorization": token}))
    assert refused.value.code == 405

    grants = m.rolecall("grants").stdout
    grant_id = grants.split()[0]
    assert "uses=" in grants and "AdministratorAccess" in grants
    m.rolecall("revoke", grant_id)
    revoked = m.python(IDENTITY.format("Session()"), extra=exports, check=False)
    assert revoked.returncode != 0, "a revoked grant gets nothing"

    m.stop()
    log = m.agent.stderr.read()
    assert "credential endpoint: grant" in log and "-> 200" in log and "-> 401" in log
    assert token not in log, "the grant token never reaches the log"
    assert "SecretAccessKey" not in log


def test_cli_asks_the_running_agent_so_one_sign_in_serves_both(machine):
    m = machine()
    m.rolecall("session", "add", "sim", "--start-url", m.sim.start_url, "--region", "us-east-1")
    m.start_agent()
    # Sign in through the agent (PKCE by default): the opener plays the browser and follows the
    # simulator's auto-approving /authorize to the loopback callback.
    opener = m.home / "browser.py"
    opener.write_text("import sys, urllib.request\nurllib.request.urlopen(sys.argv[1]).read()\n")
    opener.chmod(0o755)
    browser = m.home / "browser"
    browser.write_text(f"#!/bin/sh\nexec {sys.executable} {opener} \"$1\"\n")
    browser.chmod(0o755)
    out = m.rolecall("login", extra={"ROLECALL_OPENER": str(browser)})
    assert "Opening the browser" in out.stderr and "signed in to sim" in out.stderr
    stats_before = m.sim.stats()["operations"].get("GetRoleCredentials", 0)
    a = m.rolecall("credential-process", "payments-prod", "ReadOnlyAccess").stdout
    b = m.rolecall("credential-process", "payments-prod", "ReadOnlyAccess").stdout
    assert json.loads(a)["AccessKeyId"] == json.loads(b)["AccessKeyId"], "fetched once, held by the agent"
    assert m.sim.stats()["operations"].get("GetRoleCredentials", 0) == stats_before + 1
    # Without the agent, the CLI uses the engine itself with the sign-in the agent left in the
    # keychain, and fetches its own credentials.
    alone = m.rolecall("--no-agent", "credential-process", "payments-prod", "ReadOnlyAccess")
    assert json.loads(alone.stdout)["AccessKeyId"] != json.loads(a)["AccessKeyId"]
    assert m.sim.stats()["operations"].get("GetRoleCredentials", 0) == stats_before + 2
    m.rolecall("logout")
    gone = m.rolecall("--no-agent", "credential-process", "payments-prod", "ReadOnlyAccess", check=False)
    assert gone.returncode == 3 and "rolecall login" in gone.stderr


def test_console_url_opens_the_simulated_console(machine):
    m = machine().signed_in()
    url = m.rolecall("console", "payments-prod", "PowerUserAccess", "--service", "ec2", "--region", "eu-west-1", "--print").stdout.strip()
    page = urllib.request.urlopen(url).read().decode()
    assert '<dd id="role">PowerUserAccess</dd>' in page
    assert "payments-prod" in page and "ec2/home?region=eu-west-1" in page
    # The browser gets a one-time loopback URL, never the sign-in token: a "browser" that
    # follows it lands on the console page; a second visit finds it used.
    recorded = m.home / "opened.txt"
    page_file = m.home / "page.html"
    browser = m.home / "browser.py"
    browser.write_text(
        "import sys, urllib.request, pathlib\n"
        f"pathlib.Path({str(recorded)!r}).write_text(sys.argv[1])\n"
        f"pathlib.Path({str(page_file)!r}).write_text(urllib.request.urlopen(sys.argv[1]).read().decode())\n"
    )
    opener = m.home / "browser"
    opener.write_text(f"#!/bin/sh\nexec {sys.executable} {browser} \"$1\"\n")
    opener.chmod(0o755)
    out = m.rolecall("console", "payments-prod", "PowerUserAccess", extra={"ROLECALL_OPENER": str(opener)})
    assert "opened the console" in out.stderr
    handed = recorded.read_text()
    assert handed.startswith("http://127.0.0.1:") and "/open/" in handed and "SigninToken" not in handed
    assert '<dd id="role">PowerUserAccess</dd>' in page_file.read_text()


def test_errors_audit_and_session_import(machine):
    m = machine()
    none = m.rolecall("ls", check=False)
    assert none.returncode == 4 and "rolecall session add" in none.stderr
    m.aws_config.write_text(
        f"[sso-session sim]\nsso_start_url = {m.sim.start_url}\nsso_region = us-east-1\n\n"
        "[sso-session broken]\nsso_region = eu-west-1\n"
    )
    imported = m.rolecall("session", "import")
    assert "imported 1 session(s)" in imported.stderr and "skipped [sso-session broken]" in imported.stderr
    needs_login = m.rolecall("ls", check=False)
    assert needs_login.returncode == 3 and "sign in" in needs_login.stderr
    m.rolecall("login", "--device-code")
    listing = m.rolecall("ls", "--json")
    assert len(json.loads(listing.stdout)) == 34
    unknown = m.rolecall("env", "payments-prodd", "ReadOnlyAccess", check=False)
    assert unknown.returncode == 4 and "payments-prod" in unknown.stderr, "suggests the near miss"

    (m.home / ".aws" / "credentials").write_text(
        "[legacy]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    audit = m.rolecall("audit", check=False, extra={"AWS_ACCESS_KEY_ID": "AKIAI44QH8DHBEXAMPLE"})
    assert audit.returncode == 1
    assert "AKIA…MPLE" in audit.stdout and "[legacy]" in audit.stdout and "environment" in audit.stdout
    assert "wJalr" not in audit.stdout and "AKIAIOSFODNN7EXAMPLE" not in audit.stdout


def test_console_link_keeps_the_signin_token_out_of_process_arguments(machine):
    """Every local user can read every process's arguments (/proc/<pid>/cmdline). The browser
    is handed a one-time loopback URL; the sign-in token stays in Rolecall's memory."""
    m = machine().signed_in()
    page_file = m.home / "page.html"
    fetch = m.home / "fetch.py"
    fetch.write_text(
        "import sys, urllib.request, pathlib\n"
        f"pathlib.Path({str(page_file)!r}).write_text(urllib.request.urlopen(sys.argv[1]).read().decode())\n"
    )
    browser = m.home / "slow-browser"
    browser.write_text(f"#!/bin/sh\nsleep 2\nexec {sys.executable} {fetch} \"$1\"\n")
    browser.chmod(0o755)
    proc = subprocess.Popen(
        [ROLECALL, "console", "payments-prod", "ReadOnlyAccess", "--service", "s3"],
        env=dict(m.env, ROLECALL_OPENER=str(browser)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen_handoff = False
    while proc.poll() is None:
        for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
            try:
                args = cmdline.read_bytes().decode(errors="replace")
            except OSError:
                continue
            assert "SigninToken" not in args and "Action=login" not in args, f"a sign-in token in {cmdline}"
            seen_handoff = seen_handoff or "/open/" in args
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert seen_handoff, "the scan saw the opener's arguments (the one-time URL)"
    assert '<dd id="role">ReadOnlyAccess</dd>' in page_file.read_text()


HOSTILE_ORG = """
name = "hostile"
[user]
name = "Ada"
username = "ada@example.com"
[[accounts]]
id = "111111111111"
name = "R&D"
email = "a@example.com"
roles = ["Admin", "ReadOnly"]
[[accounts]]
id = "222222222222"
name = "R-D"
email = "b@example.com"
roles = ["Admin"]
[[accounts]]
id = "333333333333"
name = "R D"
email = "c@example.com"
roles = ["Admin"]
[[accounts]]
id = "444444444444"
name = "ops\\n[profile default]\\ncredential_process = sh -c 'touch /tmp/pwned'"
email = "d@example.com"
roles = ["Admin"]
"""


def test_profiles_from_hostile_names_are_exactly_the_intended_profiles(start_sim, tmp_path):
    """Account names that would open a section or a line, and names that map to one profile
    name: botocore's own config parser reads back exactly one profile per role, each running
    rolecall for that role, and every renamed profile is reported."""
    import botocore.configloader
    import shlex

    org = tmp_path / "org.toml"
    org.write_text(HOSTILE_ORG)
    env = Env(tmp_path, start_sim("--org", str(org), "--auto-approve-after", "0")).signed_in()
    env.aws_config.write_text("[default]\nregion = eu-west-1\n")
    out = env.rolecall("profiles", "--all")
    assert "is profile R-D.Admin.111111111111" in out.stderr and "R-D.Admin.333333333333" in out.stderr
    assert "wrote 5 profile(s)" in out.stderr, out.stderr
    parsed = botocore.configloader.raw_config_parse(str(env.aws_config))
    profiles = {k.removeprefix("profile ").strip(): v for k, v in parsed.items()}
    assert profiles["default"] == {"region": "eu-west-1"}, "the default profile is untouched"
    expected = {
        "R-D.Admin.111111111111": ("111111111111", "Admin"),
        "R-D.Admin.222222222222": ("222222222222", "Admin"),
        "R-D.Admin.333333333333": ("333333333333", "Admin"),
        "R-D.ReadOnly": ("111111111111", "ReadOnly"),
    }
    ops = [name for name in profiles if name.startswith("ops")]
    assert len(ops) == 1 and "\n" not in ops[0] and "[" not in ops[0], ops
    expected[ops[0]] = ("444444444444", "Admin")
    assert set(profiles) == set(expected) | {"default"}
    for name, (account, role) in expected.items():
        command = shlex.split(profiles[name]["credential_process"])
        assert command[1:] == ["credential-process", "--session", "sim", account, role], command
    assert not pathlib.Path("/tmp/pwned").exists()
