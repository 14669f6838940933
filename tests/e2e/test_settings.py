"""The Settings window does what config.toml does, in the real app: an account's alias,
colour and environment show in the list; a chained role added there is listed and usable; a
session added there appears; preferences are saved with the person's own comments kept; a new
quick picker shortcut is recorded from the keyboard and works; a wrong value is refused with
a sentence and nothing is written. Checked by axe-core in both themes.
"""

import subprocess

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from test_accessibility import clean

ROWS = "#role-list [role=option]"


def open_settings(app):
    main = app.web.current_window_handle
    app.css("button.open-settings")[0].click()
    handle = app.wait(lambda: [h for h in app.web.window_handles if h != main], what="the settings window")[0]
    app.web.switch_to.window(handle)
    app.wait(lambda: app.css("#preferences"), what="the settings page")
    return main, handle


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_settings_change_what_the_list_shows_and_keep_the_file(start_sim, desktop, monkeypatch, tmp_path, theme):
    monkeypatch.setenv("GTK_THEME", "Adwaita:dark" if theme == "dark" else "Adwaita")
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    aws_config = tmp_path / "aws-config"
    aws_config.write_text(f"[sso-session imported]\nsso_start_url = {sim.start_url}/other\nsso_region = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    app = desktop(sim)
    config = app.home / "config" / "config.toml"
    config.write_text("# my own notes, kept\n" + config.read_text())
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    app.wait(lambda: len(app.css(ROWS)) == 92, timeout=60, what="the 92 roles")
    account_id = next(r.get_attribute("data-account-id") for r in app.css(ROWS) if r.get_attribute("data-account") == "payments-prod")

    main, settings = open_settings(app)
    app.wait(lambda: app.css(f".account-row[data-account-id='{account_id}']"), what="the accounts listed")
    clean(app, f"settings ({theme})")
    app.screenshot(f"settings-{theme}")

    # An account's alias, colour and environment.
    row = app.css(f".account-row[data-account-id='{account_id}']")[0]
    row.find_element("css selector", "input.alias").send_keys("pay")
    Select(row.find_element("css selector", "select.colour")).select_by_value("#d13212")
    Select(row.find_element("css selector", "select.environment")).select_by_value("prod")
    row.find_element("css selector", "button[type=submit]").click()
    app.wait(lambda: 'environments' in config.read_text(), what="the account saved")
    text = config.read_text()
    assert "# my own notes, kept\n[preferences]" in text, "the person's comment stays"
    assert '"pay"' in text and "#d13212" in text and 'prod' in text

    # A chained role.
    Select(app.css("#chain-account")[0]).select_by_value(account_id)
    Select(app.css("#chain-role")[0]).select_by_value("AdministratorAccess")
    app.css("#chain-name")[0].send_keys("deploy")
    app.css("#chain-arn")[0].send_keys(f"arn:aws:iam::{account_id}:role/Deployer")
    app.css("#add-chain button[type=submit]")[0].click()
    app.wait(lambda: app.css(".chain-row[data-chain='deploy']"), what="the chain listed in Settings")

    # Sessions imported from ~/.aws/config (AWS_CONFIG_FILE).
    app.css("#import-sessions")[0].click()
    app.wait(lambda: app.css("#import-result") and "Imported imported" in app.css("#import-result")[0].text, what="the import")
    app.wait(lambda: app.css(".session-settings[data-session='imported']"), what="the imported session listed")
    assert "name = \"imported\"" in config.read_text()

    # A wrong value: a sentence, nothing written.
    before = config.read_text()
    app.css("#chain-name")[0].send_keys("bad name")
    app.css("#chain-arn")[0].send_keys("arn:aws:iam::1:user/x")
    app.css("#add-chain button[type=submit]")[0].click()
    error = app.wait(lambda: app.css("#chain-error"), what="the refusal")[0]
    assert "chain" in error.text
    assert config.read_text() == before

    # Preferences, with the shortcut recorded from the keyboard.
    Select(app.css("#pref-shell")[0]).select_by_value("fish")
    shortcut = app.css("#pref-shortcut")[0]
    shortcut.click()
    shortcut.send_keys(Keys.CONTROL, Keys.ALT, "p")
    app.wait(lambda: app.css("#pref-shortcut")[0].text == "Ctrl+Alt+P", what="the shortcut recorded")
    app.css("#preferences button[type=submit]")[0].click()
    app.wait(lambda: 'shortcut = "Ctrl+Alt+P"' in config.read_text() and 'shell = "fish"' in config.read_text(), what="the preferences saved")
    assert "# my own notes, kept\n" in config.read_text()

    # Back in the main window: the alias, the environment, the chain, the shell.
    app.web.switch_to.window(main)
    search = app.css("#search")[0]
    search.click()
    search.send_keys("pay")
    header = app.wait(lambda: [h for h in app.css(".account") if h.get_attribute("data-account-id") == account_id], what="the account")[0]
    app.wait(lambda: "pay" in header.get_attribute("textContent") and header.find_elements("css selector", "[data-env='prod']"), what="the alias and the environment")
    app.wait(lambda: [r for r in app.css(ROWS) if r.get_attribute("data-chain") == "deploy"], what="the chain in the list")
    # Credentials held for the account: its chip names it by the alias too, as the list does.
    row = next(r for r in app.css(ROWS) if r.get_attribute("data-account-id") == account_id and r.get_attribute("data-role") == "ReadOnlyAccess" and not r.get_attribute("data-chain"))
    app.row_action(row, "copy-env")
    chip = app.wait(lambda: [c for c in app.css(".active .chip") if c.get_attribute("data-account") == account_id], what="the chip")[0]
    assert chip.text.startswith("pay / ReadOnlyAccess"), chip.text
    app.wait(lambda: Select(app.css("#shell")[0]).first_selected_option.get_attribute("value") == "fish", what="the shell")

    # The new shortcut opens the picker (the old one is released).
    def picker():
        handles = [h for h in app.web.window_handles if h not in (main, settings)]
        if not handles:
            subprocess.run(["xdotool", "key", "ctrl+alt+p"], check=True, timeout=10)
        return handles

    app.wait(picker, what="the picker from the new shortcut")


def test_on_wayland_settings_shows_what_to_bind_instead_of_a_shortcut_that_cannot_work(start_sim, desktop):
    """Tauri grabs global shortcuts through X11 only: in a Wayland session the quick picker's
    shortcut would silently do nothing. Settings says so and shows the command to bind in the
    desktop's own keyboard settings, instead of the shortcut field."""
    sim = start_sim("--org", "demo")
    app = desktop(sim, session_type="wayland")
    app.wait(lambda: app.css("button.open-settings"), what="the main window")
    open_settings(app)
    note = app.wait(lambda: app.css("#shortcut-unavailable"), what="the shortcut note")[0]
    assert "Wayland" in note.text and "rolecall-desktop --picker" in note.text, note.text
    assert app.css("code.picker-command")[0].text == "rolecall-desktop --picker"
    assert not app.css("#pref-shortcut"), "no shortcut field that would do nothing"
