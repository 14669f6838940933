"""Container registries: `rolecall ecr login` and `docker-credential-rolecall`, driven exactly
as the Docker CLI drives a credential helper (the action as the only argument, the request on
standard input, JSON on standard output), against the simulator's ECR; the AWS CLI's
`ecr get-login-password` for the same role gets a password the same registry takes.
"""

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request

from test_cli_interop import ROLECALL, VENV_BIN, machine  # noqa: F401  (machine is a fixture)


def registry_takes(m, account_id, password):
    """The simulated registry's /v2/, as `docker login` checks a password."""
    auth = base64.b64encode(f"AWS:{password}".encode()).decode()
    req = urllib.request.Request(f"{m.sim.base}/registry/{account_id}/v2/", headers={"Authorization": f"Basic {auth}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        assert e.code == 401
        return None


def helper(m, env, action, stdin):
    """What the Docker CLI does: `docker-credential-<name> <action>` with the request on stdin."""
    return subprocess.run(["docker-credential-rolecall", action], input=stdin, env=env, capture_output=True, text=True, timeout=60)


def test_docker_gets_an_ecr_password_for_the_mapped_role_and_nothing_is_kept(machine, tmp_path):
    m = machine().signed_in()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker-credential-rolecall").symlink_to(ROLECALL)
    docker = tmp_path / "docker"
    docker.mkdir()
    (docker / "config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": "eA=="}}, "credHelpers": {"gcr.io": "gcloud"}}))
    env = dict(m.env, PATH=f"{bindir}:{m.env['PATH']}", DOCKER_CONFIG=str(docker))

    out = m.rolecall("ecr", "login", "payments-prod", "AdministratorAccess", extra=env)
    assert "ready" in out.stderr and "not on PATH" not in out.stderr, out.stderr
    config = json.loads((docker / "config.json").read_text())
    (host,) = [h for h, name in config["credHelpers"].items() if name == "rolecall"]
    account_id = host.split(".")[0]
    assert host == f"{account_id}.dkr.ecr.us-east-1.amazonaws.com"
    assert config["auths"] == {"ghcr.io": {"auth": "eA=="}} and config["credHelpers"]["gcr.io"] == "gcloud"
    assert "[[registry]]" in (m.home.parent / "rolecall" / "config" / "config.toml").read_text()

    got = helper(m, env, "get", f"https://{host}\n")
    assert got.returncode == 0, got.stderr
    answer = json.loads(got.stdout)
    assert answer["ServerURL"] == f"https://{host}" and answer["Username"] == "AWS"
    who = registry_takes(m, account_id, answer["Secret"])
    assert who and "AWSReservedSSO_AdministratorAccess_" in who["arn"]
    assert registry_takes(m, "999999999999", answer["Secret"]) is None, "another account's registry refuses it"

    listed = json.loads(helper(m, env, "list", "").stdout)
    assert listed == {host: "AWS"}
    # `docker login` stores what it was given; `docker logout` erases: Rolecall keeps nothing.
    stored = helper(m, env, "store", json.dumps({"ServerURL": host, "Username": "AWS", "Secret": "typed-by-hand"}))
    assert stored.returncode == 0
    assert helper(m, env, "erase", host).returncode == 0
    everything = "".join(p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file() and p.stat().st_size < 1_000_000)
    assert "typed-by-hand" not in everything and answer["Secret"] not in everything

    unknown = helper(m, env, "get", "123456789012.dkr.ecr.eu-west-1.amazonaws.com\n")
    assert unknown.returncode != 0 and unknown.stdout.strip() == "credentials not found in native keychain"

    # The AWS CLI, with the same role's credentials, gets a password the registry takes too.
    cli = m.rolecall("exec", "payments-prod", "AdministratorAccess", "--", str(VENV_BIN / "aws"), "ecr", "get-login-password", "--region", "us-east-1", extra=env)
    theirs = registry_takes(m, account_id, cli.stdout.strip())
    assert theirs and theirs["arn"] == who["arn"]


def test_ecr_login_refuses_what_is_not_a_registry_and_leaves_docker_alone(machine, tmp_path):
    m = machine().signed_in()
    docker = tmp_path / "docker"
    docker.mkdir()
    (docker / "config.json").write_text("{ not json")
    env = dict(m.env, DOCKER_CONFIG=str(docker))
    broken = m.rolecall("ecr", "login", "payments-prod", "AdministratorAccess", check=False, extra=env)
    assert broken.returncode == 1 and "not valid JSON" in broken.stderr
    assert (docker / "config.json").read_text() == "{ not json"
    assert "[[registry]]" not in (m.home.parent / "rolecall" / "config" / "config.toml").read_text()
    wrong = m.rolecall("ecr", "login", "--registry", "evil.example", "payments-prod", "AdministratorAccess", check=False, extra=env)
    assert wrong.returncode == 2 and "not an ECR registry" in wrong.stderr
