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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.floor_app import Subject  # noqa: E402
from bench.live_build import first_build_rows  # noqa: E402
from bench.live_weight import SETTLE_MS, Weigher, Weight, weigh, weight_rows  # noqa: E402
from bench.livebench import VIEWPORT, Row, percentile, verdict, wait_lines  # noqa: E402
from tests.browserkit import (  # noqa: E402
    ADMIN_PASSWORD,
    ADMIN_USER,
    App,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

TARGET_LOGIN_MS = 400.0
TARGET_FLOOR_RATIO = 1.3  # issue 21: at most 1.3 x NiceGUI's floor in the same run
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


def login_once(
    context: BrowserContext, app: App, watch: Callable[[Page], None] | None = None, settle_ms: int = 0
) -> dict[str, float]:
    """One login in a new tab of ``context`` (which has MEASURE_JS and no session cookie); the
    browser's marks (epoch ms). ``watch`` sees the tab first; ``settle_ms``: the tab stays open
    that long after the first row."""
    page = context.new_page()
    step = "the login page"
    try:
        page.set_default_timeout(30_000)  # a shared machine under load: a slow login is a figure
        if watch is not None:
            watch(page)
        page.goto(f"{app.url}/login")
        page.wait_for_function("window.did_handshake === true")  # the form's events reach the server
        step = "the login form"
        page.get_by_label("User name", exact=True).fill(ADMIN_USER)
        page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        step = "the board after the click"
        page.wait_for_url(f"{app.url}/")
        page.wait_for_function("window.__bench && window.__bench.row !== undefined && window.__bench.connect")
        marks: dict[str, Any] = page.evaluate(READ_JS)
        if settle_ms:
            page.wait_for_timeout(settle_ms)
    except Exception as exc:
        if type(exc).__name__ != "TimeoutError":  # Playwright's: a login that never finished
            raise
        raise LoginStuck(f"{app.url}: waiting for {step}: {str(exc).splitlines()[0]}") from exc
    finally:
        page.close()
    return {name: float(value) for name, value in marks.items()}


class LoginStuck(Exception):
    """A login that did not finish within the page's timeout."""


RETRIES = 2
stuck: list[str] = []  # the logins that timed out and were done again, printed with the figures


def retried(login: Callable[[], dict[str, float]]) -> dict[str, float]:
    """``login()``, again (at most RETRIES times) when it gets stuck: on a loaded machine a page's
    websocket now and then never connects; one such login must not end a long run."""
    for attempt in range(RETRIES + 1):
        try:
            return login()
        except LoginStuck as exc:
            if attempt == RETRIES:
                raise
            stuck.append(str(exc))
    raise AssertionError("unreachable")


def after_click(marks: dict[str, float]) -> dict[str, float]:
    """The marks in ms after the click."""
    return {name: value - marks["click"] for name, value in marks.items()}


def measuring_context(browser: Browser) -> BrowserContext:
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(MEASURE_JS)
    return context


def cold_login(browser: Browser, app: App) -> dict[str, float]:
    """A first visit: a new context, so nothing cached and no cookie."""

    def once() -> dict[str, float]:
        context = measuring_context(browser)
        try:
            return after_click(login_once(context, app))
        finally:
            context.close()

    return retried(once)


def warm_login(context: BrowserContext, app: App) -> dict[str, float]:
    """A returning admin: the browser cache holds the app's scripts from earlier logins in
    ``context``; its cookies (the session) are cleared, so the login itself is done again."""

    def once() -> dict[str, float]:
        context.clear_cookies()
        return after_click(login_once(context, app))

    return retried(once)


def bench_login(browser: Browser, work: Path, rows: int, logins: int, who: Sequence[Subject]) -> list[Row]:
    """``logins`` cold logins (each a new context) and as many warm ones (one context that keeps
    its cache) into a board with ``rows`` open sessions, for each app in ``who`` (the first is the
    floor), all running at once and taking turns, so all see the same load on the machine; then
    one more cold login each that weighs what the browser downloads."""
    apps: list[App] = []
    warm_contexts: list[BrowserContext] = []
    weights: list[Weight | None] = []
    builds: list[list[Row]] = []
    try:
        apps = [subject.start(work / f"app-{n}", rows) for n, subject in enumerate(who)]
        for app in apps:
            wait_lines(app, rows)
        warm_contexts = [measuring_context(browser) for _ in apps]
        cold: list[list[dict[str, float]]] = [[] for _ in apps]
        warm: list[list[dict[str, float]]] = [[] for _ in apps]
        for turn in range(logins + WARMUP):
            for app, context, cold_done, warm_done in zip(apps, warm_contexts, cold, warm, strict=True):
                try:
                    cold_marks = cold_login(browser, app)
                    warm_marks = warm_login(context, app)
                except LoginStuck as exc:  # stuck every time: this turn is left out for this app
                    stuck.append(f"{exc} (turn left out)")
                    print(f"{exc}; the app's log ends:\n{app.output()[-1500:]}", file=sys.stderr)
                    continue
                if turn >= WARMUP:
                    cold_done.append(cold_marks)
                    warm_done.append(warm_marks)
        weights = [weigh_login(browser, app) for app in apps]
        builds = [
            first_build_rows(context, app, subject.tag)
            for context, app, subject in zip(warm_contexts, apps, who, strict=True)
        ]
    finally:
        for context in warm_contexts:
            context.close()
        for app in apps:
            app.stop()
    out: list[Row] = []
    for subject, cold_done, warm_done in zip(who, cold, warm, strict=True):
        out += login_rows(cold_done, rows, subject.tag, target=subject.floor_tailwind is None)
        out += warm_rows(warm_done, subject.tag)
    floor = statistics.median(r["row"] for r in cold[0])
    for subject, cold_done in zip(who[1:], cold[1:], strict=True):
        ratio = statistics.median(r["row"] for r in cold_done) / floor
        out.append(
            Row(
                f"(d){subject.tag} login click -> first row / NiceGUI floor, medians",
                f"{ratio:.2f}",
                f"<= {TARGET_FLOOR_RATIO}",
                verdict(ratio <= TARGET_FLOOR_RATIO),
            )
        )
    for subject, weight in zip(who, weights, strict=True):
        if weight is not None:
            out += weight_rows(weight, subject.tag, detail=subject.tag == "")
    for rows_of_build in builds:
        out += rows_of_build
    out.append(
        Row("(d) logins that timed out and were done again", str(len(stuck)), "", stuck[0][:90] if stuck else "")
    )
    return out


def weigh_login(browser: Browser, app: App) -> Weight | None:
    """A cold login whose network traffic is weighed (bench/live_weight.py)."""
    weighers: list[Weigher] = []

    def once() -> dict[str, float]:
        weighers.append(Weigher())
        context = measuring_context(browser)
        try:
            return login_once(context, app, weighers[-1].watch, settle_ms=SETTLE_MS)
        finally:
            context.close()

    try:
        marks = retried(once)
    except LoginStuck as exc:
        stuck.append(f"{exc} (not weighed)")
        return None
    return weigh(weighers[-1], marks)


def login_rows(runs: Sequence[dict[str, float]], rows: int, tag: str, *, target: bool = True) -> list[Row]:
    def figure(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} / {percentile(values, 95):.0f} ms"

    total = [r["row"] for r in runs]
    median = statistics.median(total)
    out = [
        Row(
            f"(d){tag} login click -> first row, {rows} open, median (n={len(runs)})",
            f"{median:.0f} ms",
            f"<= {TARGET_LOGIN_MS:.0f} ms" if target else "",
            verdict(median <= TARGET_LOGIN_MS) if target else "",
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
