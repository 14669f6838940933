"""A role chained from an SSO role (the config's [[chain]]) is a role of its account in the
real window: listed under the account it starts from with its one-hour cap, and its console
opens as the chained role. The chain is added to config.toml while the app runs, as a person
(or the CLI) would: the app takes it without a restart.
"""

import urllib.request

from selenium.webdriver.common.keys import Keys

ROWS = "#role-list [role=option]"


def test_a_chain_is_listed_under_its_account_and_opens_its_console(start_sim, desktop):
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    app = desktop(sim)
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    app.wait(lambda: len(app.css(ROWS)) == 92, timeout=60, what="the 92 roles")
    account_id = next(r.get_attribute("data-account-id") for r in app.css(ROWS) if r.get_attribute("data-account") == "payments-prod")

    config = app.home / "config" / "config.toml"
    config.write_text(
        config.read_text()
        + f'\n[[chain]]\nname = "deploy"\nsession = "sim"\naccount_id = "{account_id}"\n'
        + f'role = "AdministratorAccess"\nrole_arn = "arn:aws:iam::{account_id}:role/Deployer"\n'
    )
    search = app.css("#search")[0]
    search.click()
    search.send_keys("deploy payments prod")
    row = app.wait(lambda: [r for r in app.css(ROWS) if r.get_attribute("data-chain") == "deploy"], what="the chain listed")[0]
    assert row.get_attribute("data-account-id") == account_id, "under the account it starts from"
    assert "from AdministratorAccess · 1 h" in row.get_attribute("textContent")

    row.click()
    opened = len([u for u in app.opened_urls() if "/open/" in u])
    search.send_keys(Keys.ENTER)
    url = app.wait(lambda: [u for u in app.opened_urls() if "/open/" in u][opened:], what="the console link")[-1]
    page = urllib.request.urlopen(url).read().decode()
    assert '<dd id="role">Deployer</dd>' in page, page
    chip = app.wait(lambda: [c for c in app.css(".active .chip") if c.get_attribute("data-chain") == "deploy"], what="the chained credentials held")[0]
    assert "deploy" in chip.get_attribute("textContent")

    # The quick picker lists the chain too, by its name.
    box = app.open_picker()
    box.send_keys("deploy")
    # Read afresh until the answer to the whole query is on screen: the list is redrawn for
    # each key typed, and a node kept from an earlier answer goes stale.
    def first():
        return app.css("#picker-list [role=option]")[0].get_attribute("textContent")

    app.wait(lambda: "deploy" in first() and "1 h" in first(), what=lambda: f"the chain by its name, 1 h: {first()}")
