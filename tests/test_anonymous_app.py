"""Issue 18 item 2 against the real app (``python main.py``, tests.browserkit.App): what a
visitor who has not signed in can make the server keep or write, from the open login page.

- 1,500 plain ``GET /login`` (no cookie kept, no websocket) leave RSS within 10 MB (before: +75 MB,
  each page kept with its elements and request for 60 s; exact figures: bench/cookieless.py).
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator

import pytest

from tests import journalkit
from tests.browserkit import App, access_line, append, entry_path, now_ms
from tests.conftest import require

pytestmark = pytest.mark.slow

PAGE_LOADS = 1_500
PAGE_RSS_BOUND_KIB = 10 * 1024  # measured: +1 to +4 MB with the fix, +75 MB without it


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    work = tmp_path_factory.mktemp("anonymous")
    journal = work / "oc4d.journal"
    start = now_ms()
    append(journal, [(start, access_line("192.168.1.5", entry_path("cdn_math"), start))])
    running = App(journal, work).start()
    try:
        yield running
    finally:
        running.stop()


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def test_anonymous_page_loads_leave_memory_flat(app: App) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    try:
        for _ in range(100):  # warm-up: code paths, allocator pools
            get(conn, "/login")
        time.sleep(0.5)
        before = app.rss_kib()
        served = sum(get(conn, "/login" if i % 2 else "/")[0] == 200 for i in range(PAGE_LOADS))
        time.sleep(0.5)
        growth = app.rss_kib() - before
    finally:
        conn.close()
    assert served == PAGE_LOADS // 2  # every other one is `GET /`: a redirect to the login page
    assert growth < PAGE_RSS_BOUND_KIB, f"RSS grew {growth} KiB over {PAGE_LOADS} anonymous page loads"
