"""The idc-sim binary as a test helper: starts it on a free port and parses the `export NAME=value`
lines it prints, exactly as a shell would see them.
"""

import collections
import json
import os
import pathlib
import re
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SIM_BIN = os.environ.get("IDC_SIM_BIN", str(ROOT / "target" / "debug" / "idc-sim"))


def botocore_models():
    """botocore's data folder: every simulator these tests start checks each request and answer
    against AWS's service models in it."""
    import botocore

    data = pathlib.Path(botocore.__file__).parent / "data"
    assert (data / "sso-oidc").is_dir(), f"no botocore models in {data}"
    return str(data)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Sim:
    """A running simulator process."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [SIM_BIN, "--addr", "127.0.0.1:0", "--models", botocore_models(), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The simulator logs every request on stderr: read it as it comes, or a long run (a
        # 2,000-account sweep) fills the pipe and the simulator stops answering. The last
        # lines are kept for error messages.
        self.log = collections.deque(maxlen=2000)
        threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True).start()
        self.env = {}
        for line in self.proc.stdout:
            m = re.match(r"export (\w+)=(\S+)$", line.strip())
            if m:
                self.env[m.group(1)] = m.group(2)
            if "ROLECALL_START_URL" in self.env:
                break
        if "ROLECALL_START_URL" not in self.env:
            self.proc.wait(timeout=10)
            time.sleep(0.2)
            raise RuntimeError("idc-sim did not print its endpoints: " + "".join(self.log))
        self.start_url = self.env["ROLECALL_START_URL"]
        self.base = self.start_url.rsplit("/start", 1)[0]
        self.oidc = self.env["AWS_ENDPOINT_URL_SSO_OIDC"]
        self.portal = self.env["AWS_ENDPOINT_URL_SSO"]
        self.sts = self.env["AWS_ENDPOINT_URL_STS"]
        self.federation = self.env["ROLECALL_FEDERATION_URL"]

    def control(self, action, **params):
        url = f"{self.base}/_sim/{action}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b"")) as r:
            return r.read().decode()

    def issued_secrets(self):
        """Every secret the simulator handed out (it must be started with --expose-issued-secrets)."""
        with urllib.request.urlopen(f"{self.base}/_sim/issued-secrets") as r:
            return json.loads(r.read())

    def stats(self):
        with urllib.request.urlopen(f"{self.base}/_sim/stats") as r:
            return json.load(r)

    def click(self, user_code, decision="approve"):
        """Does what the person does: opens the verification page, types the code, clicks."""
        page_url = self.oidc + "/device?" + urllib.parse.urlencode({"user_code": user_code})
        with urllib.request.urlopen(page_url) as r:
            page = r.read().decode()
        assert f'id="user-code">{user_code}<' in page, page
        form = urllib.parse.urlencode({"user_code": user_code, "decision": decision}).encode()
        with urllib.request.urlopen(urllib.request.Request(self.oidc + "/device", data=form)) as r:
            result = r.read().decode()
        assert f'data-result="{"approved" if decision == "approve" else "denied"}"' in result, result
        return result

    def session_toml(self, name="sim", duration=None):
        """A Rolecall config.toml session pointing every endpoint at this simulator; `duration`:
        its session_duration_seconds."""
        lasts = f"session_duration_seconds = {duration}\n" if duration else ""
        return f"""
[[session]]
name = "{name}"
start_url = "{self.start_url}"
region = "us-east-1"
{lasts}[session.endpoints]
oidc = "{self.oidc}"
portal = "{self.portal}"
sts = "{self.sts}"
federation = "{self.federation}"
iam = "{self.env['AWS_ENDPOINT_URL_IAM']}"
"""

    def stop(self):
        """Stops the simulator; fails the test if any answer of its broke AWS's models."""
        violations = []
        if self.proc.poll() is None:
            try:
                violations = self.stats().get("model_violations", [])
            except Exception:
                pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        assert not violations, f"the simulator answered against AWS's models: {violations}"




@pytest.fixture
def start_sim():
    """Starts simulators for a test (`start_sim("--org", "demo", ...)`) and stops them after it."""
    started = []

    def start(*args):
        sim = Sim(*args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
