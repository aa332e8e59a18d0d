"""Smoke test of the benchmarks in bench/: each script runs as a subprocess at its smallest sensible
size and must exit 0 having printed its figures. The figures themselves are not judged (a loaded
machine may MISS a target at this size); that the script still runs against the current code is.

Scripts that need journal tools, moto or Chromium skip without them (fail under
MODULEGAZE_REQUIRE_SERVICES=1, as every other test does). What the small runs leave out:
bench/uplink.py's part on the running app (--no-app), and of bench/live.py only parts (c) wire and
(d) login run — (d) is bench/live_login.py, with bench/livebench.py under both.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests import journalkit
from tests.browserkit import chromium_available, playwright_available
from tests.conftest import ROOT, foreign_environ, pg_admin, require
from tests.s3kit import require_moto

pytestmark = pytest.mark.slow

TIMEOUT_S = 120


def journal_tools() -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")


def journal_tools_and_postgres() -> None:
    journal_tools()
    pg_admin().close()


def browser_tools() -> None:
    require(chromium_available(), "/usr/bin/chromium")
    require(playwright_available(), "playwright (python)")
    journal_tools()


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    figures: tuple[str, ...]  # patterns the output must match, one a figure (or its verdict)
    needs: Callable[[], None] = lambda: None
    same: tuple[str, ...] = ()  # named groups of `figures` that must have one value
    browser: bool = False


CASES = {
    "logged_keys": Case(
        ("bench/logged_keys.py", "--records", "200", "--per-day", "100"),
        (r"read and keyed: +[\d.]+ s \([\d,]+ lines/s\)", r"peak RSS grew: +\d+ MiB"),
    ),
    "history": Case(
        ("bench/history.py", "--records", "500", "--repeat", "1"),
        (r"Last 7 days .* (PASS|MISS)", r"This year .* (PASS|MISS)", r"SQLite, each query ≤ 200 ms: (PASS|MISS)"),
    ),
    "ingest": Case(
        ("bench/ingest.py", "--entries", "300", "--repeat", "1"),
        (
            r"parse \+ sessionize: Ingestor.add \+ close_all +[\d,]+",
            r"main.py backfill --file F \(new SQLite database\) +[\d.]+ +[\d.]+x",
            r"session lines written / records in memory +[\d,]+ / [\d,]+ +same",
            r"default: \(a\) parse\+sessionize .* -> (PASS|MISS)",
            r"dense: \(a\) parse\+sessionize .* -> (PASS|MISS)",
            r"dense: \(b\) main.py backfill --file .* -> (PASS|MISS)",
        ),
        journal_tools,
    ),
    "uplink": Case(
        ("bench/uplink.py", "--records", "30", "--batch-records", "10", "--no-app"),
        (
            r"gaze.uplink \(SigV4 over http.client\): 3 objects, 30 records, (?P<ours>[\d,]+) bytes",
            r"baseline: boto3 put_object: 3 objects, 30 records, (?P<boto3>[\d,]+) bytes",
            r"rows read back equal the records: yes",
            r"(PASS|MISS): RSS added -?[\d.]+ MB",
        ),
        require_moto,
        same=("ours", "boto3"),  # boto3's objects are formed by the uplink's rule: the same bytes
    ),
    "poison": Case(
        ("bench/poison.py", "--good", "300", "--poison", "200"),
        (
            r"poisoned +[\d.]+ +[\d.]+ +\d+ +[\d.]+ +[\d,]+ +[\d,]+  yes",
            r"target: poisoned <= 10 x clean: [\d.]+ x -> (PASS|MISS)",
            r"poisoned / clean with as many lines: [\d.]+ x -> (PASS|MISS)",
        ),
        journal_tools_and_postgres,
    ),
    "catchup": Case(
        ("bench/catchup.py", "--entries", "300", "--repeat", "1", "--corpus", "dense"),
        (
            r"  catch-up +[\d.]+ +[\d.]+ +[\d,]+ +\d+ +(\d+|-)  [\d,]+",  # p95: - when read before /healthz answered
            r"catch-up / backfill: [\d.]+ \(cpu [\d.]+\) <= 1.5: (PASS|MISS); same records: yes",
        ),
        journal_tools,
    ),
    "cookieless": Case(
        (
            "bench/cookieless.py",
            "--requests",
            "100",
            "--rounds",
            "1",
            "--pages",
            "50",
            "--page-rounds",
            "1",
            "--idle",
            "0",
        ),
        (
            r"round 1: 100 requests in .* responses with a cookie: \d+",
            r"(PASS|MISS): worst round",
            r"pages round 1: 50 page loads in .* RSS [+-]\d+ KiB",
            r"(PASS|MISS): 50 anonymous page loads grew RSS",
        ),
        journal_tools,
    ),
    "live wire": Case(
        ("bench/live.py", "--only", "wire", "--wire-rows", "3", "--wire-seconds", "2"),
        (
            r"\(c\) websocket to an idle board, 3 ticking rows +[\d.]+ KB/s .* (PASS|MISS)",
            r"\(c\) per open board per day",
        ),
        browser_tools,
        browser=True,
    ),
    "live login": Case(
        ("bench/live.py", "--only", "login", "--login-rows", "2", "--logins", "1"),
        (
            r"\(d\) login click -> first row, 2 open, median \(n=1\) +\d+ ms .* (PASS|MISS)",
            r"\(d\) login click -> first row, p95",
            r"\(d\) \[NiceGUI floor\] login click -> first row, 2 open, median \(n=1\) +\d+ ms",
            r"\(d\) login click -> first row / NiceGUI floor, medians +[\d.]+ +<= 1.3 +(PASS|MISS)",
            r"\(d\) cold page weight, login click -> first row \(as sent\) +[\d.]+ KB +\d+ requests",
            r"\(d\)   click->row +Document +/ +[\d.]+ KB +gzip",
        ),
        browser_tools,
        browser=True,
    ),
}


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=[pytest.mark.browser] if case.browser else []) for name, case in CASES.items()]
)
def test_bench_runs(name: str) -> None:
    case = CASES[name]
    case.needs()
    done = subprocess.run(
        [sys.executable, *case.args],
        cwd=ROOT,
        env=foreign_environ(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    command = " ".join(case.args)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}"
    groups: dict[str, str] = {}
    for pattern in case.figures:
        found = re.search(pattern, done.stdout)
        assert found is not None, f"{command}: no {pattern!r} in\n{done.stdout[-3000:]}"
        groups.update(found.groupdict())
    assert len({groups[name] for name in case.same}) <= 1, f"{command}: {case.same} differ: {groups}"
