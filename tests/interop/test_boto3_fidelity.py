"""Fidelity: boto3/botocore, unmodified from PyPI, against the simulator.

Covers the device flow with its paginators, GetRoleCredentials, STS signed with the issued
credentials, botocore's own SSO credential provider on an sso-session profile (with its
refresh-token grant), PKCE, throttling with botocore's retries, and the error codes.
"""

import datetime
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
from base64 import urlsafe_b64encode
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.config
import botocore.exceptions
import pytest

REGION = "us-east-1"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def oidc(sim):
    return boto3.client("sso-oidc", region_name=REGION, endpoint_url=sim.oidc)


def portal(sim, **config):
    cfg = botocore.config.Config(**config) if config else None
    return boto3.client("sso", region_name=REGION, endpoint_url=sim.portal, config=cfg)


def sts(sim, creds):
    return boto3.client(
        "sts",
        region_name=REGION,
        endpoint_url=sim.sts,
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
    )


def device_sign_in(sim, scopes=("sso:account:access",)):
    client = oidc(sim)
    reg = client.register_client(clientName="boto3-test", clientType="public", scopes=list(scopes))
    start = client.start_device_authorization(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=sim.start_url
    )
    sim.click(start["userCode"])
    token = client.create_token(
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        grantType=DEVICE_GRANT,
        deviceCode=start["deviceCode"],
    )
    return reg, token


def test_device_flow_paginators_credentials_and_sts(start_sim):
    sim = start_sim("--org", "57x4")
    client = oidc(sim)
    reg = client.register_client(clientName="boto3", clientType="public", scopes=["sso:account:access"])
    start = client.start_device_authorization(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=sim.start_url
    )
    assert start["interval"] == 1 and start["expiresIn"] == 600
    assert start["verificationUri"].startswith(sim.oidc)

    def poll():
        return client.create_token(
            clientId=reg["clientId"],
            clientSecret=reg["clientSecret"],
            grantType=DEVICE_GRANT,
            deviceCode=start["deviceCode"],
        )

    with pytest.raises(client.exceptions.AuthorizationPendingException):
        poll()
    time.sleep(1.05)
    with pytest.raises(client.exceptions.AuthorizationPendingException):
        poll()
    with pytest.raises(client.exceptions.SlowDownException):
        poll()
    sim.click(start["userCode"])
    time.sleep(6.1)
    token = poll()
    assert token["tokenType"] == "Bearer" and "refreshToken" in token

    sso = portal(sim)
    pages = sso.get_paginator("list_accounts").paginate(
        accessToken=token["accessToken"], PaginationConfig={"PageSize": 10}
    )
    accounts = [a for page in pages for a in page["accountList"]]
    assert len(accounts) == 57
    assert len({a["accountId"] for a in accounts}) == 57
    roles = [
        r
        for page in sso.get_paginator("list_account_roles").paginate(
            accessToken=token["accessToken"], accountId=accounts[-1]["accountId"], PaginationConfig={"PageSize": 3}
        )
        for r in page["roleList"]
    ]
    assert [r["roleName"] for r in roles] == ["Role00", "Role01", "Role02", "Role03"]

    creds = sso.get_role_credentials(
        accessToken=token["accessToken"], accountId=accounts[-1]["accountId"], roleName="Role03"
    )["roleCredentials"]
    assert creds["accessKeyId"].startswith("ASIA")
    assert abs(creds["expiration"] / 1000 - (time.time() + 3600)) < 10  # epoch milliseconds

    ident = sts(sim, creds).get_caller_identity()
    assert ident["Account"] == accounts[-1]["accountId"]
    assert "assumed-role/AWSReservedSSO_Role03_" in ident["Arn"]

    sso.logout(accessToken=token["accessToken"])
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.list_accounts(accessToken=token["accessToken"])


