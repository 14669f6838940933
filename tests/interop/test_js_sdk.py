"""The AWS SDK for JavaScript v3 (npm `@aws-sdk/credential-providers` and `@aws-sdk/client-sts`,
installed from tests/interop/js/package-lock.json by scripts/test) with Rolecall's credentials:
its own providers `fromProcess` and `fromIni` on a profile written by `rolecall profiles`,
`fromEnv` on keys from `rolecall env`, and `fromHttp` and `fromContainerMetadata` on the local
credential endpoint, each asking the simulator's STS who it is. A revoked grant and a
signed-out session give it a clear error within seconds.
"""

import json
import pathlib
import re
import shutil
import subprocess
import time

from test_cli_interop import machine  # noqa: F401  (the fixture)

JS = pathlib.Path(__file__).resolve().parent / "js"
NODE = shutil.which("node") or "node"


def identity(m, provider, profile=None, extra=None):
    assert (JS / "node_modules" / "@aws-sdk" / "client-sts").is_dir(), "run scripts/test: it installs tests/interop/js"
    env = dict(m.env, ROLECALL_TEST_STS=m.sim.sts, **(extra or {}))
    args = [NODE, str(JS / "identity.mjs"), provider] + ([profile] if profile else [])
    started = time.monotonic()
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    return out, time.monotonic() - started


def role_of(arn):
    return re.match(r"arn:aws:sts::\d{12}:assumed-role/AWSReservedSSO_(\w+?)_[0-9a-f]{16}/", arn).group(1)


def test_profiles_and_keys_with_the_js_sdks_own_providers(machine):  # noqa: F811
    m = machine().signed_in().start_agent()
    m.rolecall("profiles", "--role", "payments-prod/ReadOnlyAccess")
    profile = "payments-prod.ReadOnlyAccess"
    for provider in ("process", "ini"):
        out, _ = identity(m, provider, profile)
        assert out.returncode == 0, f"{provider}: {out.stderr}"
        got = json.loads(out.stdout)
        assert role_of(got["arn"]) == "ReadOnlyAccess", got
        assert got["expiration"], "the SDK read the expiration"

    keys = m.rolecall("env", "payments-prod", "ReadOnlyAccess", "--format", "env-no-export").stdout
    exports = dict(line.split("=", 1) for line in keys.splitlines())
    out, _ = identity(m, "env", extra=exports)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["accessKeyId"] == exports["AWS_ACCESS_KEY_ID"]

    m.rolecall("logout")
    out, took = identity(m, "process", profile)
    assert out.returncode != 0
    assert "rolecall login" in out.stderr, out.stderr
    assert took < 20, f"a clear error, not a hang ({took:.1f} s)"


def test_the_credential_endpoint_with_the_js_sdks_http_providers(machine):  # noqa: F811
    m = machine().signed_in().start_agent()
    out = m.rolecall("env", "payments-prod", "AdministratorAccess", "--endpoint")
    exports = dict(re.findall(r"export (\w+)='([^']*)'", out.stdout))
    for provider in ("http", "container"):
        got, _ = identity(m, provider, extra=exports)
        assert got.returncode == 0, f"{provider}: {got.stderr}"
        assert role_of(json.loads(got.stdout)["arn"]) == "AdministratorAccess"

    # The token in a file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE): fromHttp reads it.
    token_file = m.home / "js-grant-token"
    in_file = m.rolecall("env", "payments-prod", "ReadOnlyAccess", "--endpoint", "--token-file", str(token_file))
    file_exports = dict(re.findall(r"export (\w+)='([^']*)'", in_file.stdout))
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN" not in file_exports
    got, _ = identity(m, "http", extra=file_exports)
    assert got.returncode == 0, got.stderr
    assert role_of(json.loads(got.stdout)["arn"]) == "ReadOnlyAccess"

    m.rolecall("revoke", exports["ROLECALL_HOLDS"].removeprefix("grant:"))
    for provider in ("http", "container"):
        got, took = identity(m, provider, extra=exports)
        assert got.returncode != 0, f"{provider}: a revoked grant gets nothing"
        assert took < 20, f"{provider}: a clear error, not a hang ({took:.1f} s)"
