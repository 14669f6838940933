"""Fixtures for end-to-end tests of the real desktop app: the simulator (from the interop
suite), a person's folders, an opener that records every URL the app opens, tauri-driver, and
a WebDriver session on the real WebKit window.

Run under Xvfb inside scripts/with-session-bus (scripts/test does), so the app has a display,
a session bus for its tray and notifications, and an unlocked keychain.
"""

import faulthandler
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "interop"))
from simulator import start_sim  # noqa: E402,F401  (a fixture, shared with the interop suite)

ROOT = pathlib.Path(__file__).resolve().parents[2]
APP = os.environ.get("ROLECALL_DESKTOP_BIN", str(ROOT / "target" / "debug" / "rolecall-desktop"))
SCREENSHOTS = os.environ.get("ROLECALL_SCREENSHOTS")


def descendants(pid):
    """Every process below `pid` (children first found through /proc)."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(parent)], capture_output=True, text=True).stdout
        for child in out.split():
            found.append(int(child))
            queue.append(int(child))
    return found


def end_tree(proc):
    """Ends a process and everything it started (tauri-driver starts WebKitWebDriver, which
    starts the app): a leftover app would take the next test's launch as a second instance."""
    tree = descendants(proc.pid)
    proc.terminate()
    for pid in tree:
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    deadline = time.time() + 10
    while time.time() < deadline and any(os.path.exists(f"/proc/{pid}") and not zombie(pid) for pid in tree):
        time.sleep(0.1)
    for pid in tree:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def zombie(pid):
    try:
        return open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def wait_for_port(port, log_path, seconds=20):
    """Waits until something listens on `port`, or fails naming what the driver printed."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {seconds}s; tauri-driver said:\n{log_path.read_text()}")


def app_log_problems(text):
    """What in an app's log means the app is broken whatever a test saw: a panic (a crashed
    app answers nothing, and its test fails later with a confusing "connection refused"), or
    a tray or menu call that reached a thread other than the main one (tray-icon and muda
    handles are `Rc`s: such a call races the main thread and crashes the app, now and then)."""
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if "panicked at" in line or "was called off the main thread" in line:
            return "\n".join(lines[max(0, n - 3) : n + 12])
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Desktop:
    """A running app, driven through WebDriver."""

    def __init__(self, tmp_path, sim, clipboard_clear=0, session=True, extra_config="", log="info", session_duration=None, session_type="x11", env_extra=None):
        from selenium import webdriver
        from selenium.webdriver.common.options import ArgOptions

        self.home = tmp_path / "rolecall"
        (self.home / "config").mkdir(parents=True, exist_ok=True)
        (self.home / "config" / "config.toml").write_text(
            f"[preferences]\nwarnings_seconds = [15]\nclipboard_clear_seconds = {clipboard_clear}\n"
            + (sim.session_toml(duration=session_duration) if session else "")
            + extra_config
        )
        self.opened = tmp_path / "opened.txt"
        recorder = tmp_path / "opener"
        recorder.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$1\" >> {self.opened}\n")
        recorder.chmod(0o755)
        env = dict(os.environ, ROLECALL_HOME=str(self.home), ROLECALL_OPENER=str(recorder), ROLECALL_LOG=log)
        # The person's own AWS files: none, unless a test gives some (in env_extra, or set in
        # the environment as test_settings' import does; the long-term keys banner looks there).
        env.setdefault("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws" / "credentials"))
        env.setdefault("AWS_CONFIG_FILE", str(tmp_path / "no-aws" / "config"))
        env.update(env_extra or {})
        # The app runs on Xvfb (X11); `session_type` is what it is told the desktop session is.
        env["XDG_SESSION_TYPE"] = session_type
        env.pop("WAYLAND_DISPLAY", None)
        self.env = env
        for k in ("AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM", "ROLECALL_FEDERATION_URL"):
            env.pop(k, None)
        # Notifications go to org.freedesktop.Notifications on the session bus: record them.
        self.notifications = tmp_path / "notifications.txt"
        self.monitor = subprocess.Popen(
            ["dbus-monitor", "--session", "interface='org.freedesktop.Notifications'"],
            stdout=open(self.notifications, "w"),
            stderr=subprocess.DEVNULL,
        )
        port, native = free_port(), free_port()
        self.log_path = tmp_path / "tauri-driver.log"
        self.log = open(self.log_path, "w")
        self.driver_proc = subprocess.Popen(
            ["tauri-driver", "--port", str(port), "--native-port", str(native)], env=env, stdout=self.log, stderr=self.log
        )
        # tauri-driver starts WebKitWebDriver on the native port and, without waiting for it,
        # proxies to it: a new-session request that arrives before WebKitWebDriver listens is
        # dropped ("Remote end closed connection without response", seen on a cold CI machine).
        # Wait for both ends.
        for p in (port, native):
            wait_for_port(p, self.log_path)
        from selenium.webdriver.remote.client_config import ClientConfig

        options = ArgOptions()
        options.set_capability("browserName", "wry")
        options.set_capability("tauri:options", {"application": APP, "args": ["--no-agent"]})
        # Every WebDriver command answers within a minute, or the test fails (a screenshot can
        # hang on a cold WebKit).
        config = ClientConfig(remote_server_addr=f"http://127.0.0.1:{port}", timeout=60)
        self.web = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options, client_config=config)
        self.web.set_page_load_timeout(30)

    def wait(self, condition, timeout=30, what="condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                got = condition()
                if got:
                    return got
            except Exception as e:  # the DOM changes under us while Svelte re-renders
                last = e
            time.sleep(0.2)
        # `what` may be a function: what the page showed, read only once the wait is over (read
        # before, it could meet a row the list was redrawing).
        if callable(what):
            try:
                what = what()
            except Exception as e:
                what = f"(the page changed while it was read: {e})"
        raise AssertionError(f"timed out waiting for {what} ({last})")

    def open_picker(self):
        """Brings up the quick picker with its global shortcut (registered once the list is on
        screen) and switches WebDriver to it; returns its search box."""
        main = self.web.current_window_handle

        def picker():
            handles = [h for h in self.web.window_handles if h != main]
            if not handles:
                subprocess.run(["xdotool", "key", "ctrl+shift+k"], check=True, timeout=10)
            return handles

        self.web.switch_to.window(self.wait(picker, what="the picker")[0])
        return self.wait(lambda: self.css("#picker-search"), what="the picker's search box")[0]

    def css(self, selector):
        from selenium.webdriver.common.by import By

        return self.web.find_elements(By.CSS_SELECTOR, selector)

    def row_action(self, row, button):
        """With the mouse: a click selects `row`, then its menu's item `button` (a class:
        copy-env, copy-terminal...) is clicked."""
        row.click()
        self.wait(lambda: row.get_attribute("aria-selected") == "true", what="the clicked row selected")
        self.css(".row-actions button.more")[0].click()
        self.wait(lambda: self.css(f".menu button.{button}"), what="the row's menu")[0].click()

    def opened_urls(self):
        return self.opened.read_text().split() if self.opened.exists() else []

    def screenshot(self, name):
        if SCREENSHOTS:
            time.sleep(2)  # a screenshot right after a DOM change can show the frame before it
            pathlib.Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            self.web.get_screenshot_as_file(str(pathlib.Path(SCREENSHOTS) / f"{name}.png"))

    def notified(self):
        return self.notifications.read_text() if self.notifications.exists() else ""

    def close(self):
        self.monitor.terminate()
        try:
            self.web.quit()
        except Exception:
            pass
        end_tree(self.driver_proc)
        self.log.close()
        problem = app_log_problems(self.log_path.read_text(errors="replace"))
        assert problem is None, f"the app's log says it is broken:\n{problem}"


@pytest.fixture
def desktop(tmp_path):
    # A hung end-to-end test prints every thread's stack and ends the run after 4 minutes,
    # instead of silently eating CI's time.
    faulthandler.dump_traceback_later(240, exit=True)
    made = []

    def make(sim, **options):
        d = Desktop(tmp_path, sim, **options)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()
    faulthandler.cancel_dump_traceback_later()
