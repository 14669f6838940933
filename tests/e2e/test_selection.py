"""The picker acts on exactly the role shown selected, in the real window (WebDriver):

- a narrowed query selects its top match, and Enter pressed right after typing acts on it,
  not on the row number that was selected before the list changed;
- after an action the list does not reorder under the person: the same row is the same role,
  and a second click hits it again; recents move up at the next search.
"""

import time
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys


def signed_in(start_sim, desktop):
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    app = desktop(sim)
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    app.wait(lambda: len(app.css(ROWS)) == 92, timeout=60, what="the 92 roles")
    return sim, app


ROWS = "#role-list [role=option]"


def rows(app):
    return [(li.get_attribute("data-account-id"), li.get_attribute("data-role")) for li in app.css(ROWS)]


def selected(app):
    li = app.css(ROWS + "[aria-selected=true]")
    return (li[0].get_attribute("data-account-id"), li[0].get_attribute("data-role")) if li else None


def console_page(app, before):
    """The console page behind the newest one-time link the app handed the browser."""
    url = app.wait(lambda: [u for u in app.opened_urls() if "/open/" in u][before:], what="a console link")[-1]
    return urllib.request.urlopen(url).read().decode()


def test_enter_after_narrowing_the_query_opens_the_top_match(start_sim, desktop):
    _, app = signed_in(start_sim, desktop)
    search = app.css("#search")[0]
    search.click()
    search.send_keys("payments")
    app.wait(
        lambda: 5 <= len(rows(app)) < 92 and all("payments" in li.get_attribute("data-account") for li in app.css(ROWS)[:5]),
        what="payments rows",
    )
    for _ in range(4):
        search.send_keys(Keys.ARROW_DOWN)
    moved_to = app.wait(lambda: selected(app) != rows(app)[0] and selected(app), what="the fifth row selected")
    assert moved_to == rows(app)[4]
    opened_before = len([u for u in app.opened_urls() if "/open/" in u])

    # Typed and Enter at once, as a person does: Enter acts on the new query's top match.
    search.send_keys(" prod read", Keys.ENTER)
    page = console_page(app, opened_before)
    top = app.wait(lambda: rows(app)[0], what="the narrowed list")
    assert top == app.wait(lambda: selected(app), what="the selected row"), "the top match is the one selected"
    account_id, role = top
    assert role == "ReadOnlyAccess" and f'<span id="account-id">{account_id}</span>' in page
    assert '<dd id="role">ReadOnlyAccess</dd>' in page and "payments-prod" in page
    assert moved_to != top, "not the row number selected before the list changed"


def test_the_list_does_not_reorder_under_the_person_after_an_action(start_sim, desktop):
    _, app = signed_in(start_sim, desktop)
    before = rows(app)
    target = before[5]
    app.css(ROWS)[5].click()
    app.wait(lambda: selected(app) == target, what="the clicked row selected")
    app.css(".row-actions button.more")[0].click()
    app.wait(lambda: app.css(".menu button.copy-env"), what="the row's menu")[0].click()
    app.wait(lambda: "Copied" in app.web.page_source, what="the copy confirmed")
    # The app's state changed (credentials held, the role now recent): same rows, same order.
    app.wait(lambda: app.css(ROWS)[5].find_elements(By.CSS_SELECTOR, ".countdown"), what="credentials held")
    time.sleep(1)
    assert rows(app) == before, "no row moved after Copy env"
    assert selected(app) == target, "the selected row is still the role it was"
    # Console, at the same place, opens the same role.
    opened_before = len([u for u in app.opened_urls() if "/open/" in u])
    app.css(".row-actions button.console")[0].click()
    page = console_page(app, opened_before)
    assert f'<span id="account-id">{target[0]}</span>' in page and f'<dd id="role">{target[1]}</dd>' in page

    # The next search shows the new order: the roles just used come first.
    search = app.css("#search")[0]
    search.click()
    search.send_keys("x")
    app.wait(lambda: rows(app) != before, what="a new query's list")
    search.send_keys(Keys.BACKSPACE)
    app.wait(lambda: len(rows(app)) == 92 and rows(app)[0] == target, what="the used role first at the next search")


def test_every_action_is_on_a_key(start_sim, desktop):
    """Ctrl+S favourite, Ctrl+P profile line, Ctrl+T terminal session, Ctrl+D forget, on the
    role shown selected."""
    import subprocess

    def clipboard():
        out = subprocess.run(["xclip", "-o", "-selection", "clipboard"], capture_output=True, text=True, timeout=10)
        return out.stdout if out.returncode == 0 else ""

    _, app = signed_in(start_sim, desktop)
    search = app.css("#search")[0]
    search.click()
    search.send_keys("search prod read")
    target = app.wait(lambda: selected(app) if rows(app) and rows(app)[0] == selected(app) and len(rows(app)) < 92 else None, what="the top match selected")

    search.send_keys(Keys.CONTROL, "s")
    app.wait(lambda: app.css(ROWS + "[aria-selected=true] .star.on"), what="a favourite (★)")
    search.send_keys(Keys.CONTROL, "p")
    line = app.wait(lambda: "credential_process" in clipboard() and clipboard(), what="the profile line")
    assert f"credential-process --session sim {target[0]} {target[1]}" in line
    search.send_keys(Keys.CONTROL, "t")
    app.wait(lambda: "AWS_CONTAINER_AUTHORIZATION_TOKEN" in clipboard(), what="a terminal session")
    app.wait(lambda: app.css(".grants li.grant"), what="the terminal session listed")
    search.send_keys(Keys.CONTROL, "c")
    app.wait(lambda: "AWS_SECRET_ACCESS_KEY" in clipboard(), what="env copied")
    app.wait(lambda: app.css(ROWS + "[aria-selected=true] .countdown"), what="credentials held")
    search.send_keys(Keys.CONTROL, "d")
    app.wait(lambda: not app.css(ROWS + "[aria-selected=true] .countdown"), what="credentials forgotten")
    assert selected(app) == target, "every key acted on the same selected role"


def actions_beside_selected(app):
    """Whether the row's actions (Console, ▾, ⋯) sit on the selected row's line."""
    return app.web.execute_script(
        """
        const row = document.querySelector('#role-list [role=option][aria-selected=true]');
        const bar = document.querySelector('.row-actions');
        if (!row || !bar) return false;
        const r = row.getBoundingClientRect(), b = bar.getBoundingClientRect();
        const middle = (b.top + b.bottom) / 2;
        return b.height > 0 && middle >= r.top && middle <= r.bottom;
        """
    )


def test_the_actions_sit_beside_the_selected_row(start_sim, desktop):
    """The actions are placed from the selected row's layout, read in the frame that draws it
    (a layout read while the window is still hidden has no size and would misplace them)."""
    _, app = signed_in(start_sim, desktop)
    app.wait(lambda: actions_beside_selected(app), what="the actions beside the top row")
    search = app.css("#search")[0]
    for keys, what in ((Keys.ARROW_DOWN * 6, "the seventh row"), (Keys.PAGE_DOWN, "a row a page down"), (Keys.END, "the last row")):
        before = selected(app)
        search.send_keys(keys)
        app.wait(lambda: selected(app) != before and actions_beside_selected(app), what=f"the actions beside {what}")
    search.send_keys("payments")
    app.wait(lambda: selected(app) and "payments" in app.css(ROWS + "[aria-selected=true]")[0].get_attribute("data-account") and actions_beside_selected(app), what="the actions beside the new top match")
