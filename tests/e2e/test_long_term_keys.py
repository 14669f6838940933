"""The app's long-term keys banner and panel, in the real window: a profile `legacy` on an IAM
user's static key shows as "1 long-term access key on this machine"; the panel names its
account and last use; Retire (with "then make the key inactive") moves the profile onto
Rolecall, takes the key out of the credentials file and makes it inactive in the simulator's
IAM, whose STS then refuses it, while boto3 with the same profile gets the role.
"""

import hashlib
import json
import os
import stat
import subprocess
import sys

import boto3
import botocore.exceptions
from selenium.webdriver.support.select import Select


def demo_account_id(name):
    """The demo organisation's account ids (idc-sim's org.rs): stable, from the name."""
    n = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % 900_000_000_000
    return f"{n + 100_000_000_000:012d}"


def sts(sim, key):
    return boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=sim.sts,
        aws_access_key_id=key["access_key_id"],
        aws_secret_access_key=key["secret_access_key"],
    )


def test_the_banner_finds_a_long_term_key_and_retire_moves_its_profile(start_sim, desktop, tmp_path):
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    account = demo_account_id("payments-prod")
    key = json.loads(sim.control("iam-keys", account_id=account, user_name="deploy-bot"))
    assert sts(sim, key).get_caller_identity()["Arn"] == key["arn"], "the key works, and is used once"
    aws = tmp_path / "aws"
    aws.mkdir()
    credentials, config = aws / "credentials", aws / "config"
    credentials.write_text(
        "# by hand\n[legacy]\n"
        f"aws_access_key_id = {key['access_key_id']}\naws_secret_access_key = {key['secret_access_key']}\n"
    )
    config.write_text("[profile legacy]\nregion = us-east-1\n")
    app = desktop(sim, env_extra={"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_CONFIG_FILE": str(config)})

    banner = app.wait(lambda: app.css("#long-term-keys-banner"), what="the long-term keys banner")[0]
    assert banner.text.strip() == "1 long-term access key on this machine"
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    app.wait(lambda: len(app.css("#role-list [role=option]")) == 92, timeout=60, what="the 92 roles")

    app.css("#long-term-keys-banner")[0].click()
    row = app.wait(lambda: app.css('.key-row[data-profile="legacy"] .retire-button') and app.css('.key-row[data-profile="legacy"]'), what="the key's row")[0]
    assert "payments-prod" in row.find_element("css selector", ".key-account").text
    assert "by sts in us-east-1" in row.find_element("css selector", ".key-last-used").text
    assert key["access_key_id"] not in app.web.page_source and key["secret_access_key"] not in app.web.page_source
    app.screenshot("long-term-keys")

    Select(row.find_element("css selector", ".retire-role")).select_by_visible_text("AdministratorAccess")
    assert row.find_element("css selector", ".retire-deactivate").is_selected()
    row.find_element("css selector", ".retire-button").click()
    outcome = app.wait(lambda: app.css("#retire-outcome"), timeout=60, what="what Retire did")[0].text
    assert "inactive in IAM now" in outcome, outcome
    assert not app.css("#retire-still-active")
    app.wait(lambda: app.css("#no-long-term-keys"), what="no key left")

    text = credentials.read_text()
    assert "AKIA" not in text and text.startswith("# by hand"), text
    backup = credentials.with_name("credentials.rolecall-backup")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    try:
        sts(sim, key).get_caller_identity()
        raise AssertionError("the old key still works")
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidClientTokenId"

    # The same profile, through the CLI beside the app, from the keychain sign-in.
    script = f"import boto3, json; print(json.dumps(boto3.Session(profile_name='legacy').client('sts', endpoint_url={sim.sts!r}).get_caller_identity()))"
    env = dict(os.environ, ROLECALL_HOME=str(app.home), AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(credentials))
    for k in [k for k in env if k.startswith("AWS_ENDPOINT_URL")]:
        env.pop(k)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    arn = json.loads(out.stdout)["Arn"]
    assert f":{account}:" in arn and "AWSReservedSSO_AdministratorAccess_" in arn, arn

    app.css("#long-term-keys button")[0].click()
    app.wait(lambda: not app.css("#long-term-keys"), what="the panel closed")
    assert not app.css("#long-term-keys-banner"), "no banner once no key is left"
