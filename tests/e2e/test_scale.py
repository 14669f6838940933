"""Nothing is cut off silently: an organisation with more roles than the list draws says how
many there are and that typing narrows them (400 roles here, 300 drawn)."""

ROWS = "#role-list [role=option]"


def test_the_list_says_when_it_shows_fewer_roles_than_match(start_sim, desktop):
    sim = start_sim("--org", "80x5", "--auto-approve-after", "0")
    app = desktop(sim)
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    # Accounts stream in as the sweep lists them: the note follows, and ends at all 400.
    expected = "Showing the first 300 of 400 roles: type to narrow."
    app.wait(lambda: app.css("#more-roles") and app.css("#more-roles")[0].text == expected, timeout=60, what="the note")
    assert len(app.css(ROWS)) == 300
    search = app.css("#search")[0]
    search.click()
    search.send_keys("Role03")
    app.wait(lambda: not app.css("#more-roles") and len(app.css(ROWS)) == 80, what="narrowed to 80, no note")
