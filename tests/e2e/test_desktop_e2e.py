"""The real desktop app in a real WebKit window under Xvfb, through WebDriver (tauri-driver +
WebKitWebDriver), against the simulator: sign in with a device code approved on the
simulator's page, search and pick a role with the keyboard, open the console (the URL the app
hands to the opener is followed to the simulator's console page), copy env and use the
clipboard's credentials with boto3, watch credentials count down and disappear, and read and
click the tray menu through D-Bus.
"""

import json
import os
import sys
import re
import subprocess
import time
import urllib.error
import urllib.request

import boto3
import pytest
from selenium.common.exceptions import NoSuchWindowException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys


def clipboard(target=None):
    """The clipboard's text, or what it holds for `target` (a type, or TARGETS: the types it offers)."""
    out = subprocess.run(
        ["xclip", "-o", "-selection", "clipboard", *(["-t", target] if target else [])], capture_output=True, text=True, timeout=10
    )
    return out.stdout if out.returncode == 0 else ""


def seconds(countdown):
    m, s = countdown.strip().split(":")[-2:]
    return int(m) * 60 + int(s)


def sts_identity(sim, env):
    return boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=sim.sts,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
    ).get_caller_identity()


def busctl(*args):
    out = subprocess.run(["busctl", "--user", "--json=short", "--", *args], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else None


def tray_menu():
    """(bus name, menu path) of the app's tray item, found by the app's pid."""
    pids = subprocess.run(["pgrep", "-f", "target/debug/rolecall-desktop"], capture_output=True, text=True).stdout.split()
    assert pids, "the app is running"
    for entry in busctl("list"):
        if str(entry.get("pid")) in pids and entry["name"].startswith(":"):
            tree = subprocess.run(["busctl", "--user", "tree", "--list", entry["name"]], capture_output=True, text=True).stdout
            for path in tree.split():
                if path.startswith("/org/ayatana/NotificationItem/") and path.endswith("/Menu"):
                    return entry["name"], path
    return None


def menu_items(name, path):
    """Every (id, label, parent label) of the tray menu."""
    layout = busctl("call", name, path, "com.canonical.dbusmenu", "GetLayout", "iias", "0", "-1", "1", "label")
    items = []

    def walk(node, parent):
        ident, props, children = node
        label = props.get("label", {}).get("data", "")
        items.append((ident, label, parent))
        for child in children:
            walk(child["data"], label)

    walk(layout["data"][1], "")
    return items


def click_tray(found, label, parent=None):
    """Reads the menu and clicks an item at once; a rebuild in between renumbers the items."""
    last = None
    for _ in range(5):
        items = menu_items(*found)
        ident = next((i for i, lab, par in items if lab == label and (parent is None or parent(par))), None)
        assert ident is not None, f"no tray item {label!r} in {[lab for _, lab, _ in items]}"
        out = subprocess.run(
            ["busctl", "--user", "--", "call", found[0], found[1], "com.canonical.dbusmenu", "Event", "isvu", str(ident), "clicked", "s", "", "0"],
            capture_output=True, text=True, timeout=20,
        )
        if out.returncode == 0:
            return
        last = out.stderr
        time.sleep(0.3)
    raise AssertionError(f"clicking {label!r} failed: {last}")


def test_sign_in_pick_console_copy_countdown_and_tray(start_sim, desktop):
    sim = start_sim("--org", "demo", "--role-credentials-ttl", "30s")
    app = desktop(sim)

    # On open, the search box has focus.
    search = app.wait(lambda: app.css("#search"), what="the search box")[0]
    assert app.web.switch_to.active_element == search

    # Sign in with a device code; the person approves it on the simulator's page.
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    code = app.wait(lambda: app.css("#user-code")[0].text.strip(), what="the user code")
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", code)
    assert any(u.startswith(sim.oidc + "/device") for u in app.opened_urls()), "the verification page was opened"
    app.screenshot("sign-in")
    sim.click(code)
    app.wait(lambda: len(app.css("#role-list [role=option]")) == 92, timeout=60, what="the 92 roles of the demo organisation")
    assert app.css(".session-status")[0].text == "Signed in"

    # Type, arrows, Enter opens the console for the selected role.
    search = app.css("#search")[0]
    search.click()
    search.send_keys("payments prod")
    top = lambda: [r.get_attribute("data-account") for r in app.css("#role-list [role=option]")][:3]  # noqa: E731
    app.wait(lambda: top() == ["payments-prod"] * 3, what=lambda: f"payments-prod's three roles first (got {top()})")
    rows = app.css("#role-list [role=option]")
    second = rows[1].get_attribute("data-role")
    account_id = rows[1].get_attribute("data-account-id")
    search.send_keys(Keys.ARROW_DOWN, Keys.ENTER)
    # The browser gets a one-time loopback URL, never the sign-in token itself.
    url = app.wait(lambda: [u for u in app.opened_urls() if "/open/" in u], what="the console URL")[-1]
    assert url.startswith("http://127.0.0.1:")
    assert not [u for u in app.opened_urls() if "SigninToken" in u], "no sign-in token in any opener's arguments"
    page = urllib.request.urlopen(url).read().decode()
    with pytest.raises(urllib.error.HTTPError) as used:
        urllib.request.urlopen(url)
    assert used.value.code == 410, "the console link works once"
    assert f'<dd id="role">{second}</dd>' in page
    assert f'<span id="account-id">{account_id}</span>' in page and "payments-prod" in page

    # Copy env: the clipboard holds credentials the simulator issued for that role.
    # With the mouse: a click selects the row, its menu holds Copy env.
    app.row_action(next(r for r in app.css("#role-list [role=option]") if r.get_attribute("data-role") == "ReadOnlyAccess"), "copy-env")
    text = app.wait(lambda: "AWS_SESSION_TOKEN" in clipboard() and clipboard(), what="the clipboard")
    env = dict(re.findall(r"export (\w+)='([^']*)'", text))
    assert env["AWS_REGION"] == "us-east-1" and env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    # Clipboard managers keep a history, some of it on disk: credentials come marked as a
    # secret for them to leave out (the convention KDE's Klipper, GPaste and others follow).
    assert "x-kde-passwordManagerHint" in clipboard("TARGETS").split(), clipboard("TARGETS")
    assert clipboard("x-kde-passwordManagerHint") == "secret"
    ident = sts_identity(sim, env)
    assert ident["Account"] == account_id and "AWSReservedSSO_ReadOnlyAccess_" in ident["Arn"]

    # Live countdowns (mm:ss), red in the last minute.
    chip = app.wait(lambda: [c for c in app.css(".active .chip") if c.get_attribute("data-role") == "ReadOnlyAccess"], what="the chip")[0]
    first = seconds(chip.find_element(By.CSS_SELECTOR, ".countdown").text)
    assert "critical" in chip.get_attribute("class")
    time.sleep(2.2)
    later = seconds(chip.find_element(By.CSS_SELECTOR, ".countdown").text)
    assert 0 < later < first <= 30
    app.screenshot("main")

    # The tray menu over D-Bus: it lists the active credentials and the session, and its
    # Forget item wipes them.
    found = app.wait(tray_menu, what="the tray item on the session bus")
    items = app.wait(lambda: [i for i in menu_items(*found) if "ReadOnlyAccess" in i[1] and "left)" in i[1]] and menu_items(*found), what="the active role in the tray")
    labels = [label for _, label, _ in items]
    assert "Sign out of sim" in labels and "Open Rolecall" in labels and "Quit" in labels
    click_tray(found, "Forget credentials", parent=lambda p: "ReadOnlyAccess" in p and "left)" in p)
    app.wait(lambda: not [c for c in app.css(".active .chip") if c.get_attribute("data-role") == "ReadOnlyAccess"], what="forgetting through the tray")

    # The credentials of the console role count down to expiry and disappear.
    app.wait(lambda: [c for c in app.css(".active .chip") if c.get_attribute("data-role") == second], what="the console role's chip")
    app.wait(lambda: not app.css(".active .chip"), timeout=45, what="expiry")
    assert not [r for r in app.css("#role-list .countdown") if r.text.strip()], "no countdown left after expiry"

    # Notifications before expiry and at expiry.
    # Each names the role's account id too: two accounts may share a name.
    notes = app.wait(lambda: re.search(r"payments-prod \(\d{12}\) / " + re.escape(second) + " expired and were wiped", app.notified()) and app.notified(), what="the expiry notification")
    assert re.search(r"Credentials for payments-prod \(\d{12}\) / \w+ expire in 1[0-5] s", notes), notes


def visible_picker():
    out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "quick picker"], capture_output=True, text=True)
    return out.stdout.strip()


