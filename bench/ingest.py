"""Ingest benchmark: parse+sessionize throughput (a) and backfill-vs-journalctl wall time (b).

Run from the repository root::

    .venv/bin/python bench/ingest.py [--entries N] [--seed S] [--repeat R]

1. A seeded synthetic day of oc4d traffic (``Classroom(seed).day(N)``) is written as a REAL
   ``.journal`` file in a temporary directory (``tests.journalkit``: systemd-journal-remote).
2. (a) One core, messages already in memory: ``Ingestor.add(JournalEntry(None, realtime_us, msg))``
   over every line with a fresh ``SessionStore`` and a final ``store.close_all()``; best of R runs.
   Also parse-only (``classify``) and a baseline loop (``"/modules/" in msg`` + ``msg.split()``)
   measured in the same run, so the figures can be compared across machines.
3. (b) ``run_backfill`` reading the journal file through ``journalctl`` (our exact arguments),
   and (c) the whole command a user types, ``python main.py backfill --file F`` (start-up, the
   default SQLite database — already migrated, and new — included),
   divided by the wall time of plain ``journalctl --file F -o json > /dev/null``; extra baselines:
   ``-o json --all`` and our exact ``JournalSource.args(follow=False)``. Best of R each, the
   variants interleaved within each round so machine noise hits them alike.

It is a report, not a test: it prints the figures and PASS/MISS for the three targets and exits 0
(exit 1 only on a setup failure, e.g. no journal tools or a crash).
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from gaze import logline  # noqa: E402
from gaze.backfill import BackfillOptions, Summary, run_backfill  # noqa: E402
from gaze.journal import JournalEntry, JournalSource  # noqa: E402
from gaze.logformat import SESSIONS_STEM  # noqa: E402
from gaze.logline import classify  # noqa: E402
from gaze.pipeline import Ingestor  # noqa: E402
from gaze.sessions import SessionStore  # noqa: E402
from gaze.traffic import Classroom, Line  # noqa: E402
from tests import journalkit  # noqa: E402

TARGET_LINES_PER_S = 200_000
TARGET_RATIO = 1.2
UNIT = "oc4d.service"

Messages = list[tuple[int, str]]


# ---------------------------------------------------------------- helpers


def _best(runs: int, fn: Callable[[], object]) -> tuple[float, object]:
    """Best wall time of `runs` calls of fn (GC collected before, disabled during), and fn's last result."""
    best = float("inf")
    result: object = None
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - started
        finally:
            gc.enable()
        best = min(best, elapsed)
    return best, result


def _clear_parse_cache() -> None:
    """Start every timed parse run cold, as a fresh backfill process would (the path cache is lru_cache)."""
    target = getattr(logline, "_target", None)
    cache_clear = getattr(target, "cache_clear", None)
    if callable(cache_clear):
        cache_clear()


def _run_to_devnull(argv: Sequence[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return elapsed


def _record_files(log_dir: Path) -> list[Path]:
    return sorted(p for p in log_dir.iterdir() if p.name.startswith(SESSIONS_STEM))


# ---------------------------------------------------------------- (a) in memory


def _baseline(messages: Messages) -> int:
    n = 0
    for _, msg in messages:
        if "/modules/" in msg:
            n += len(msg.split())
    return n


def _parse_only(messages: Messages) -> int:
    _clear_parse_cache()
    hits = 0
    for _, msg in messages:
        if not isinstance(classify(msg), str):
            hits += 1
    return hits


def _ingest(messages: Messages) -> Ingestor:
    _clear_parse_cache()
    store = SessionStore()
    ingestor = Ingestor(store)
    add = ingestor.add
    for time_ms, msg in messages:
        add(JournalEntry(None, time_ms * 1000, msg))
    store.close_all()
    return ingestor


# ---------------------------------------------------------------- (b) journal file


def _backfill(journal: Path, log_dir: Path) -> tuple[float, Summary]:
    source = JournalSource(unit=UNIT, file=journal)
    options = BackfillOptions(log_dir=log_dir, input=None, source=source)
    started = time.perf_counter()
    summary = run_backfill(options, None, stderr=io.StringIO())
    return time.perf_counter() - started, summary


def _whole_command(journal: Path, work: Path, template_db: Path | None) -> float:
    """`python main.py backfill --file F` as a user runs it: a new process, the default SQLite
    database under MODULEGAZE_DATA_DIR (a copy of `template_db`, already migrated, or none yet)."""
    data = work / "data"
    data.mkdir(parents=True)
    if template_db is not None:
        shutil.copy(template_db, data / "gaze.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULEGAZE_", "MODULEFETCH_"))}
    env.update(MODULEGAZE_DATA_DIR=str(data), MODULEFETCH_LOG_DIR=str(work / "logs"), MODULEGAZE_JOURNAL_UNIT=UNIT)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "backfill", "--file", str(journal)],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"main.py backfill exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return elapsed


