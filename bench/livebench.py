"""Shared bits of the live-board benchmark (bench/live.py): the report table, percentiles, the
test centre's catalog and devices, logging a dashboard in, and the app's figures from /proc."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.browserkit import App, log_in, viewport  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CLK_TCK = os.sysconf("SC_CLK_TCK")
VIEWPORT = viewport((1280, 900))
CATALOG = {
    "cdn_math": "Mathematics (CDN)",
    "cdn_geo": "Geography of West Africa",
    "cdn_verbs": "English Verbs",
    "cdn_algebra": "Algebra Basics",
    "health-first-aid": "First Aid Basics",
    "en-ebooks": "English eBooks Library",
    "BookBridge": "BookBridge",
    "2048": "2048 Number Game",
}
MODULES = list(CATALOG)  # the slugs, in that order


@dataclass
class Row:
    figure: str
    value: str
    target: str = ""
    result: str = ""


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_table(rows: Sequence[Row]) -> None:
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("figure", "value", "target")]
    header = Row("figure", "value", "target", "result")
    for row in [header, *rows]:
        print(f"{row.figure:<{widths[0]}}  {row.value:>{widths[1]}}  {row.target:<{widths[2]}}  {row.result}")


def open_dashboard(browser: Browser, app: App) -> Page:
    """A fresh browser context that logs in as the app's admin and waits for the board."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(20_000)
    log_in(page, app)
    page.get_by_text("Live sessions", exact=True).wait_for()
    return page


def more_text(hidden: int) -> str:
    return f"{hidden} more open sessions, shorter than those shown"


def ip_of(n: int) -> str:
    return f"10.{100 + n // 250}.{n % 250 + 1}.{7 + n % 3}"


def wait_lines(app: App, count: int, timeout: float = 60.0) -> None:
    """Until /healthz says the reader has taken ``count`` lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, body = app.health()
        if int(body.get("reader", {}).get("lines") or 0) >= count:
            return
        time.sleep(0.05)
    raise RuntimeError(f"the app did not read {count} lines in {timeout}s")


def child_ticks(pid: int) -> int:
    """utime+stime of the app's direct children (its journalctl)."""
    total = 0
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0
    for kid in kids:
        try:
            stat = Path(f"/proc/{kid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)


def cpu_pct(ticks: int, seconds: float) -> float:
    return 100.0 * ticks / CLK_TCK / seconds