def test_denied_and_expired_device_codes(start_sim):
    sim = start_sim("--org", "demo", "--device-code-ttl", "2s")
    client = oidc(sim)
    reg = client.register_client(clientName="boto3", clientType="public", scopes=["sso:account:access"])
    kw = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"])
    denied = client.start_device_authorization(startUrl=sim.start_url, **kw)
    sim.click(denied["userCode"], decision="deny")
    with pytest.raises(client.exceptions.AccessDeniedException):
        client.create_token(grantType=DEVICE_GRANT, deviceCode=denied["deviceCode"], **kw)
    expiring = client.start_device_authorization(startUrl=sim.start_url, **kw)
    time.sleep(2.2)
    with pytest.raises(client.exceptions.ExpiredTokenException):
        client.create_token(grantType=DEVICE_GRANT, deviceCode=expiring["deviceCode"], **kw)
    with pytest.raises(client.exceptions.InvalidClientException):
        client.start_device_authorization(
            startUrl=sim.start_url, clientId=reg["clientId"], clientSecret=reg["clientSecret"] + "x"
        )
    with pytest.raises(client.exceptions.InvalidRequestException):
        client.start_device_authorization(startUrl="https://d-0000000000.awsapps.com/start", **kw)


def test_deny_next_approval_knob(start_sim):
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    sim.control("deny-next")
    client = oidc(sim)
    reg = client.register_client(clientName="boto3", clientType="public")
    kw = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"])
    first = client.start_device_authorization(startUrl=sim.start_url, **kw)
    with pytest.raises(client.exceptions.AccessDeniedException):
        client.create_token(grantType=DEVICE_GRANT, deviceCode=first["deviceCode"], **kw)
    second = client.start_device_authorization(startUrl=sim.start_url, **kw)
    token = client.create_token(grantType=DEVICE_GRANT, deviceCode=second["deviceCode"], **kw)
    assert "refreshToken" not in token  # no scopes at registration: a legacy token
    assert token["expiresIn"] == 8 * 3600


def test_botocore_sso_session_profile_refreshes_its_token(start_sim, tmp_path):
    sim = start_sim("--org", "demo")
    reg, token = device_sign_in(sim)
    account = portal(sim).list_accounts(accessToken=token["accessToken"])["accountList"][0]
    role = portal(sim).list_account_roles(accessToken=token["accessToken"], accountId=account["accountId"])[
        "roleList"
    ][0]["roleName"]

    home = tmp_path / "home"
    (home / ".aws" / "sso" / "cache").mkdir(parents=True)
    (home / ".aws" / "config").write_text(
        f"""[sso-session corp]
sso_start_url = {sim.start_url}
sso_region = {REGION}
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = {account['accountId']}
sso_role_name = {role}
region = {REGION}
"""
    )
    # The token as the AWS CLI caches it, five minutes from expiry: inside botocore's
    # 15-minute refresh window, so its provider must use the refresh-token grant first.
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    now = datetime.datetime.now(datetime.timezone.utc)
    cache = home / ".aws" / "sso" / "cache" / (hashlib.sha1(b"corp").hexdigest() + ".json")
    cache.write_text(
        json.dumps(
            {
                "startUrl": sim.start_url,
                "region": REGION,
                "accessToken": token["accessToken"],
                "expiresAt": (now + datetime.timedelta(minutes=5)).strftime(fmt),
                "clientId": reg["clientId"],
                "clientSecret": reg["clientSecret"],
                "registrationExpiresAt": datetime.datetime.fromtimestamp(
                    reg["clientSecretExpiresAt"], datetime.timezone.utc
                ).strftime(fmt),
                "refreshToken": token["refreshToken"],
            }
        )
    )
    # botocore fixes its cache folder from HOME when imported: use a fresh process, as a
    # person's shell would.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(home),
        AWS_CONFIG_FILE=str(home / ".aws" / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
        **{k: sim.env[k] for k in ("AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_STS")},
    )
    script = "import boto3, json; print(json.dumps(boto3.Session(profile_name='dev').client('sts').get_caller_identity()))"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    ident = json.loads(out.stdout)
    assert ident["Account"] == account["accountId"]
    assert f"AWSReservedSSO_{role}_" in ident["Arn"]
    assert sim.stats()["refreshes"] == 1
    refreshed = json.loads(cache.read_text())
    assert refreshed["accessToken"] != token["accessToken"]
    assert refreshed["refreshToken"] == token["refreshToken"]


