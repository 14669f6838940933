"""The console in a real browser: the URLs `rolecall console` hands out, opened by Debian's
Chromium (headless) against the simulator, whose console keeps the service's rules in cookies
(one identity at a time; with multi-session, five side by side and an error page for a sixth).

- multi-session: two accounts are both signed in in one browser; Rolecall refuses a sixth
  identity, and with --force the console's own error page says no;
- switch: the browser is signed out first, so only the new identity is left;
- a rolecall:// link opens the right role at the right page (after --yes; without a terminal
  to ask on, it is refused);
- profiles and containers: the exact command lines handed to the browser (a Chromium profile
  per account; a Firefox container URL whose one-time link leads to the right console).

The "browser" on PATH is a small wrapper that records its arguments and runs the real
Chromium with them, headless, in one user-data folder (one browser, its cookies kept).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
import urllib.parse

import pytest

from test_cli_interop import Env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HEADLESS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--dump-dom",
]

WRAPPER = r'''
import json, os, pathlib, subprocess, sys
base = pathlib.Path(os.environ["TEST_BROWSER_DIR"])
args = sys.argv[1:]
with open(base / "launches.jsonl", "a") as log:
    log.write(json.dumps({"program": os.environ["TEST_PROGRAM"], "args": args}) + "\n")
url = args[-1]
if url.startswith("ext+container:"):
    # The container extension's part: open the link's url (in this test, in one browser).
    import urllib.parse
    url = urllib.parse.parse_qs(url[len("ext+container:"):])["url"][0]
flags = [a for a in args[:-1] if a.startswith("--profile-directory=")]
out = subprocess.run([os.environ["TEST_CHROMIUM"], *json.loads(os.environ["TEST_HEADLESS"]),
                      "--user-data-dir=" + str(base / "profile"), *flags, url],
                     capture_output=True, text=True, timeout=60)
n = len(list((base / "pages").iterdir()))
(base / "pages" / f"{n:03}.html").write_text(out.stdout)
'''


class Browser:
    """A real headless Chromium, as `chromium` and `firefox` on the PATH Rolecall sees."""

    def __init__(self, tmp_path):
        self.dir = tmp_path / "browser"
        (self.dir / "pages").mkdir(parents=True)
        (self.dir / "profile").mkdir()
        self.bin = tmp_path / "browser-bin"
        self.bin.mkdir()
        (self.dir / "wrapper.py").write_text(WRAPPER)
        for name in ("chromium", "firefox"):
            program = self.bin / name
            program.write_text(f"#!/bin/sh\nTEST_PROGRAM={name} exec {sys.executable} {self.dir / 'wrapper.py'} \"$@\"\n")
            program.chmod(0o755)
        self.env = {
            "TEST_BROWSER_DIR": str(self.dir),
            "TEST_CHROMIUM": CHROMIUM,
            "TEST_HEADLESS": json.dumps(HEADLESS),
        }

    def pages(self):
        return sorted((self.dir / "pages").iterdir())

    def wait_page(self, count):
        """The `count`-th page the browser finished, once it has."""
        deadline = time.time() + 90
        while time.time() < deadline:
            pages = self.pages()
            if len(pages) >= count:
                return pages[count - 1].read_text()
            time.sleep(0.2)
        raise AssertionError(f"the browser finished {len(self.pages())} pages, not {count}")

    def visit(self, url):
        """Opens `url` in the same browser (a person typing it) and returns the page."""
        before = len(self.pages())
        subprocess.run([str(self.bin / "chromium"), url], env=dict(os.environ, **self.env), check=True, timeout=90)
        return self.wait_page(before + 1)

    def launches(self):
        log = self.dir / "launches.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def rig(start_sim, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed: scripts/setup installs Debian's chromium")
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    env = Env(tmp_path, sim)
    browser = Browser(tmp_path)
    env.env.update(browser.env)
    env.env["PATH"] = f"{browser.bin}:{env.env['PATH']}"
    env.signed_in()
    env.start_agent()
    yield env, browser, sim
    env.stop()


def console_base(sim):
    return sim.env["ROLECALL_FEDERATION_URL"].rsplit("/federation", 1)[0]


def identities(browser, sim):
    page = browser.visit(console_base(sim) + "/console")
    return [(a, r) for a, r in (line.split("|") for line in _items(page))]


def _items(page):
    import re

    return [f"{a}|{r}" for a, r in re.findall(r'class="identity" data-account-id="(\d+)" data-role="([^"]+)"', page)]


def open_console(env, browser, *args, check=True):
    before = len(browser.pages())
    out = env.rolecall("console", *args, check=check)
    if check:
        page = browser.wait_page(before + 1)
        return out, page
    return out, None


def write_config(env, text):
    config = pathlib.Path(env.env["ROLECALL_HOME"]) / "config" / "config.toml"
    config.write_text(config.read_text() + "\n" + text)


def test_multi_session_signs_in_two_accounts_side_by_side_and_stops_at_five(rig):
    env, browser, sim = rig
    write_config(env, '[console]\nmode = "multi-session"\nbrowser = "chromium"\n')
    assert "on" in browser.visit(console_base(sim) + "/console/multi-session?enable=true")

    out, page = open_console(env, browser, "payments-prod", "ReadOnlyAccess")
    assert '<dd id="role">ReadOnlyAccess</dd>' in page and "payments-prod" in page
    assert "(multi-session)" in out.stderr and "1 of 5" in out.stderr
    out, page = open_console(env, browser, "checkout-dev", "DeveloperAccess")
    assert '<dd id="role">DeveloperAccess</dd>' in page
    assert "2 of 5" in out.stderr
    signed_in = identities(browser, sim)
    assert [r for _, r in signed_in] == ["ReadOnlyAccess", "DeveloperAccess"], signed_in
    assert not any(l["args"][-1].startswith("http") and "logout" in l["args"][-1] for l in browser.launches())

    for account, role in [("search-dev", "DeveloperAccess"), ("identity-dev", "DeveloperAccess"), ("mobile-api-dev", "DeveloperAccess")]:
        open_console(env, browser, account, role)
    assert len(identities(browser, sim)) == 5
    sixth = env.rolecall("console", "web-frontend-dev", "DeveloperAccess", check=False)
    assert sixth.returncode == 2 and "5 console identities" in sixth.stderr, sixth.stderr
    assert "--force" in sixth.stderr
    # Forced, the console itself refuses it, as the service does.
    _, page = open_console(env, browser, "web-frontend-dev", "DeveloperAccess", "--force")
    assert 'id="too-many-sessions"' in page
    assert len(identities(browser, sim)) == 5


def test_switch_signs_the_browser_out_first_so_only_the_new_identity_is_left(rig):
    env, browser, sim = rig
    write_config(env, '[console]\nbrowser = "chromium"\n')
    browser.visit(console_base(sim) + "/console/multi-session?enable=true")
    open_console(env, browser, "payments-prod", "ReadOnlyAccess", "--mode", "multi-session")
    open_console(env, browser, "checkout-dev", "DeveloperAccess", "--mode", "multi-session")
    assert len(identities(browser, sim)) == 2
    out, page = open_console(env, browser, "search-prod", "PowerUserAccess")
    assert "(switch)" in out.stderr
    assert '<dd id="role">PowerUserAccess</dd>' in page
    assert [r for _, r in identities(browser, sim)] == ["PowerUserAccess"]


def test_a_rolecall_link_opens_that_role_at_that_page_after_asking(rig):
    env, browser, sim = rig
    write_config(env, '[console]\nbrowser = "chromium"\n')
    link = "rolecall://console?" + urllib.parse.urlencode(
        {"account": "payments-prod", "role": "ReadOnlyAccess", "path": "/ec2/home#Instances:", "region": "eu-west-1"}
    )
    refused = env.rolecall("open", link, check=False)
    assert refused.returncode == 2 and "--yes" in refused.stderr and "ReadOnlyAccess" in refused.stderr
    assert browser.pages() == [], "nothing opened without asking"
    env.rolecall("open", link, "--yes")
    page = browser.wait_page(1)
    assert '<dd id="role">ReadOnlyAccess</dd>' in page
    assert "eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:" in page.replace("&amp;", "&")
    hostile = env.rolecall("open", "rolecall://console?account=payments-prod&role=ReadOnlyAccess&path=//evil.example/", "--yes", check=False)
    assert hostile.returncode == 2 and "not a Rolecall link" in hostile.stderr


def test_profiles_and_containers_get_their_exact_command_lines(rig):
    env, browser, sim = rig
    account = "payments-prod"
    out = env.rolecall("ls", "--json")
    account_id = next(a["account"]["account_id"] for a in json.loads(out.stdout) if a["account"]["account_name"] == account)
    write_config(env, f'[environments]\n"{account_id}" = "prod"\n')

    _, page = open_console(env, browser, account, "ReadOnlyAccess", "--mode", "profile")
    launch = browser.launches()[-1]
    assert launch["program"] == "chromium"
    assert launch["args"][:-1] == [f"--profile-directory=rolecall-{account_id}"], launch
    assert launch["args"][-1].startswith("http://127.0.0.1:") and "/open/" in launch["args"][-1]
    assert '<dd id="role">ReadOnlyAccess</dd>' in page

    _, page = open_console(env, browser, account, "PowerUserAccess", "--mode", "container")
    launch = browser.launches()[-1]
    assert launch["program"] == "firefox" and len(launch["args"]) == 1, launch
    container = urllib.parse.parse_qs(launch["args"][0][len("ext+container:"):])
    assert container["name"] == [f"{account} ({account_id})"] and container["color"] == ["red"] and container["icon"] == ["fence"]
    assert container["url"][0].startswith("http://127.0.0.1:") and "SigninToken" not in launch["args"][0]
    assert '<dd id="role">PowerUserAccess</dd>' in page
