"""The console, the way people with many accounts use it, in the real window:

- the menu beside Console opens a service, a page typed in ("Other page..."), and then offers
  that page again among the role's recent ones;
- "How consoles open" set for an account lands in config.toml as [console.accounts."ID"];
- Copy link puts a rolecall:// link on the clipboard;
- a rolecall:// link opened while the app runs (a second launch with the link as its argument,
  as the desktop file's %u does) asks first for a role not used lately, then opens that
  role's console at that page; a role used lately opens at once.

axe-core checks the menu and the link's question (zero violations).
"""

import subprocess
import tomllib
import urllib.parse

from selenium.webdriver.common.keys import Keys

from conftest import APP
from test_accessibility import clean
from test_selection import ROWS, console_page, selected, signed_in


def clipboard():
    out = subprocess.run(["xclip", "-o", "-selection", "clipboard"], capture_output=True, text=True, timeout=10)
    return out.stdout if out.returncode == 0 else ""


def question(app, words):
    """The link's question, if it is there and names `words`."""
    return [b for b in app.css("#pending-link") if words in b.get_attribute("textContent")]


def select(app, query):
    search = app.css("#search")[0]
    search.clear()
    search.click()
    search.send_keys(query)
    return app.wait(lambda: selected(app) and app.css(".row-actions button.console-pages") and selected(app), what=f"{query} selected")


def opened(app):
    return len([u for u in app.opened_urls() if "/open/" in u])


def open_menu(app):
    app.css(".row-actions button.console-pages")[0].click()
    return app.wait(lambda: app.css(".console-menu"), what="the console menu")[0]


def test_the_console_menu_opens_pages_remembers_them_and_sets_the_mode(start_sim, desktop):
    _, app = signed_in(start_sim, desktop)
    account_id, role = select(app, "payments prod read")
    assert role == "ReadOnlyAccess"

    before = opened(app)
    open_menu(app)
    app.css(".console-menu .dest-service[data-service=ec2]")[0].click()
    page = console_page(app, before)
    assert '<dd id="role">ReadOnlyAccess</dd>' in page and "/ec2/home?region=" in page

    before = opened(app)
    open_menu(app)
    app.css(".console-menu .dest-other")[0].click()
    other = app.wait(lambda: app.css(".console-menu input.other-page"), what="the page field")[0]
    other.send_keys("/s3/buckets?region=eu-west-2", Keys.ENTER)
    page = console_page(app, before)
    assert "/s3/buckets?region=eu-west-2" in page.replace("&amp;", "&")

    menu = open_menu(app)
    recent = [b.get_attribute("data-place") for b in app.css(".console-menu .dest-recent")]
    assert recent == ["/s3/buckets?region=eu-west-2", "ec2"], recent
    checked = [b.get_attribute("data-mode") for b in app.css(".console-menu .mode[aria-checked=true]")]
    assert checked == ["switch"], "switch is the default"
    app.css(".console-menu .mode[data-mode=multi-session]")[0].click()
    app.wait(lambda: app.css(".console-menu .mode[data-mode=multi-session][aria-checked=true]"), what="multi-session chosen")
    config = tomllib.loads((app.home / "config" / "config.toml").read_text())
    assert config["console"]["accounts"][account_id] == {"mode": "multi-session"}, config
    assert menu.get_attribute("role") == "menu"
    clean(app, "the console menu")

    app.screenshot("console-menu")
    app.css(".console-menu .copy-link")[0].click()
    link = app.wait(lambda: clipboard().startswith("rolecall://") and clipboard(), what="the link copied")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)
    assert query == {"account": [account_id], "role": ["ReadOnlyAccess"], "session": ["sim"]}, link


def test_a_rolecall_link_asks_first_then_opens_that_role_at_that_page(start_sim, desktop):
    _, app = signed_in(start_sim, desktop)
    link = "rolecall://console?" + urllib.parse.urlencode(
        {"account": "checkout-dev", "role": "DeveloperAccess", "path": "/lambda/home#/functions", "region": "eu-west-1"}
    )
    before = opened(app)
    # A link comes first that the person will not answer: the one after it replaces it.
    decoy = "rolecall://console?account=checkout-prod&role=AdministratorAccess"
    subprocess.run([APP, decoy], env=app.env, capture_output=True, text=True, timeout=60, check=True)
    app.wait(lambda: question(app, "checkout-prod"), what="the first question")
    # A second launch hands the link to the running app and ends.
    second = subprocess.run([APP, link], env=app.env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    banner = app.wait(lambda: question(app, "checkout-dev"), what="the question")[0]
    text = banner.get_attribute("textContent")
    assert "DeveloperAccess" in text and "checkout-dev" in text and "/lambda/home#/functions" in text, text
    assert opened(app) == before, "nothing opened before the answer"
    clean(app, "the link's question")
    # Open takes a click only once the question has been shown a moment.
    opener = app.wait(lambda: [b for b in app.css("#pending-link button.open-link") if b.is_enabled()], what="Open armed")
    opener[0].click()
    page = console_page(app, before)
    assert '<dd id="role">DeveloperAccess</dd>' in page and "checkout-dev" in page, "the link shown, not the one it replaced"
    assert "eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions" in page.replace("&amp;", "&")
    app.wait(lambda: not app.css("#pending-link"), what="the question gone")

    # Used now: the next link to it opens at once.
    before = opened(app)
    subprocess.run([APP, link.replace("lambda", "ec2")], env=app.env, capture_output=True, text=True, timeout=60, check=True)
    page = console_page(app, before)
    assert "ec2/home" in page and not app.css("#pending-link")

    # A link Rolecall does not understand is refused, never guessed at.
    subprocess.run([APP, "rolecall://console?account=checkout-dev&role=DeveloperAccess&path=//evil.example/"], env=app.env, timeout=60)
    app.wait(lambda: "not a Rolecall link" in app.notified(), what="the refusal notified")
    assert not app.css("#pending-link")


def test_a_burst_of_links_for_a_recent_role_opens_one_console_without_asking(start_sim, desktop):
    """Sixty links for a role opened lately opened sixty browsers. Now one opens at once and the
    rest of the burst waits for the person's answer."""
    _, app = signed_in(start_sim, desktop)
    account_id, role = select(app, "payments prod read")
    before = opened(app)
    app.css("#search")[0].send_keys(Keys.ENTER)
    console_page(app, before)
    link = "rolecall://console?" + urllib.parse.urlencode({"account": account_id, "role": role})
    before = opened(app)
    for _ in range(8):
        subprocess.run([APP, link], env=app.env, capture_output=True, text=True, timeout=60, check=True)
    app.wait(lambda: question(app, account_id), what="the rest of the burst asks")
    console_page(app, before)
    assert opened(app) == before + 1, f"{opened(app) - before} consoles opened without a question"