def test_quick_picker(start_sim, desktop):
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    app = desktop(sim, clipboard_clear=3)
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    app.wait(lambda: len(app.css("#role-list [role=option]")) == 92, timeout=60, what="the roles")
    assert not visible_picker()

    # The global shortcut (Ctrl+Shift+K by default) brings up the picker.
    found = app.wait(tray_menu, what="the tray item (the shortcut is registered with it)")
    subprocess.run(["xdotool", "key", "ctrl+shift+k"], check=True, timeout=10)
    app.wait(visible_picker, what="the picker window on screen")

    main = app.web.current_window_handle
    app.web.switch_to.window(next(h for h in app.web.window_handles if h != main))
    box = app.wait(lambda: app.css("#picker-search"), what="the picker's search box")[0]
    assert app.web.switch_to.active_element == box
    box.send_keys("search prod")
    # (textContent: WebKit's WebDriver leaves out the text of an element with overflow: hidden,
    # as the names here have, to end long ones with "…".)
    app.wait(
        lambda: app.css("#picker-list [role=option]")
        and "search-prod" in app.css("#picker-list [role=option]")[0].get_attribute("textContent"),
        what="picker results",
    )
    app.screenshot("quick-picker")

    # Ctrl+C copies env in the default shell format.
    box.send_keys(Keys.CONTROL, "c")
    text = app.wait(lambda: "AWS_SESSION_TOKEN" in clipboard() and clipboard(), what="the clipboard")
    ident = sts_identity(sim, dict(re.findall(r"export (\w+)='([^']*)'", text)))
    assert "AWSReservedSSO_AdministratorAccess_" in ident["Arn"]
    # The clipboard is cleared after the configured 3 s, since it still holds our text.
    app.wait(lambda: "AWS_SESSION_TOKEN" not in clipboard(), timeout=10, what="the clipboard cleared")

    # Enter opens the console and hides the picker.
    box.send_keys(Keys.ENTER)
    url = app.wait(lambda: [u for u in app.opened_urls() if "/open/" in u], what="the console URL")[-1]
    assert '<dd id="role">AdministratorAccess</dd>' in urllib.request.urlopen(url).read().decode()
    app.wait(lambda: not visible_picker(), what="the picker hidden after Enter")

    # Hidden, the picker's web view was dropped (memory); it comes back on demand, here from the
    # tray (Linux trays send no clicks, so the menu has a Quick picker entry). Esc hides it.
    click_tray(found, "Quick picker…")
    app.wait(visible_picker, what="the picker shown again")
    picker = app.wait(lambda: [h for h in app.web.window_handles if h != main], what="the new picker web view")[0]
    app.web.switch_to.window(picker)
    box = app.wait(lambda: app.css("#picker-search"), what="the picker's search box")[0]
    try:
        box.send_keys(Keys.ESCAPE)
    except NoSuchWindowException:
        pass  # the picker dropped its own web view before WebDriver's answer: what Esc does
    app.wait(lambda: not visible_picker(), what="the picker hidden by Esc")


