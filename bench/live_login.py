"""Part (d) of the live-board benchmark (bench/live.py): login -> first session row.

A fresh browser context (no cookie) opens ``/login``, waits until the page's websocket handshake is
done, fills the form and clicks "Log in"; the figure is the time from that click to the first live
session row in the board's DOM. The page measures itself, on the browser's clock, with a script
the benchmark adds to every document (``context.add_init_script``; the app's pages are unchanged):
the click (a capture listener on the login page, kept in ``sessionStorage`` across the
navigation), the board document's navigation timing (request sent, first byte of the HTML, last
byte, DOMContentLoaded), its websocket open and socket.io's connect packet, and the first row (a
``MutationObserver`` noting the first ``time on module`` badge). All are ``performance.timeOrigin
+ performance.now()`` values of the same browser, so they are comparable across the two documents.

Each turn also logs in once in a context kept across turns (cookies cleared before each login):
a returning admin, whose browser cache holds the app's scripts. Information only; the target is
the first visit's.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.livebench import CATALOG, MODULES, VIEWPORT, Row, ip_of, percentile, verdict, wait_lines  # noqa: E402
from tests.browserkit import (  # noqa: E402
    ADMIN_PASSWORD,
    ADMIN_USER,
    ROOT,
    App,
    access_line,
    append,
    entry_path,
    make_catalog,
    now_ms,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

TARGET_LOGIN_MS = 400.0
WARMUP = 2  # first logins (imports, caches, the browser's own cold start) are not counted
MEASURE_JS = """(() => {
  const at = () => performance.timeOrigin + performance.now();
  const marks = (window.__bench = {});
  document.addEventListener("click", (event) => {
    if (event.target.closest && event.target.closest("button")) sessionStorage.setItem("bench_click", String(at()));
  }, true);
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("open", () => { marks.wsOpen ??= at(); });
      this.addEventListener("message", (m) => {
        if (typeof m.data === "string" && m.data.startsWith("40")) marks.connect ??= at();
      });
    }
  };
  const row = () => {
    if (marks.row === undefined && document.querySelector('[aria-label="time on module"]')) marks.row = at();
  };
  new MutationObserver(row).observe(document, { childList: true, subtree: true });
})();"""
READ_JS = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  const o = performance.timeOrigin;
  return { click: Number(sessionStorage.getItem("bench_click")), start: o, request: o + n.requestStart,
           response: o + n.responseStart, html: o + n.responseEnd, dom: o + n.domContentLoadedEventEnd,
           wsOpen: window.__bench.wsOpen, connect: window.__bench.connect, row: window.__bench.row };
}"""
# The split: (label, from mark, to mark); every mark is a time on the browser's clock.
STEPS = [
    ("click -> board navigation starts (login handler, ui.navigate)", "click", "start"),
    ("navigation -> first byte of the board's HTML (page build)", "start", "response"),
    ("first byte -> last byte of the HTML", "response", "html"),
    ("HTML -> DOMContentLoaded (scripts)", "html", "dom"),
    ("DOMContentLoaded -> websocket open", "dom", "wsOpen"),
    ("websocket open -> socket.io connected", "wsOpen", "connect"),
]
MILESTONES = [
    ("click -> board HTML complete", "html"),
    ("click -> DOMContentLoaded", "dom"),
    ("click -> websocket connected", "connect"),
]


def login_once(context: BrowserContext, app: App) -> dict[str, float]:
    """One login in a new tab of ``context`` (which has MEASURE_JS and no session cookie); the
    browser's marks in ms after the click."""
    page = context.new_page()
    try:
        page.set_default_timeout(20_000)
        page.goto(f"{app.url}/login")
        page.wait_for_function("window.did_handshake === true")  # the form's events reach the server
        page.get_by_label("User name", exact=True).fill(ADMIN_USER)
        page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        page.wait_for_url(f"{app.url}/")
        page.wait_for_function("window.__bench && window.__bench.row !== undefined && window.__bench.connect")
        marks: dict[str, Any] = page.evaluate(READ_JS)
    finally:
        page.close()
    click = float(marks["click"])
    return {name: float(value) - click for name, value in marks.items()}


def measuring_context(browser: Browser) -> BrowserContext:
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(MEASURE_JS)
    return context


