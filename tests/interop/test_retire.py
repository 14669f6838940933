"""Leaving a long-term access key behind, judged by the AWS CLI version 2: a profile `legacy`
with an IAM user's static key works; `rolecall retire legacy --role ... --yes --deactivate`
gives the same profile temporary credentials from IAM Identity Center, takes the key out of
~/.aws/credentials (keeping every other line and a 0600 backup), and makes it inactive in the
simulator's IAM, whose STS then refuses it.
"""

import json
import os
import stat

from test_aws_cli_v2 import sts
from test_cli_interop import machine  # noqa: F401  (the fixture)


def legacy_machine(machine):  # noqa: F811
    m = machine().signed_in()
    account = json.loads(m.rolecall("whoami", "payments-prod", "ReadOnlyAccess").stdout)["account"]
    key = json.loads(m.sim.control("iam-keys", account_id=account, user_name="deploy-bot"))
    credentials = m.home / ".aws" / "credentials"
    credentials.parent.mkdir(exist_ok=True)
    credentials.write_text(
        "# written by hand in 2019\n"
        "[temp]\n"
        "aws_access_key_id = ASIAEXAMPLETEMPORARY\n"
        "aws_secret_access_key = not-a-real-secret\n"
        "aws_session_token = not-a-real-token\n"
        "\n"
        "[legacy]\n"
        f"aws_access_key_id = {key['access_key_id']}\n"
        f"aws_secret_access_key = {key['secret_access_key']}\n"
    )
    os.chmod(credentials, 0o644)
    m.aws_config.parent.mkdir(exist_ok=True)
    m.aws_config.write_text("[default]\nregion = us-east-1\n\n[profile legacy]\nregion = us-east-1\noutput = json\n")
    return m, account, key, credentials


def test_a_static_key_profile_is_retired_and_the_key_made_inactive(machine):  # noqa: F811
    m, account, key, credentials = legacy_machine(machine)
    before = sts(m, "--profile", "legacy")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["Arn"] == key["arn"]

    # The audit finds it, names its account, and never prints the key or its secret.
    audit = m.rolecall("audit", "--json", check=False)
    assert audit.returncode == 1, audit.stderr
    assert key["access_key_id"] not in audit.stdout and key["secret_access_key"] not in audit.stdout
    found = [f for f in json.loads(audit.stdout)["findings"] if f["place"] == "legacy"]
    assert len(found) == 1, audit.stdout
    assert found[0]["account_id"] == account and found[0]["account_name"] == "payments-prod", found
    assert found[0]["key_id"] == key["access_key_id"][:4] + "…" + key["access_key_id"][-4:]

    # A dry run writes nothing.
    original = credentials.read_text()
    dry = m.rolecall("retire", "legacy", "--role", "AdministratorAccess", "--dry-run")
    assert "credential_process" in dry.stdout and key["secret_access_key"] not in dry.stdout
    assert credentials.read_text() == original

    done = m.rolecall("retire", "legacy", "--role", "AdministratorAccess", "--yes", "--deactivate")
    assert "inactive in IAM now" in done.stderr, done.stderr
    assert key["secret_access_key"] not in done.stderr + done.stdout

    after = sts(m, "--profile", "legacy")
    assert after.returncode == 0, after.stderr
    assert "AWSReservedSSO_AdministratorAccess_" in json.loads(after.stdout)["Arn"]
    text = credentials.read_text()
    assert "AKIA" not in text, text
    assert "# written by hand in 2019\n[temp]\naws_access_key_id = ASIAEXAMPLETEMPORARY\n" in text
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o644, "the file's own mode is kept"
    backup = credentials.with_name("credentials.rolecall-backup")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup.read_text() == original
    config = m.aws_config.read_text()
    assert config.count("[profile legacy]") == 1 and "output = json" in config, config

    # The old key: STS refuses it now.
    old = sts(m, extra={"AWS_ACCESS_KEY_ID": key["access_key_id"], "AWS_SECRET_ACCESS_KEY": key["secret_access_key"]})
    assert old.returncode != 0
    assert "InvalidClientTokenId" in old.stderr, old.stderr

    # boto3's IAM client, with the administrator role's keys, sees the key inactive, not gone.
    keys = m.rolecall("env", "payments-prod", "AdministratorAccess", "--format", "env").stdout
    exports = dict(line.removeprefix("export ").split("=", 1) for line in keys.splitlines())
    listed = m.python(
        "import boto3, json, os; iam = boto3.client('iam', region_name='us-east-1', endpoint_url=os.environ['AWS_ENDPOINT_URL_IAM']); "
        "print(json.dumps(iam.list_access_keys(UserName='deploy-bot')['AccessKeyMetadata'], default=str))",
        extra=exports,
    )
    assert [(k["AccessKeyId"], k["Status"]) for k in json.loads(listed.stdout)] == [(key["access_key_id"], "Inactive")]

    # `rolecall profiles` rewrites its block and keeps the retired profile.
    m.rolecall("profiles", "--role", "payments-prod/ReadOnlyAccess")
    assert sts(m, "--profile", "legacy").returncode == 0
    assert m.rolecall("audit", check=False).returncode == 0
    # Every STS and IAM request the SDKs made was what AWS's models allow.
    stats = m.sim.stats()
    assert stats["model_rejections"] == [] and stats["model_violations"] == [], stats
    assert stats["operations"].get("UpdateAccessKey") == 1 and stats["operations"].get("GetAccessKeyInfo", 0) >= 2, stats


def test_a_role_not_allowed_to_deactivate_leaves_the_exact_steps(machine):  # noqa: F811
    m, _, key, credentials = legacy_machine(machine)
    out = m.rolecall("retire", "legacy", "--role", "ReadOnlyAccess", "--yes", "--deactivate", check=False)
    assert out.returncode == 1, out.stderr
    assert f"aws iam update-access-key --access-key-id {key['access_key_id']} --status Inactive" in out.stderr, out.stderr
    assert "/iam/home#/users" in out.stderr
    # The profile moved anyway, and the key still works until someone allowed makes it inactive.
    assert "AKIA" not in credentials.read_text()
    assert "AWSReservedSSO_ReadOnlyAccess_" in json.loads(sts(m, "--profile", "legacy").stdout)["Arn"]
    still = sts(m, extra={"AWS_ACCESS_KEY_ID": key["access_key_id"], "AWS_SECRET_ACCESS_KEY": key["secret_access_key"]})
    assert still.returncode == 0, still.stderr


def test_bad_input_is_refused_and_nothing_is_written(machine):  # noqa: F811
    m, _, _, credentials = legacy_machine(machine)
    original = credentials.read_text()
    config = m.aws_config.read_text()
    for args, says in [
        (("retire", "nobody", "--yes"), "no long-term access key"),
        (("retire", "temp", "--yes"), "not a long-term key"),
        (("retire", "legacy", "--role", "NoSuchRole", "--yes"), "NoSuchRole"),
        (("retire", "legacy"), "--role"),
    ]:
        out = m.rolecall(*args, check=False)
        assert out.returncode != 0, args
        assert says in out.stderr, (args, out.stderr)
    assert credentials.read_text() == original
    assert m.aws_config.read_text() == config
    assert not credentials.with_name("credentials.rolecall-backup").exists()

    # A credentials file the AWS tools could not read either: said, and left as it is.
    broken = original + "[unfinished\n"
    credentials.write_text(broken)
    out = m.rolecall("retire", "legacy", "--role", "ReadOnlyAccess", "--yes", check=False)
    assert out.returncode != 0 and "does not parse" in out.stderr, out.stderr
    assert credentials.read_text() == broken and m.aws_config.read_text() == config
