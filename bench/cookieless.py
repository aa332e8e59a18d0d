"""Memory under cookieless requests (issue 12 §7): oc4d's cross-origin heartbeats and health probes;
and under anonymous page loads (issue 18 item 2): plain `GET /login` from anyone on the Wi-Fi.

Run from the repository root::

    .venv/bin/python bench/cookieless.py [--requests 10000] [--rounds 3] [--pages 1500] [--page-rounds 3]

The app runs as a subprocess (``python main.py``, ``tests/browserkit.App``) following a real
``.journal`` file, with ``MODULEGAZE_INCLUDE_LOOPBACK=1`` so the heartbeats are processed like a
device's (sessions opened, rate limit applied). One keep-alive connection without cookies sends, in
turn, ``POST /api/module-heartbeat`` (a different user each time, so the open sessions grow too),
``GET /healthz``, ``OPTIONS /api/module-heartbeat`` (CORS preflight) and ``GET /api/modules``.
After a 1,000-request warm-up, each round of N requests reports the app's RSS growth
(``/proc/<pid>/status`` VmRSS), bytes per request and how many responses set a cookie.

Target: RSS growth per 10,000 requests <= 2 MB, no cookie set. Before the fix NiceGUI made a
browser id, a cookie and a per-browser storage for each such request: measured here +17.4 MB in the
first 10,000 (the issue's probe saw +14 MB), +0.2 MB in the next (NiceGUI drops unused storages
after 10 s, but the process keeps the memory: the peak follows the request rate). With the fix:
+0.1 to +0.3 MB per 10,000 and no cookie.

Pages (``--pages N`` a round, 0 to skip): after 200 warm-up loads, rounds of N anonymous page loads on
one connection, alternately ``GET /login`` and ``GET /`` (a redirect to it), no cookie kept and no
websocket opened; RSS after each round, after all and after ``--idle`` seconds, and the app's CPU
per load. Target: <= +10 MB per 10,000 loads (at least the full 10 MB for fewer). Before: +75 MB per
1,500 (each page kept 60 s, each browser id given storage), +219 MB after 3 x 1,500, all of it still
held after 75 s idle. After: +1.6 MB for 10,000.

It is a report, not a test: it prints the figures and PASS/MISS and exits 0 (1 when the app does not
start or no journal tools are present).
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests import journalkit  # noqa: E402
from tests.browserkit import App, access_line, append, entry_path, now_ms  # noqa: E402

TARGET_GROWTH_KIB_PER_10K = 2048
WARM_UP = 1_000
PAGE_WARM_UP = 200
TARGET_PAGES_KIB = 10 * 1024  # anonymous page loads: RSS growth over all rounds (issue 18 item 2)


def send(conn: http.client.HTTPConnection, count: int, offset: int) -> int:
    """`count` cookieless requests; returns how many responses set a cookie."""
    cookies = 0
    for i in range(offset, offset + count):
        kind = i % 4
        if kind == 0:
            conn.request("POST", f"/api/module-heartbeat?slug=cdn_math&user=device{i}")
        elif kind == 1:
            conn.request("GET", "/healthz")
        elif kind == 2:
            conn.request("OPTIONS", "/api/module-heartbeat", headers={"Origin": "http://oc4d.cdn"})
        else:
            conn.request("GET", "/api/modules")
        response = conn.getresponse()
        response.read()
        cookies += response.getheader("set-cookie") is not None
    return cookies


def load_pages(conn: http.client.HTTPConnection, count: int) -> tuple[int, int]:
    """`count` anonymous page loads, alternately `GET /login` (the page) and `GET /` (303 to it), no
    cookie kept and no websocket opened; returns (pages served, responses that set a cookie)."""
    pages = cookies = 0
    for i in range(count):
        conn.request("GET", "/login" if i % 2 == 0 else "/")
        response = conn.getresponse()
        response.read()
        pages += response.status == 200
        cookies += response.getheader("set-cookie") is not None
    return pages, cookies


def api_rounds(app: App, requests: int, rounds: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    send(conn, WARM_UP, 0)
    time.sleep(0.5)
    first = app.rss_kib()
    print(f"RSS after {WARM_UP} warm-up requests: {first / 1024:.1f} MB")
    worst = 0.0
    for n in range(1, rounds + 1):
        before = app.rss_kib()
        began = time.perf_counter()
        cookies = send(conn, requests, WARM_UP + n * requests)
        elapsed = time.perf_counter() - began
        time.sleep(0.5)
        growth = app.rss_kib() - before
        per_10k = growth * 10_000 / requests
        worst = max(worst, per_10k)
        print(
            f"round {n}: {requests} requests in {elapsed:.1f} s ({requests / elapsed:.0f}/s); "
            f"RSS {growth:+d} KiB ({growth * 1024 / requests:+.0f} B/request, "
            f"{per_10k / 1024:+.2f} MB per 10,000); responses with a cookie: {cookies}"
        )
    total = app.rss_kib() - first
    print(f"total over {rounds} rounds: {total:+d} KiB")
    verdict = "PASS" if worst <= TARGET_GROWTH_KIB_PER_10K else "MISS"
    print(f"{verdict}: worst round {worst / 1024:+.2f} MB per 10,000 (target <= +2 MB)")
    conn.close()


def page_rounds(app: App, loads: int, rounds: int, idle: float) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    load_pages(conn, PAGE_WARM_UP)
    time.sleep(0.5)
    first = app.rss_kib()
    print(f"pages: RSS after {PAGE_WARM_UP} warm-up page loads: {first / 1024:.1f} MB")
    for n in range(1, rounds + 1):
        before, ticks = app.rss_kib(), app.cpu_ticks()
        began = time.perf_counter()
        pages, cookies = load_pages(conn, loads)
        elapsed = time.perf_counter() - began
        cpu_ms = (app.cpu_ticks() - ticks) * 1000 / os.sysconf("SC_CLK_TCK")
        time.sleep(0.5)
        after = app.rss_kib()
        print(
            f"pages round {n}: {loads} page loads in {elapsed:.1f} s ({loads / elapsed:.0f}/s, {pages} pages served, "
            f"app CPU {cpu_ms / loads:.1f} ms each); RSS {after - before:+d} KiB, now {after / 1024:.1f} MB; "
            f"responses with a cookie: {cookies}"
        )
    conn.close()
    grown = app.rss_kib() - first
    time.sleep(idle)
    idled = app.rss_kib() - first
    total = loads * rounds
    print(f"pages: after {total} page loads RSS {grown:+d} KiB; after {idle:.0f} s idle {idled:+d} KiB")
    verdict = "PASS" if grown <= TARGET_PAGES_KIB * max(1, total / 10_000) else "MISS"
    print(f"{verdict}: {total} anonymous page loads grew RSS {grown / 1024:+.1f} MB (target <= +10 MB per 10,000)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=1_500, help="anonymous page loads per round (0: none)")
    parser.add_argument("--page-rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds idle before the last RSS figure")
    args = parser.parse_args()
    if not journalkit.available():
        print("needs systemd-journal-remote and journalctl", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-cookieless-") as tmp:
        work = Path(tmp)
        journal = work / "oc4d.journal"
        start = now_ms()
        append(journal, [(start, access_line("192.168.1.5", entry_path("cdn_math"), start))])
        app = App(journal, work, extra_env={"MODULEGAZE_INCLUDE_LOOPBACK": "1"})
        try:
            app.start()
        except RuntimeError as exc:
            print(f"app did not start: {exc}", file=sys.stderr)
            return 1
        try:
            if args.requests > 0:
                api_rounds(app, args.requests, args.rounds)
            if args.pages > 0:
                page_rounds(app, args.pages, args.page_rounds, args.idle)
        finally:
            app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