def cold_login(browser: Browser, app: App) -> dict[str, float]:
    """A first visit: a new context, so nothing cached and no cookie."""
    context = measuring_context(browser)
    try:
        return login_once(context, app)
    finally:
        context.close()


def warm_login(context: BrowserContext, app: App) -> dict[str, float]:
    """A returning admin: the browser cache holds the app's scripts from earlier logins in
    ``context``; its cookies (the session) are cleared, so the login itself is done again."""
    context.clear_cookies()
    return login_once(context, app)


def bench_login(browser: Browser, work: Path, rows: int, logins: int, roots: Sequence[Path | None]) -> list[Row]:
    """``logins`` cold logins (each a new context) and as many warm ones (one context that keeps
    its cache) into a board with ``rows`` open sessions, for the app of each checkout in ``roots``
    (None: this one), all running at once and taking turns, so a comparison sees the same load on
    the machine."""
    apps: list[App] = []
    warm_contexts: list[BrowserContext] = []
    try:
        for n, root in enumerate(roots):
            folder = work / f"app-{n}"
            journal = folder / "oc4d.journal"
            make_catalog(folder / "uploads", CATALOG)
            stamp = now_ms() - 5_000
            modules = [MODULES[k % len(MODULES)] for k in range(rows)]
            append(journal, [(stamp, access_line(ip_of(k), entry_path(m), stamp)) for k, m in enumerate(modules)])
            apps.append(App(journal, folder, root=root or ROOT).start())
        for app in apps:
            wait_lines(app, rows)
        warm_contexts = [measuring_context(browser) for _ in apps]
        cold: list[list[dict[str, float]]] = [[] for _ in apps]
        warm: list[list[dict[str, float]]] = [[] for _ in apps]
        for turn in range(logins + WARMUP):
            for app, context, cold_done, warm_done in zip(apps, warm_contexts, cold, warm, strict=True):
                cold_marks = cold_login(browser, app)
                warm_marks = warm_login(context, app)
                if turn >= WARMUP:
                    cold_done.append(cold_marks)
                    warm_done.append(warm_marks)
    finally:
        for context in warm_contexts:
            context.close()
        for app in apps:
            app.stop()
    out: list[Row] = []
    for root, cold_done, warm_done in zip(roots, cold, warm, strict=True):
        tag = "" if root is None else f" [{root}]"
        out += login_rows(cold_done, rows, tag)
        out += warm_rows(warm_done, tag)
    return out


def login_rows(runs: Sequence[dict[str, float]], rows: int, tag: str) -> list[Row]:
    def figure(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} / {percentile(values, 95):.0f} ms"

    total = [r["row"] for r in runs]
    median = statistics.median(total)
    out = [
        Row(
            f"(d){tag} login click -> first row, {rows} open, median (n={len(runs)})",
            f"{median:.0f} ms",
            f"<= {TARGET_LOGIN_MS:.0f} ms",
            verdict(median <= TARGET_LOGIN_MS),
        ),
        Row(f"(d){tag} login click -> first row, p95", f"{percentile(total, 95):.0f} ms"),
    ]
    out += [Row(f"(d){tag} {label}, p50 / p95", figure([r[mark] for r in runs])) for label, mark in MILESTONES]
    out += [Row(f"(d){tag}   {label}, p50 / p95", figure([r[b] - r[a] for r in runs])) for label, a, b in STEPS]
    out.append(
        Row(
            f"(d){tag}   socket.io connected -> first row (<0: row first)",
            figure([r["row"] - r["connect"] for r in runs]),
        )
    )
    return out


def warm_rows(runs: Sequence[dict[str, float]], tag: str) -> list[Row]:
    """The returning admin's figures (information: the target is the first visit's)."""
    total = [r["row"] for r in runs]
    scripts = [r["dom"] - r["html"] for r in runs]
    return [
        Row(
            f"(d){tag} warm cache (returning admin): click -> first row, p50 / p95",
            f"{statistics.median(total):.0f} / {percentile(total, 95):.0f} ms",
        ),
        Row(
            f"(d){tag} warm cache:   HTML -> DOMContentLoaded (scripts), p50 / p95",
            f"{statistics.median(scripts):.0f} / {percentile(scripts, 95):.0f} ms",
        ),
    ]
