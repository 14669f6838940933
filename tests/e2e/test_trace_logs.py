"""The app at its most talkative (ROLECALL_LOG=trace, every crate's trace included): no secret
it handles reaches its log or a file under its home.

The app signs in, sweeps the catalogue, copies credentials as environment variables, hands a
terminal a grant of the credential endpoint (which a client then uses), and opens a console
(the browser's one-time link is followed). Then every secret the simulator issued (client
secrets, device codes, access and refresh tokens, role credentials' secret keys and session
tokens, console sign-in tokens), the endpoint grant's token and the one-time link's own path
are looked for in everything the app and its WebKit processes wrote, and in every file under
its home.
"""
import re
import urllib.error
import urllib.request

from test_desktop_e2e import clipboard

ROWS = "#role-list [role=option]"


def row_menu(app, account, role, button):
    app.row_action(next(r for r in app.css(ROWS) if r.get_attribute("data-account") == account and r.get_attribute("data-role") == role), button)


def test_no_secret_reaches_the_apps_log_or_files_at_trace_level(start_sim, desktop):
    sim = start_sim("--org", "demo", "--auto-approve-after", "0", "--expose-issued-secrets")
    app = desktop(sim, log="trace")
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    app.wait(lambda: len(app.css(ROWS)) == 92, timeout=60, what="the 92 roles")

    row_menu(app, "payments-prod", "ReadOnlyAccess", "copy-env")
    env = dict(re.findall(r"export (\w+)='([^']*)'", app.wait(lambda: "AWS_SESSION_TOKEN" in clipboard() and clipboard(), what="credentials copied")))
    assert env["AWS_SECRET_ACCESS_KEY"]

    row_menu(app, "payments-prod", "AdministratorAccess", "copy-terminal")
    grant = dict(re.findall(r"export (\w+)='([^']*)'", app.wait(lambda: "AWS_CONTAINER_AUTHORIZATION_TOKEN" in clipboard() and clipboard(), what="a grant copied")))
    token = grant["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    served = urllib.request.urlopen(urllib.request.Request(grant["AWS_CONTAINER_CREDENTIALS_FULL_URI"], headers={"Authorization": token}))
    assert served.status == 200 and b"SecretAccessKey" in served.read()

    # The console, through the row's Enter: the one-time link, followed as a browser would.
    search = app.css("#search")[0]
    search.click()
    search.send_keys("search dev")
    app.wait(lambda: [r.get_attribute("data-account") for r in app.css(ROWS)][:1] == ["search-dev"], what="search-dev first")
    from selenium.webdriver.common.keys import Keys

    search.send_keys(Keys.ENTER)
    link = app.wait(lambda: [u for u in app.opened_urls() if "/open/" in u], what="the console link")[-1]
    page = urllib.request.urlopen(link).read().decode()
    assert 'id="role"' in page, page

    secrets = sim.issued_secrets()
    kinds = len(secrets)
    secrets += [token, link.rsplit("/", 1)[-1]]
    assert kinds >= 8, f"secrets of every kind were issued: {kinds}"
    assert env["AWS_SECRET_ACCESS_KEY"] in secrets and env["AWS_SESSION_TOKEN"] in secrets

    app.close()
    log = app.log_path.read_text(errors="replace")
    assert re.search(r"\bTRACE\b", log), "the log is at trace: " + log[-2000:]
    assert "credential endpoint listening" in log, "the app's own log is among it"
    leaked = [s[:8] + "..." for s in secrets if s and s in log]
    assert not leaked, f"secrets in the app's log: {leaked}"
    for path in app.home.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            found = [s[:8] + "..." for s in secrets if s and s in text]
            assert not found, f"secrets in {path}: {found}"
