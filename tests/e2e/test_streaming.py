"""A large organisation streams in: with 2,000 accounts behind a portal throttled at 20
requests/s (a sweep of about 100 s), a favourite deep in the list is usable within seconds of
signing in, long before the sweep ends, and the progress names a real total as soon as the
account pages are read."""

import re
import subprocess
import time

from selenium.webdriver.common.keys import Keys

FAVOURITE = "100000001990"  # account-01990: on the 20th and last page of accounts
ROWS = "#role-list [role=option]"


def clipboard():
    out = subprocess.run(["xclip", "-o", "-selection", "clipboard"], capture_output=True, text=True, timeout=10)
    return out.stdout if out.returncode == 0 else ""


def test_a_favourite_is_usable_long_before_a_large_sweep_ends(start_sim, desktop):
    sim = start_sim("--org", "2000x3", "--portal-rps", "20", "--auto-approve-after", "0")
    favourite = f'[[favourite]]\nsession = "sim"\naccount_id = "{FAVOURITE}"\nrole = "Role01"\n'
    app = desktop(sim, extra_config=favourite)
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    signed_in = time.time()
    row = f'{ROWS}[data-account-id="{FAVOURITE}"][data-role="Role01"]'
    app.wait(lambda: app.css(row), timeout=60, what="the favourite's row")
    shown_after = time.time() - signed_in
    progress = app.css("#sweep-progress")
    assert progress, "the sweep is still running"
    done, total = int(progress[0].get_attribute("value")), int(progress[0].get_attribute("max"))
    assert done < total, (done, total)

    # Usable now: its keys copied, while the sweep goes on.
    search = app.css("#search")[0]
    search.click()
    search.send_keys("account-01990 Role01")
    app.wait(lambda: app.css(ROWS + '[aria-selected=true][data-account-id="%s"]' % FAVOURITE), what="the favourite selected")
    search.send_keys(Keys.CONTROL, "c")
    app.wait(lambda: "AWS_SECRET_ACCESS_KEY" in clipboard(), what="env copied")
    assert app.css("#sweep-progress"), "copied before the sweep ended"

    # The total is the organisation's once the account pages are in, not a growing guess.
    text = app.wait(
        lambda: (t := app.css(".sweep-progress-text")[0].get_attribute("textContent")) and "of 2,000 accounts" in t and t,
        timeout=30,
        what="the real total",
    )
    assert re.fullmatch(r"Roles of [\d,]+ of 2,000 accounts", text.strip()), text
    print(f"favourite shown {shown_after:.1f} s after sign-in was clicked")
