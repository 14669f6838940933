"""FIPS and dual-stack endpoints judged by botocore's own endpoint resolver: for each partition's
region and each choice of `AWS_USE_FIPS_ENDPOINT` and `AWS_USE_DUALSTACK_ENDPOINT`, the SSO
OIDC, portal and STS endpoints `rolecall session show` names are the ones boto3 resolves."""

import itertools
import os
import pathlib
import subprocess

import boto3
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLECALL = os.environ.get("ROLECALL_BIN", str(ROOT / "target" / "debug" / "rolecall"))

REGIONS = ["us-east-1", "eu-west-1", "us-gov-west-1", "cn-north-1"]


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("ROLECALL_")}
    clean.update(HOME=str(tmp_path), ROLECALL_HOME=str(tmp_path / "rolecall"), AWS_CONFIG_FILE=str(tmp_path / "none"))
    for region in REGIONS:
        subprocess.run(
            [ROLECALL, "session", "add", region, "--start-url", "https://d-1234567890.awsapps.com/start", "--region", region],
            env=clean, check=True, capture_output=True, timeout=60,
        )
    return clean


def shown(env, region):
    out = subprocess.run([ROLECALL, "session", "show", region], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = dict((line[:19].strip(), line[19:].strip()) for line in out.stdout.splitlines())
    return lines["OIDC endpoint"], lines["portal endpoint"], lines["STS endpoint"]


@pytest.mark.parametrize("fips,dual", list(itertools.product([False, True], repeat=2)))
def test_session_show_names_the_endpoints_botocore_resolves(env, fips, dual, monkeypatch):
    choice = {"AWS_USE_FIPS_ENDPOINT": str(fips).lower(), "AWS_USE_DUALSTACK_ENDPOINT": str(dual).lower()}
    for k, v in choice.items():
        monkeypatch.setenv(k, v)
    for k in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(k)
    for region in REGIONS:
        ours = shown(dict(env, **choice), region)
        theirs = tuple(
            boto3.client(service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x").meta.endpoint_url
            for service in ("sso-oidc", "sso", "sts")
        )
        assert ours == theirs, f"{region} fips={fips} dual={dual}: rolecall {ours}, botocore {theirs}"
