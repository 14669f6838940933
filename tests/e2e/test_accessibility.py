"""Every screen of the real window, in the light and the dark theme (the system's preference,
set through GTK_THEME), checked by axe-core: the first run, signing in, signed in with a role
selected, its menu, the keyboard shortcuts, the quick picker. Zero violations. And the list is
keyboard first: a handful of Tab stops however many roles, at least eight roles in an 800x500
window, nothing cut off at 480 px.
"""

import json
import pathlib

import pytest
from selenium.webdriver.common.keys import Keys

AXE = pathlib.Path(__file__).resolve().parents[2] / "ui" / "node_modules" / "axe-core" / "axe.min.js"
ROWS = "#role-list [role=option]"


def violations(app):
    app.web.set_script_timeout(60)
    app.web.execute_script(AXE.read_text())
    return app.web.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, { resultTypes: ["violations"] })
          .then((r) => done(r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " :: " + n.failureSummary),
          }))))
          .catch((e) => done([{ id: "axe-error", nodes: [String(e)] }]));
        """
    )


def clean(app, screen):
    found = violations(app)
    assert found == [], f"{screen}: {json.dumps(found, indent=1)}"


def tab_stops(app):
    return app.web.execute_script(
        """
        const sel = 'a[href], button, input, select, textarea, [tabindex]';
        return [...document.querySelectorAll(sel)].filter((e) =>
          !e.disabled && e.tabIndex >= 0 && e.offsetParent !== null).length;
        """
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_screen_is_accessible_in_both_themes(start_sim, desktop, monkeypatch, theme):
    monkeypatch.setenv("GTK_THEME", "Adwaita:dark" if theme == "dark" else "Adwaita")
    sim = start_sim("--org", "demo")
    app = desktop(sim, session=False)
    assert app.web.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches") == (theme == "dark")

    app.wait(lambda: app.css("#start-url"), what="the first-run form")
    app.wait(lambda: app.web.switch_to.active_element == app.css("#session-name")[0], what="focus in the first field")
    clean(app, "first run")

    app.css("#start-url")[0].send_keys(sim.start_url)
    region = app.css("#region")[0]
    region.clear()
    region.send_keys("us-east-1")
    app.css(".first-run button[type=submit]")[0].click()
    # The simulator's endpoints come from the session config written by the fixture for the
    # other tests; here the first-run session points at the simulator's start URL, and the
    # environment carries no overrides, so the sign-in screen is what is checked.
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in buttons")
    clean(app, "signed out")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_signed_in_screens_are_accessible_and_keyboard_first(start_sim, desktop, monkeypatch, theme):
    monkeypatch.setenv("GTK_THEME", "Adwaita:dark" if theme == "dark" else "Adwaita")
    sim = start_sim("--org", "demo")
    app = desktop(sim)
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    code = app.wait(lambda: app.css("#user-code")[0].text.strip(), what="the user code")
    clean(app, "signing in")
    sim.click(code)
    app.wait(lambda: len(app.css(ROWS)) == 92, timeout=60, what="the 92 roles")
    app.wait(lambda: app.css(ROWS + "[aria-selected=true]"), what="the top role selected")
    clean(app, "signed in")
    app.screenshot(f"list-{theme}")

    # One Tab stop for the whole list (the search box), however many roles.
    assert tab_stops(app) <= 12, f"{tab_stops(app)} Tab stops"

    app.css(".row-actions button.more")[0].click()
    app.wait(lambda: app.css(".menu [role=menuitem]"), what="the row's menu")
    clean(app, "the row's menu")
    app.web.switch_to.active_element.send_keys(Keys.ESCAPE)
    app.wait(lambda: not app.css(".menu"), what="the menu closed")

    search = app.css("#search")[0]
    search.send_keys(Keys.F1)
    app.wait(lambda: app.css("#shortcuts"), what="the shortcuts")
    assert "Ctrl+T" in app.css("#shortcuts")[0].text
    clean(app, "the shortcuts")
    app.screenshot(f"shortcuts-{theme}")
    app.web.switch_to.active_element.send_keys(Keys.ESCAPE)
    app.wait(lambda: not app.css("#shortcuts"), what="the shortcuts closed")

    # 800x500 shows at least eight roles; 480 px wide cuts nothing off.
    app.web.set_window_size(800, 500)
    visible_rows = lambda: app.web.execute_script(  # noqa: E731
        """
        const box = document.querySelector('.role-scroller').getBoundingClientRect();
        return [...document.querySelectorAll('#role-list [role=option]')].filter((r) => {
          const b = r.getBoundingClientRect();
          return b.top >= box.top && b.bottom <= box.bottom;
        }).length;
        """
    )
    app.wait(lambda: visible_rows() >= 8, what=lambda: f"eight roles in 800x500 (got {visible_rows()})")
    app.web.set_window_size(480, 600)
    fits = lambda: app.web.execute_script(  # noqa: E731
        """
        const console = document.querySelector('.row-actions button.console').getBoundingClientRect();
        return document.documentElement.scrollWidth <= innerWidth && console.right <= innerWidth;
        """
    )
    app.wait(fits, what="the 480 px window shows everything, the Console button included")
    clean(app, "480 px wide")

    # The quick picker (its shortcut is registered once the list is on screen).
    box = app.open_picker()
    box.send_keys("prod")
    app.wait(lambda: app.css("#picker-list [role=option][aria-selected=true]"), what="picker results")
    clean(app, "quick picker")
