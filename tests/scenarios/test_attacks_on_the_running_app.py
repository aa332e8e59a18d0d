"""Issue 12 §6-§8 against the real app (``python main.py`` on a free port, tests.browserkit.App).

One app for the module, tests in file order: frame headers on every kind of response;
X-Forwarded-For believed only from the configured proxy (the address in the session log); the
browser's CSV neutralises formula cells the log keeps as written; 20 wrong passwords sent at once
get at most 5 checks, and a new X-Forwarded-For from loopback does not reset the wait; the data
directory is the owner's only; /healthz reports a log directory that cannot be written; 10,000
requests without a cookie leave no per-browser state (RSS bound; exact figures: bench/cookieless.py).

The app listens on all addresses; 127.0.0.2 and 127.0.0.3 are other loopback sources (Linux routes
all of 127/8 to lo), so one test machine has an untrusted client, a trusted proxy and a prober.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import re
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pages.security import SECURITY_HEADERS
from tests import journalkit
from tests.browserkit import (
    ADMIN_USER,
    App,
    access_line,
    append,
    chromium_available,
    entry_path,
    log_in,
    now_ms,
    playwright_available,
    running_chromium,
)
from tests.conftest import require

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PROXY = "127.0.0.2"  # MODULEGAZE_TRUSTED_PROXIES
PROBER = "127.0.0.3"  # the cookieless load
FORMULA_USER = '=HYPERLINK("http://evil.example/","Click")'
PROXIED_USER = "+proxied"
SPOOFED, BEHIND_PROXY = "192.168.77.7", "192.168.77.8"
COOKIELESS_REQUESTS = 10_000
RSS_GROWTH_BOUND_KIB = 4096  # measured: +0.1 to +0.3 MB with the fix, +17 MB without it
WAIT_MS = 10_000


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    work = tmp_path_factory.mktemp("security")
    journal = work / "oc4d.journal"
    start = now_ms()
    append(journal, [(start, access_line("192.168.1.5", entry_path("cdn_math"), start))])
    running = App(
        journal, work, extra_env={"MODULEGAZE_INCLUDE_LOOPBACK": "1", "MODULEGAZE_TRUSTED_PROXIES": PROXY}
    ).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser(app: App) -> Iterator[Browser]:
    require(chromium_available(), "/usr/bin/chromium")
    require(playwright_available(), "playwright (python)")
    with running_chromium() as chromium:
        yield chromium


def call(
    app: App, method: str, path: str, *, source: str = "127.0.0.1", headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request without a cookie, from the loopback address `source`."""
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def heartbeat(app: App, user: str, event: str, *, source: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    path = f"/api/module-heartbeat?slug=cdn_math&event={event}&user={user}"
    status, _, _ = call(app, "POST", path.replace('"', "%22").replace("+", "%2B").replace(" ", "%20"),
                        source=source, headers=headers)  # fmt: skip
    return status


def sessions_log(app: App) -> str:
    path = app.workdir / "logs" / "modulegaze-sessions.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def wait_for(predicate: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def one_second_session(app: App, user: str, *, source: str, forwarded_for: str | None = None) -> None:
    """A heartbeat session of ~1.2 s, closed explicitly: one record line in the session log."""
    assert heartbeat(app, user, "ping", source=source, forwarded_for=forwarded_for) == 204
    time.sleep(1.2)
    assert heartbeat(app, user, "close", source=source, forwarded_for=forwarded_for) == 204


@pytest.fixture(scope="module")
def recorded(app: App) -> str:
    """A spoofing client on 127.0.0.1 and a client behind the trusted proxy, each one session."""
    one_second_session(app, FORMULA_USER, source="127.0.0.1", forwarded_for=SPOOFED)
    one_second_session(app, PROXIED_USER, source=PROXY, forwarded_for=f"6.6.6.6, {BEHIND_PROXY}")
    wait_for(lambda: sessions_log(app).count("\n") >= 2, "two session records")
    return sessions_log(app)


# ---------------------------------------------------------------- headers


def test_frame_headers_on_every_response(app: App) -> None:
    status, _, login_html = call(app, "GET", "/login")
    asset = re.search(rb'"(/_nicegui/[^"]+\.js)"', login_html)
    assert status == 200 and asset is not None
    requests = [
        ("GET", "/login", 200),
        ("GET", "/", 303),  # the login wall
        ("GET", "/history", 303),
        ("GET", "/no/such/page", 303),
        ("GET", "/api/live-sessions", 401),
        ("GET", "/healthz", 200),
        ("POST", "/api/module-heartbeat", 400),
        ("OPTIONS", "/api/module-heartbeat", 204),
        ("GET", "/favicon.ico", 200),
        ("GET", asset.group(1).decode(), 200),
    ]
    for method, path, expected in requests:
        status, headers, _ = call(app, method, path, source=PROBER)
        assert status == expected, (method, path, status)
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, (method, path, name, headers.items())


# ---------------------------------------------------------------- X-Forwarded-For


def test_forwarded_for_is_believed_only_from_the_configured_proxy(recorded: str) -> None:
    lines = recorded.splitlines()
    assert any(f"\tuserId={FORMULA_USER}|127.0.0.1\t" in line for line in lines), recorded
    assert any(f"\tuserId={PROXIED_USER}|{BEHIND_PROXY}\t" in line for line in lines), recorded
    assert SPOOFED not in recorded and "6.6.6.6" not in recorded


# ---------------------------------------------------------------- CSV in the browser


def test_csv_download_neutralises_formulas_the_log_keeps_them(app: App, browser: Browser, recorded: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        log_in(page, app, ADMIN_USER, "/history")
        response = page.request.get(f"{app.url}/history/export.csv?range=today")
        assert response.status == 200
        rows = list(csv.reader(io.StringIO(response.text(), newline="")))
    finally:
        context.close()
    users = {row[0]: row for row in rows[1:]}
    assert "'" + FORMULA_USER in users and "'" + PROXIED_USER in users, rows
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
    assert f"userId={FORMULA_USER}|" in recorded  # the upload scripts get the value as written


# ---------------------------------------------------------------- login attempts


def failed_checks(app: App) -> int:
    return app.log_path.read_text(errors="replace").count("login failed from 127.0.0.1")


def settled_checks(app: App, quiet_s: float = 1.0, timeout: float = 20.0) -> int:
    """`failed_checks` once it has not changed for `quiet_s` (the checks run in worker threads)."""
    deadline = time.monotonic() + timeout
    count = failed_checks(app)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        again = failed_checks(app)
        if again == count:
            return count
        count = again
    raise AssertionError("login checks still running")


def test_parallel_wrong_passwords_get_at_most_five_checks(app: App, browser: Browser) -> None:
    before = failed_checks(app)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(f"{app.url}/login")
        page.get_by_label("User name", exact=True).fill(ADMIN_USER)
        password = page.get_by_label("Password", exact=True)
        password.fill("not-the-password")
        # 20 tries at once: 20 Enter key events dispatched in one go, before any check can finish.
        password.evaluate(
            "el => { for (let i = 0; i < 20; i++)"
            " el.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); }"
        )
        page.get_by_text("Too many failed logins").wait_for()
        checks = settled_checks(app) - before  # every check that was started has been logged
        assert 1 <= checks <= 5, checks

        # A new X-Forwarded-For from loopback is not a new client: still waiting, no new check.
        spoofing = context.new_page()
        spoofing.set_default_timeout(WAIT_MS)
        spoofing.set_extra_http_headers({"X-Forwarded-For": "10.20.30.40"})
        spoofing.goto(f"{app.url}/login")
        spoofing.get_by_label("User name", exact=True).fill(ADMIN_USER)
        spoofing.get_by_label("Password", exact=True).fill("another-guess")
        spoofing.get_by_role("button", name="Log in", exact=True).click()
        spoofing.get_by_text("Too many failed logins").wait_for()
        assert settled_checks(app) - before == checks
    finally:
        context.close()


# ---------------------------------------------------------------- data directory


def test_data_directory_is_the_owners_only(app: App) -> None:
    data = app.workdir / "data"  # App created it 0755 before the first start
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    private = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir() if p.name.startswith("gaze.db")}
    assert "gaze.db" in private and set(private.values()) == {0o600}, private


# ---------------------------------------------------------------- /healthz and the log writers


def test_healthz_reports_a_log_directory_that_cannot_be_written(app: App) -> None:
    logs = app.workdir / "logs"
    away = app.workdir / "logs-away"
    status, _, body = call(app, "GET", "/healthz")
    assert status == 200 and json.loads(body)["logs"]["sessions"] == {"ok": True, "error": None, "waiting": 0}
    logs.rename(away)
    logs.write_text("not a directory\n")  # every write to the log directory now fails
    try:
        one_second_session(app, "while-broken", source=PROXY)

        def broken() -> bool:
            status, _, body = call(app, "GET", "/healthz")
            sessions = json.loads(body)["logs"]["sessions"]
            return status == 503 and not sessions["ok"] and bool(sessions["error"]) and sessions["waiting"] == 1

        wait_for(broken, "/healthz 503 naming the session log")
    finally:
        logs.unlink()
        away.rename(logs)
    wait_for(lambda: call(app, "GET", "/healthz")[0] == 200, "/healthz 200 again")
    assert "userId=while-broken|127.0.0.2" in sessions_log(app)  # kept and written once it could be


# ---------------------------------------------------------------- cookieless requests


def test_cookieless_requests_leave_no_per_browser_state(app: App) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10, source_address=(PROBER, 0))
    cookies = 0

    def burst(count: int) -> None:
        nonlocal cookies
        for i in range(count):
            if i % 2:
                conn.request("GET", "/healthz")
            else:
                conn.request("POST", "/api/module-heartbeat?slug=cdn_geo&user=prober")
            response = conn.getresponse()
            response.read()
            cookies += response.getheader("set-cookie") is not None

    try:
        burst(500)  # warm-up: code paths, allocator pools
        time.sleep(0.5)
        before = app.rss_kib()
        burst(COOKIELESS_REQUESTS)
        time.sleep(0.5)
        growth = app.rss_kib() - before
    finally:
        conn.close()
    assert cookies == 0, "a cookieless request to an open route was given a browser session"
    assert growth < RSS_GROWTH_BOUND_KIB, f"RSS grew {growth} KiB over {COOKIELESS_REQUESTS} cookieless requests"
    assert call(app, "GET", "/healthz")[0] == 200


def test_the_running_app_has_not_loaded_the_http_clients(app: App) -> None:
    """main.serve() leaves engineio's client libraries out (gaze/footprint.py): 15 MB of modules."""
    maps = Path(f"/proc/{app.pid}/maps").read_text()
    assert "/site-packages/aiohttp/" not in maps
    assert "/site-packages/pydantic_core/" in maps  # the check sees the app's compiled modules at all


def test_the_websocket_offers_no_per_message_compression(app: App) -> None:
    """main.serve() turns permessage-deflate off: its zlib state cost ~0.5 MB per open page."""
    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as sock:
        sock.sendall(
            (
                "GET /_nicegui_ws/socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{app.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    assert head.startswith("http/1.1 101"), head  # the upgrade itself works
    assert "permessage-deflate" not in head
