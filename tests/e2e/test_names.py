"""Names from the portal shown faithfully in the real window and the picker: a right-to-left
override or a zero-width character is shown as a visible mark and cannot reorder what is around
it (the name is isolated), a long name ends in an ellipsis with the full name on hover, "R&D" is
"R&D".
"""


ROWS = "#role-list [role=option]"

ORG = """
name = "names"
[user]
name = "Ada"
username = "ada@example.com"
[[accounts]]
id = "111111111111"
name = "payments-prod"
email = "a@example.com"
roles = ["ReadOnlyAccess"]
[[accounts]]
id = "222222222222"
name = "dorp-stnemyap\\u202e"
email = "b@example.com"
roles = ["ReadOnlyAccess"]
[[accounts]]
id = "333333333333"
name = "R&D"
email = "c@example.com"
roles = ["Admin"]
[[accounts]]
id = "444444444444"
name = "a-very-long-account-name-that-goes-on-and-on-and-on-well-past-any-column-width-1"
email = "d@example.com"
roles = ["Admin"]
"""


def test_names_are_shown_as_they_are(start_sim, desktop, tmp_path):
    org = tmp_path / "org.toml"
    org.write_text(ORG)
    sim = start_sim("--org", str(org), "--auto-approve-after", "0")
    app = desktop(sim)
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    app.wait(lambda: len(app.css(ROWS)) == 4, timeout=60, what="the roles")
    names = {h.get_attribute("data-account-id"): h for h in app.css(".account")}

    spoof = names["222222222222"].find_element("css selector", ".account-name")
    assert spoof.get_attribute("textContent") == "dorp-stnemyap⟨U+202E⟩", "the override is a visible mark"
    shown = app.web.execute_script("return document.body.innerText + [...document.querySelectorAll('[title]')].map((e) => e.title).join(' ')")
    assert "\u202e" not in shown, "no override in any text shown or on hover"
    assert app.web.execute_script("return getComputedStyle(arguments[0]).unicodeBidi", spoof) == "isolate"

    assert names["333333333333"].find_element("css selector", ".account-name").get_attribute("textContent") == "R&D"

    long_name = names["444444444444"].find_element("css selector", ".account-name")
    assert long_name.get_attribute("title").startswith("a-very-long-account-name")
    assert app.web.execute_script("const e = arguments[0]; return e.scrollWidth > e.clientWidth && getComputedStyle(e).textOverflow === 'ellipsis'", long_name)
    row = names["444444444444"]
    assert row.size["height"] < 40, "a long name does not make a tall row"

    box = app.open_picker()
    box.send_keys("stnemyap")
    option = app.wait(lambda: app.css("#picker-list [role=option]"), what="picker results")[0]
    assert "⟨U+202E⟩" in option.get_attribute("textContent")