def _migrated_db(work: Path) -> Path:
    """A database file migrated to the newest schema (as on a Pi where the service has run)."""
    work.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULEGAZE_", "MODULEFETCH_"))}
    env.update(MODULEGAZE_DATA_DIR=str(work), MODULEFETCH_LOG_DIR=str(work / "logs"))
    subprocess.run(
        [sys.executable, str(REPO / "main.py"), "users", "list"], cwd=work, env=env, check=True, capture_output=True
    )
    return work / "gaze.db"


# ---------------------------------------------------------------- report


def _row(label: str, value: str, note: str = "") -> str:
    return f"  {label:<44} {value:>16}  {note}".rstrip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=80_000, help="journal entries in the synthetic day")
    parser.add_argument("--seed", type=int, default=0, help="Classroom seed")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is kept)")
    args = parser.parse_args(argv)
    if args.entries < 1 or args.repeat < 1:
        parser.error("--entries and --repeat must be >= 1")
    repeat: int = args.repeat

    if not journalkit.available():
        print("bench/ingest.py: systemd-journal-remote or journalctl not installed", file=sys.stderr)
        return 1
    ctl = journalkit.journalctl() or "journalctl"

    print(f"Module Gaze ingest benchmark — entries={args.entries:,} seed={args.seed} repeat={repeat} (best of)")
    print(
        f"  python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {ctl}"
    )

    with tempfile.TemporaryDirectory(prefix="gaze-bench-") as tmp_name:
        tmp = Path(tmp_name)

        # 1. synthetic day → real journal file
        started = time.perf_counter()
        day: list[Line] = list(Classroom(args.seed).day(args.entries))
        gen_s = time.perf_counter() - started
        messages: Messages = [(line.time_ms, line.message) for line in day]
        journal = tmp / "oc4d.journal"
        started = time.perf_counter()
        journalkit.write_journal(journal, journalkit.entries_from_lines(day, unit=UNIT))
        write_s = time.perf_counter() - started
        n = len(messages)
        span_min = (messages[-1][0] - messages[0][0]) / 60_000
        module_lines = sum(1 for _, m in messages if "/modules/" in m)

        # 2. (a) in-memory throughput, one core
        base_s, _ = _best(repeat, lambda: _baseline(messages))
        parse_s, parse_hits = _best(repeat, lambda: _parse_only(messages))
        ingest_s, ingestor_obj = _best(repeat, lambda: _ingest(messages))
        assert isinstance(ingestor_obj, Ingestor)
        counters = ingestor_obj.counters
        ingest_rate = n / ingest_s
        parse_rate = n / parse_s
        base_rate = n / base_s

        # 3. (b) backfill vs journalctl, interleaved rounds
        plain = [ctl, "--file", str(journal), "-o", "json"]
        plain_all = [*plain, "--all"]
        ours = JournalSource(unit=UNIT, file=journal, journalctl=ctl).args(follow=False)
        times: dict[str, float] = {k: float("inf") for k in ("plain", "all", "ours", "bf", "cmd-new", "cmd-existing")}
        template = _migrated_db(tmp / "template")
        summary: Summary | None = None
        log_dir = tmp
        for i in range(repeat):
            times["plain"] = min(times["plain"], _run_to_devnull(plain))
            times["all"] = min(times["all"], _run_to_devnull(plain_all))
            times["ours"] = min(times["ours"], _run_to_devnull(ours))
            log_dir = tmp / f"logs-{i}"
            log_dir.mkdir()
            gc.collect()
            elapsed, summary = _backfill(journal, log_dir)
            times["bf"] = min(times["bf"], elapsed)
            times["cmd-new"] = min(times["cmd-new"], _whole_command(journal, tmp / f"new-{i}", None))
            times["cmd-existing"] = min(times["cmd-existing"], _whole_command(journal, tmp / f"existing-{i}", template))
        assert summary is not None
        ratio = times["bf"] / times["plain"]
        files = _record_files(log_dir)
        file_bytes = sum(p.stat().st_size for p in files)
        plain_log = log_dir / f"{SESSIONS_STEM}.log"
        plain_lines = plain_log.read_bytes().count(b"\n") if plain_log.exists() else 0

    ok_a = ingest_rate >= TARGET_LINES_PER_S
    ok_b = ratio <= TARGET_RATIO
    cmd_ratio = times["cmd-existing"] / times["plain"]
    new_ratio = times["cmd-new"] / times["plain"]
    ok_c = cmd_ratio <= TARGET_RATIO
    same_records = summary.records == counters.records

    print()
    print("Input")
    print(_row("journal entries (synthetic day)", f"{n:,}", f"{span_min:,.0f} min of traffic"))
    print(_row("lines containing /modules/", f"{module_lines:,}", f"{module_lines / n:.0%}"))
    print(_row("generate day / write .journal", f"{gen_s:.2f} s / {write_s:.2f} s"))
    print()
    print(f"{'(a) in memory, one core':<47}{'lines/s':>16}")
    print(_row("baseline: '/modules/' in msg + msg.split()", f"{base_rate:,.0f}", f"{base_s * 1000:.1f} ms"))
    print(
        _row(
            "parse only: classify(msg)",
            f"{parse_rate:,.0f}",
            f"{parse_s * 1000:.1f} ms, {parse_rate / base_rate:.3f}x baseline, {parse_hits:,} hits",
        )
    )
    print(
        _row(
            "parse + sessionize: Ingestor.add + close_all",
            f"{ingest_rate:,.0f}",
            f"{ingest_s * 1000:.1f} ms, {ingest_rate / base_rate:.3f}x baseline",
        )
    )
    print(_row("  hits / records", f"{counters.hits:,} / {counters.records:,}"))
    ignored = ", ".join(f"{k} {v:,}" for k, v in sorted(counters.ignored.items()))
    print(_row("  ignored", f"{sum(counters.ignored.values()):,}", ignored))
    print()
    print(f"{'(b) reading the journal file':<47}{'wall s':>16}")
    print(_row("journalctl --file F -o json > /dev/null", f"{times['plain']:.3f}", "reference (1.00)"))
    print(
        _row(
            "journalctl --file F -o json --all > /dev/null",
            f"{times['all']:.3f}",
            f"{times['all'] / times['plain']:.2f}x",
        )
    )
    print(
        _row(
            "JournalSource.args(follow=False) > /dev/null",
            f"{times['ours']:.3f}",
            f"{times['ours'] / times['plain']:.2f}x",
        )
    )
    print(
        _row(
            "run_backfill (engine=None)",
            f"{times['bf']:.3f}",
            f"{ratio:.2f}x, {summary.entries / times['bf']:,.0f} entries/s",
        )
    )
    print(
        _row(
            "main.py backfill --file F (database exists)",
            f"{times['cmd-existing']:.3f}",
            f"{cmd_ratio:.2f}x: the whole command, start-up and SQLite included",
        )
    )
    print(
        _row(
            "main.py backfill --file F (first run, new db)",
            f"{times['cmd-new']:.3f}",
            f"{new_ratio:.2f}x: creating and migrating the database too",
        )
    )
    print("    ours = " + " ".join(ours))
    print(_row("  entries / hits / records", f"{summary.entries:,} / {summary.hits:,} / {summary.records:,}"))
    print(
        _row(
            "  record file(s)",
            f"{file_bytes:,} B",
            f"{', '.join(p.name for p in files) or 'none'}; {plain_lines:,} lines in the plain file",
        )
    )
    print(_row("  record file non-empty", "yes" if file_bytes > 0 else "NO"))
    print(
        _row(
            "  records match (a)",
            "yes" if same_records else "NO",
            f"(a) {counters.records:,} vs (b) {summary.records:,}",
        )
    )
    print()
    print("Targets")
    print(
        f"  (a) parse+sessionize >= {TARGET_LINES_PER_S:,} lines/s: {ingest_rate:,.0f} lines/s"
        f"  -> {'PASS' if ok_a else 'MISS'}"
    )
    print(
        f"  (b) backfill / journalctl -o json <= {TARGET_RATIO}: {ratio:.2f}"
        f"  ({times['bf']:.3f} s / {times['plain']:.3f} s)  -> {'PASS' if ok_b else 'MISS'}"
    )
    print(
        f"  (c) main.py backfill (whole command, SQLite) / journalctl -o json <= {TARGET_RATIO}: {cmd_ratio:.2f}"
        f"  ({times['cmd-existing']:.3f} s / {times['plain']:.3f} s; first run {new_ratio:.2f})"
        f"  -> {'PASS' if ok_c else 'MISS'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