def test_pkce_authorization_code(start_sim, http_no_redirect):
    sim = start_sim("--org", "demo")
    client = oidc(sim)
    reg = client.register_client(
        clientName="boto3-pkce",
        clientType="public",
        scopes=["sso:account:access"],
        grantTypes=["authorization_code", "refresh_token"],
        redirectUris=["http://127.0.0.1/oauth/callback"],
        issuerUrl=sim.start_url,
    )
    verifier = urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://127.0.0.1:61234/oauth/callback"
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": reg["clientId"],
            "redirect_uri": redirect,
            "state": "xyz",
            "code_challenge_method": "S256",
            "scopes": "sso:account:access",
            "code_challenge": challenge,
        }
    )
    page = http_no_redirect.open(f"{sim.oidc}/authorize?{query}").read().decode()
    request_id = page.split('name="request_id" value="')[1].split('"')[0]
    form = urllib.parse.urlencode({"request_id": request_id, "decision": "approve"}).encode()
    with pytest.raises(urllib.error.HTTPError) as redirected:
        http_no_redirect.open(f"{sim.oidc}/authorize", data=form)
    assert redirected.value.code == 302
    location = urllib.parse.urlparse(redirected.value.headers["Location"])
    params = dict(urllib.parse.parse_qsl(location.query))
    assert location.port == 61234 and params["state"] == "xyz"
    token = client.create_token(
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        grantType="authorization_code",
        code=params["code"],
        redirectUri=redirect,
        codeVerifier=verifier,
    )
    assert token["accessToken"] and token["refreshToken"]


def test_throttling_is_survived_by_botocore_retries(start_sim):
    sim = start_sim("--org", "30x2", "--portal-rps", "10", "--portal-burst", "2")
    _, token = device_sign_in(sim)
    sso = portal(sim, retries={"mode": "standard", "max_attempts": 10})
    accounts = [
        a
        for page in sso.get_paginator("list_accounts").paginate(accessToken=token["accessToken"])
        for a in page["accountList"]
    ]

    def roles(account):
        return sso.list_account_roles(accessToken=token["accessToken"], accountId=account["accountId"])["roleList"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(roles, accounts))
    assert sum(len(r) for r in found) == 60
    assert sim.stats()["throttled"] > 0, "eight threads against 10/s must have been throttled"


def test_sts_refuses_bad_and_expired_credentials(start_sim):
    sim = start_sim("--org", "3x1", "--role-credentials-ttl", "2s")
    _, token = device_sign_in(sim)
    creds = portal(sim).get_role_credentials(
        accessToken=token["accessToken"], accountId="100000000000", roleName="Role00"
    )["roleCredentials"]
    bad = dict(creds, secretAccessKey="wrong")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sts(sim, bad).get_caller_identity()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    chained = sts(sim, creds).assume_role(
        RoleArn="arn:aws:iam::100000000002:role/OrganizationAccountAccessRole", RoleSessionName="boto3"
    )["Credentials"]
    ident = boto3.client(
        "sts",
        region_name=REGION,
        endpoint_url=sim.sts,
        aws_access_key_id=chained["AccessKeyId"],
        aws_secret_access_key=chained["SecretAccessKey"],
        aws_session_token=chained["SessionToken"],
    ).get_caller_identity()
    assert ident["Arn"] == "arn:aws:sts::100000000002:assumed-role/OrganizationAccountAccessRole/boto3"
    time.sleep(2.1)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sts(sim, creds).get_caller_identity()
    assert err.value.response["Error"]["Code"] == "ExpiredToken"


def test_revoke_all_knob_ends_sessions(start_sim):
    sim = start_sim("--org", "demo")
    _, token = device_sign_in(sim)
    sso = portal(sim)
    sso.list_accounts(accessToken=token["accessToken"])
    sim.control("revoke-all")
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.list_accounts(accessToken=token["accessToken"])
