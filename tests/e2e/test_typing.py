"""Keys typed in the search box are held until their query's answer is in, then applied with it
(ui/src/lib/typing.ts), so one frame draws the letter and its rows. Holding a key must never
change what typing does: the text is what was typed, where the caret was, Backspace and Delete
take what they always take, and the list follows the text shown."""

import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from test_selection import ROWS, rows, signed_in


def value(app):
    return app.web.execute_script("return document.querySelector('#search').value")


def caret(app):
    return app.web.execute_script("const s = document.querySelector('#search'); return [s.selectionStart, s.selectionEnd]")


def settled(app, text, what):
    """Waits for the box to hold `text` and the list to show that query's matches."""
    app.wait(lambda: value(app) == text, what=f"{what}: the text {text!r}")
    time.sleep(0.3)  # longer than a key is ever held and than the rest of an answer's wait
    return rows(app)


def test_held_keys_edit_the_text_where_the_caret_is(start_sim, desktop):
    _, app = signed_in(start_sim, desktop)
    search = app.css("#search")[0]
    search.click()
    # A letter forgotten, then typed where it belongs (the caret moved back into the text).
    search.send_keys("paymnts")
    settled(app, "paymnts", "typed")
    search.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT, Keys.ARROW_LEFT, "e")
    shown = settled(app, "payments", "the letter put in")
    assert caret(app) == [5, 5], "the caret stays after the letter typed"
    assert shown and all("payments" in li.get_attribute("data-account") for li in app.css(ROWS)), shown
    # Backspace takes the letter before the caret, Delete the one after it.
    search.send_keys(Keys.BACKSPACE)
    settled(app, "paymnts", "Backspace")
    search.send_keys(Keys.DELETE)
    settled(app, "paymts", "Delete")
    assert caret(app) == [4, 4]
    # A selection is replaced by what is typed.
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys("pay")
    settled(app, "pay", "the selection typed over")
    # Typed fast, many keys at once: all of them, in order.
    search.send_keys("ments prod read")
    settled(app, "payments prod read", "fast typing")
    assert rows(app) and all("payments" in li.get_attribute("data-account") for li in app.css(ROWS))



def test_the_quick_picker_holds_keys_the_same_way(start_sim, desktop):
    _, app = signed_in(start_sim, desktop)
    box = app.open_picker()
    app.wait(lambda: app.css("#picker-list [role=option][aria-selected=true]"), what="the picker's first roles")
    text = lambda: app.web.execute_script("return document.querySelector('#picker-search').value")  # noqa: E731
    box.send_keys("paymnts")
    app.wait(lambda: text() == "paymnts", what="the text typed")
    box.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT, Keys.ARROW_LEFT, "e")
    app.wait(lambda: text() == "payments", what="the letter put in")
    time.sleep(0.3)
    names = [o.find_element(By.CSS_SELECTOR, ".account-name").get_attribute("textContent") for o in app.css("#picker-list [role=option]")]
    assert names and all("payments" in n for n in names), names
    box.send_keys(Keys.BACKSPACE, Keys.BACKSPACE)
    app.wait(lambda: text() == "paynts", what="Backspace twice")