def test_first_run_adds_a_session_with_clear_messages(start_sim, desktop, tmp_path, monkeypatch):
    # The start-at-login entry goes to ~/.config/autostart: a home of the test's own.
    monkeypatch.setenv("HOME", str(tmp_path / "login-home"))
    entry = tmp_path / "login-home" / ".config" / "autostart" / "Rolecall.desktop"
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    app = desktop(sim, session=False)
    url = app.wait(lambda: app.css("#start-url"), what="the first-run form")[0]
    region = app.css("#region")[0]
    url.send_keys("https://ssoins-1.eu-central-1.portal.amazonaws.com/start")
    region.click()  # leaving the URL field guesses the region from it
    app.wait(lambda: region.get_attribute("value") == "eu-central-1", what="the region guessed")
    url.clear()
    url.send_keys("d-1234567890.awsapps.com/start")
    app.css("form button[type=submit]")[0].click()
    error = app.wait(lambda: app.css("#first-run-error")[0].text, what="the error")
    assert "is not a URL" in error and "https://d-1234567890.awsapps.com/start" in error
    url.clear()
    url.send_keys(sim.start_url)
    region.clear()
    region.send_keys("us-east-1")
    app.css("form button[type=submit]")[0].click()
    app.wait(lambda: app.css(".session .session-status") and app.css(".session .session-status")[0].text == "Signed out", what="the session")
    assert 'start_url = "' + sim.start_url + '"' in (app.home / "config" / "config.toml").read_text()

    # Start at login, from the window's checkbox: the entry comes and goes with it.
    app.css("#autostart")[0].click()
    app.wait(entry.exists, what="the autostart entry")
    assert "--hidden" in entry.read_text()
    assert "autostart = true" in (app.home / "config" / "config.toml").read_text()
    app.wait(lambda: app.css("#autostart")[0].is_selected(), what="the box checked")
    app.css("#autostart")[0].click()
    app.wait(lambda: not entry.exists(), what="the autostart entry removed")


