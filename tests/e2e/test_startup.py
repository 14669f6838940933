"""The main window is made hidden and shown once its page has its first view in place
(src-tauri/src/reveal.rs): that view is built at the window's own size while hidden, and the
window is shown after it, so its first frame is drawn once, whole."""

ROWS = "#role-list [role=option]"


def first_view(app):
    return app.web.execute_script(
        """
        // Each mark's first time (the state is marked again at each reload).
        const marks = {};
        for (const m of performance.getEntriesByType("mark")) marks[m.name] ??= m.startTime;
        return { view: window.rolecallFirstView || null, marks };
        """
    )


def test_the_first_view_is_built_at_the_windows_size_before_it_is_shown(start_sim, desktop):
    """GTK gives a hidden window's web view no size: the page built its first view at 0 x 0
    (the list's top at 606 px in a 640 px window) and laid it out again once shown, until the
    web view was given the size it opens at as soon as it is made."""
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    app = desktop(sim)
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")
    seen = app.wait(lambda: first_view(app)["view"] and first_view(app), what="the first view's record")
    view, marks = seen["view"], seen["marks"]
    assert view["hidden"], f"the first view was built after the window was shown: {seen}"
    # tauri.conf.json: 880 x 640, at least 480 x 420.
    assert view["width"] >= 480 and view["height"] >= 420, f"built at {view['width']} x {view['height']}: {seen}"


def test_the_window_is_shown_only_once_its_first_view_is_in_place(start_sim, desktop):
    """Shown at the page's load event, the window was drawn before its state and roles were
    in (showing it also held the main thread that answers the page's first calls). It is shown
    once the page says its first view is in place."""
    sim = start_sim("--org", "demo", "--auto-approve-after", "0")
    app = desktop(sim)
    app.wait(lambda: app.css("button.sign-in-code"), what="the sign-in button")[0].click()
    app.wait(lambda: len(app.css(ROWS)) == 92, timeout=60, what="the 92 roles")
    marks = app.wait(lambda: "shown" in first_view(app)["marks"] and first_view(app)["marks"], what="the window shown")
    assert "state" in marks and "ready" in marks, marks
    # (The page says it is ready as its state and roles come in, in the task that builds them
    # into the page: it draws nothing before that task is over.)
    assert max(marks["state"], marks["ready"]) <= marks["shown"], f"shown before its first view was in place: {marks}"
