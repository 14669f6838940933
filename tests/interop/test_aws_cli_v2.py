"""The AWS CLI version 2 (Debian's `awscli` package, installed by scripts/setup) with
Rolecall's credentials: a `credential_process` profile written by `rolecall profiles`, the
local credential endpoint through `rolecall exec --endpoint` (with a renewal), keys from
`rolecall env`, and `aws configure export-credentials`, whose output `rolecall env --format`
reproduces exactly.

The CLI 2.9 of Debian 12 predates `AWS_ENDPOINT_URL_STS`: it is pointed at the simulator's STS
with `--endpoint-url`.
"""

import json
import subprocess
import time

from test_cli_interop import ROLECALL, machine  # noqa: F401  (the fixture)

AWS2 = "/usr/bin/aws"


def aws2(m, *args, extra=None):
    env = dict(m.env, **(extra or {}))
    return subprocess.run([AWS2, *args], env=env, capture_output=True, text=True, timeout=120)


def sts(m, *args, extra=None):
    return aws2(m, "sts", "get-caller-identity", "--region", "us-east-1", "--endpoint-url", m.sim.sts, "--output", "json", *args, extra=extra)


def test_it_is_the_aws_cli_version_2():
    out = subprocess.run([AWS2, "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("aws-cli/2."), out.stdout + out.stderr


def test_a_credential_process_profile_and_export_credentials_in_every_format(machine):  # noqa: F811
    m = machine().signed_in().start_agent()
    m.rolecall("profiles", "--role", "payments-prod/ReadOnlyAccess")
    profile = "payments-prod.ReadOnlyAccess"
    ident = sts(m, "--profile", profile)
    assert ident.returncode == 0, ident.stderr
    assert "AWSReservedSSO_ReadOnlyAccess_" in json.loads(ident.stdout)["Arn"]

    # Both are served from the credentials the agent holds: the AWS CLI's export of the profile
    # and Rolecall's own print the same text, format by format.
    for fmt in ("process", "env", "env-no-export", "powershell", "windows-cmd"):
        theirs = aws2(m, "configure", "export-credentials", "--profile", profile, "--format", fmt)
        assert theirs.returncode == 0, theirs.stderr
        ours = m.rolecall("env", "payments-prod", "ReadOnlyAccess", "--format", fmt)
        assert ours.stdout == theirs.stdout, f"--format {fmt}:\nrolecall:\n{ours.stdout}\naws:\n{theirs.stdout}"
    process = json.loads(m.rolecall("env", "payments-prod", "ReadOnlyAccess", "--format", "process").stdout)
    assert list(process) == ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]

    # Keys from `rolecall env`, as a shell gets them.
    keys = m.rolecall("env", "payments-prod", "ReadOnlyAccess", "--format", "env").stdout
    exports = dict(line.removeprefix("export ").split("=", 1) for line in keys.splitlines())
    ident = sts(m, extra=exports)
    assert ident.returncode == 0, ident.stderr
    assert json.loads(ident.stdout)["Arn"].split("/")[1].startswith("AWSReservedSSO_ReadOnlyAccess_")

    # Signed out: the profile fails at once, saying what to do.
    m.rolecall("logout")
    started = time.monotonic()
    failed = sts(m, "--profile", profile)
    assert failed.returncode != 0
    assert "rolecall login" in failed.stderr, failed.stderr
    assert time.monotonic() - started < 20, "a clear error, not a hang"


def test_the_container_endpoint_renews_for_the_aws_cli(machine):  # noqa: F811
    m = machine("--role-credentials-ttl", "4s").signed_in().start_agent()
    script = (
        f"{AWS2} configure export-credentials --format process > first.json && "
        f"{AWS2} sts get-caller-identity --region us-east-1 --endpoint-url {m.sim.sts} --output json > who.json && "
        "sleep 5 && "
        f"{AWS2} configure export-credentials --format process > second.json && "
        f"{AWS2} sts get-caller-identity --region us-east-1 --endpoint-url {m.sim.sts} --output json > again.json"
    )
    workdir = m.home / "work"
    workdir.mkdir()
    out = subprocess.run(
        ["/bin/sh", "-c", f"cd {workdir} && exec \"$0\" exec --endpoint payments-prod AdministratorAccess -- sh -c '{script}'", ROLECALL],
        env=m.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    first, second = (json.loads((workdir / f).read_text()) for f in ("first.json", "second.json"))
    assert first["AccessKeyId"] != second["AccessKeyId"], "the endpoint handed out renewed credentials"
    for f in ("who.json", "again.json"):
        assert "AWSReservedSSO_AdministratorAccess_" in json.loads((workdir / f).read_text())["Arn"]

    # A revoked grant: the AWS CLI is told so within seconds.
    grant = m.rolecall("env", "payments-prod", "AdministratorAccess", "--endpoint").stdout
    exports = dict(line.removeprefix("export ").split("=", 1) for line in grant.splitlines() if line.startswith("export "))
    exports = {k: v.strip("'") for k, v in exports.items()}
    m.rolecall("revoke", exports["ROLECALL_HOLDS"].removeprefix("grant:"))
    started = time.monotonic()
    refused = sts(m, extra=exports)
    assert refused.returncode != 0
    assert time.monotonic() - started < 20, "a clear error, not a hang"