def test_terminal_session_served_by_the_endpoint_and_revoked_in_the_app(start_sim, desktop):
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    app = desktop(sim)
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    app.wait(lambda: len(app.css("#role-list [role=option]")) == 92, timeout=60, what="the roles")
    row = next(
        r for r in app.css("#role-list [role=option]")
        if r.get_attribute("data-account") == "payments-prod" and r.get_attribute("data-role") == "ReadOnlyAccess"
    )
    app.row_action(row, "copy-terminal")
    text = app.wait(lambda: "AWS_CONTAINER_AUTHORIZATION_TOKEN" in clipboard() and clipboard(), what="the clipboard")
    env = dict(re.findall(r"export (\w+)='([^']*)'", text))
    assert set(env) == {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        # Which role the grant is for (no secret), so `rolecall prompt` in that terminal names it.
        "ROLECALL_ACCOUNT_ID",
        "ROLECALL_ACCOUNT",
        "ROLECALL_ROLE",
        "ROLECALL_HOLDS",
    }
    assert env["ROLECALL_HOLDS"].startswith("grant:")
    assert "AWS_SECRET_ACCESS_KEY" not in text, "no key in the shell"

    def identity():
        child = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        child.update(env, AWS_ENDPOINT_URL_STS=sim.sts)
        script = "import boto3, json; print(json.dumps(boto3.client('sts').get_caller_identity()))"
        return subprocess.run([sys.executable, "-c", script], env=child, capture_output=True, text=True, timeout=60)

    out = identity()
    assert out.returncode == 0, out.stderr
    assert "AWSReservedSSO_ReadOnlyAccess_" in json.loads(out.stdout)["Arn"]

    grant = app.wait(lambda: app.css(".grants li.grant"), what="the grant listed in the app")[0]
    assert grant.get_attribute("data-role") == "ReadOnlyAccess" and "payments-prod" in grant.text
    grant.find_element(By.CSS_SELECTOR, "button.revoke").click()
    app.wait(lambda: not app.css(".grants li.grant"), what="the grant revoked")
    assert identity().returncode != 0, "a revoked terminal session gets nothing"
