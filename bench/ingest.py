"""Ingest benchmark: what reading a day of oc4d traffic costs, on two shapes of day.

Run from the repository root::

    .venv/bin/python bench/ingest.py [--entries N] [--seed S] [--repeat R] [--corpus default|dense|both]

For each corpus (bench/corpora.py: `default`, a record per ~80 entries; `dense`, learners hopping
between modules, a record per ~9 entries), written as a REAL `.journal` file, as short-iso text and
as Combined Log Format, all outside the timing:

(a) one core, messages already in memory: parse only (`classify`) and parse + sessionize
    (`Ingestor.add` over every line, then `close_all`), best of R; a trivial loop (`"/modules/" in
    msg` + `msg.split()`) is the baseline in the same run, to compare machines.
(b) the command a user types, `python main.py backfill --file F` — start-up, journalctl and the
    default SQLite database included, new or already migrated — against `journalctl --file F -o json
    > /dev/null`: median of R rounds, each round running every variant once, alternating.
(c) `python main.py backfill --input F.txt --format text --no-database` against GoAccess (Debian's
    `goaccess`, when installed) reading the same hits in Combined Log Format into `-o report.json`.

A report, not a test: it prints the figures and PASS/MISS and exits 0 (1 only on a setup failure).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.corpora import DESCRIPTIONS, SHAPES, UNIT, Corpus, make  # noqa: E402
from gaze import logline  # noqa: E402
from gaze.ingest import Ingestor  # noqa: E402
from gaze.journalctl import JournalEntry  # noqa: E402
from gaze.logline import classify  # noqa: E402
from gaze.logs import SESSIONS_STEM  # noqa: E402
from gaze.sessions import SessionStore  # noqa: E402
from tests import journalkit  # noqa: E402

TARGET_LINES_PER_S = 250_000
TARGET_RATIO = 1.0  # the whole command against journalctl -o json, and against GoAccess

Messages = list[tuple[int, str]]


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
            best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
    return best, result


def _baseline(messages: Messages) -> int:
    n = 0
    for _, msg in messages:
        if "/modules/" in msg:
            n += len(msg.split())
    return n


def _parse_only(messages: Messages) -> int:
    logline._target.cache_clear()  # cold, as a fresh backfill process is
    return sum(1 for _, msg in messages if not isinstance(classify(msg), str))


def _ingest(messages: Messages) -> Ingestor:
    logline._target.cache_clear()
    store = SessionStore()
    ingestor = Ingestor(store)
    add = ingestor.add
    for time_ms, msg in messages:
        add(JournalEntry(None, time_ms * 1000, msg))
    store.close_all()
    return ingestor


def _timed(argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return elapsed


def _main_py(work: Path, *args: str, template_db: Path | None = None) -> float:
    """`python main.py ARGS` as a user runs it: a new process, its own data and log folders (the
    default SQLite database a copy of `template_db`, already migrated, or none yet)."""
    data = work / "data"
    data.mkdir(parents=True)
    if template_db is not None:
        shutil.copy(template_db, data / "gaze.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULEGAZE_", "MODULEFETCH_"))}
    env.update(MODULEGAZE_DATA_DIR=str(data), MODULEFETCH_LOG_DIR=str(work / "logs"), MODULEGAZE_JOURNAL_UNIT=UNIT)
    return _timed([sys.executable, str(REPO / "main.py"), *args], cwd=work, env=env)


def _migrated_db(work: Path) -> Path:
    """A database file migrated to the newest schema (as on a Pi where the service has run)."""
    _main_py(work, "users", "list")
    return work / "data" / "gaze.db"


def _session_lines(log_dir: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in log_dir.glob(f"{SESSIONS_STEM}*.log"))


def _row(label: str, value: str, note: str = "") -> str:
    return f"  {label:<52} {value:>12}  {note}".rstrip()


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def run_corpus(corpus: Corpus, tmp: Path, repeat: int, ctl: str, goaccess: str | None) -> list[str]:
    """Print one corpus's figures; return its target lines."""
    messages: Messages = [(line.time_ms, line.message) for line in corpus.lines]
    n = len(messages)

    base_s, _ = _best(repeat, lambda: _baseline(messages))
    parse_s, _ = _best(repeat, lambda: _parse_only(messages))
    ingest_s, ingestor = _best(repeat, lambda: _ingest(messages))
    assert isinstance(ingestor, Ingestor)
    records = ingestor.counters.records
    print(
        f"\n== corpus {corpus.name} ({DESCRIPTIONS[corpus.name]}): {n:,} entries, {records:,} records "
        f"(one per {n / max(records, 1):.1f} entries), {corpus.hits:,} access hits"
    )
    print(f"{'(a) in memory, one core, best of ' + str(repeat):<55}{'lines/s':>12}")
    rate = n / ingest_s
    print(_row("baseline: '/modules/' in msg + msg.split()", f"{n / base_s:,.0f}"))
    print(_row("parse only: classify(msg)", f"{n / parse_s:,.0f}", f"{base_s / parse_s:.3f}x baseline"))
    print(_row("parse + sessionize: Ingestor.add + close_all", f"{rate:,.0f}", f"{base_s / ingest_s:.3f}x baseline"))

    template = _migrated_db(tmp / f"{corpus.name}-template")
    runs: dict[str, list[float]] = {k: [] for k in ("json", "new", "existing", "goaccess", "text")}
    journal = str(corpus.journal)
    for i in range(repeat):  # each round runs every variant once, alternating
        runs["json"].append(_timed([ctl, "--file", journal, "-o", "json"]))
        runs["new"].append(_main_py(tmp / f"{corpus.name}-new-{i}", "backfill", "--file", journal))
        runs["existing"].append(
            _main_py(tmp / f"{corpus.name}-existing-{i}", "backfill", "--file", journal, template_db=template)
        )
        if goaccess is not None:
            report = tmp / f"{corpus.name}-report.json"
            runs["goaccess"].append(_timed([goaccess, str(corpus.clf), "--log-format=COMBINED", "-o", str(report)]))
        runs["text"].append(
            _main_py(
                tmp / f"{corpus.name}-text-{i}",
                "backfill",
                "--input",
                str(corpus.text),
                "--format",
                "text",
                "--no-database",
            )
        )
    med = {k: statistics.median(v) for k, v in runs.items() if v}
    written = _session_lines(tmp / f"{corpus.name}-new-0" / "logs")
    text_written = _session_lines(tmp / f"{corpus.name}-text-0" / "logs")
    new_ratio, existing_ratio = med["new"] / med["json"], med["existing"] / med["json"]
    print(f"{'(b) the whole command, median of ' + str(repeat) + ' alternating rounds':<55}{'wall s':>12}")
    print(_row("journalctl --file F -o json > /dev/null", f"{med['json']:.3f}", "reference"))
    print(_row("main.py backfill --file F (new SQLite database)", f"{med['new']:.3f}", f"{new_ratio:.2f}x"))
    print(_row("main.py backfill --file F (database exists)", f"{med['existing']:.3f}", f"{existing_ratio:.2f}x"))
    print(
        _row(
            "  session lines written / records in memory",
            f"{written:,} / {records:,}",
            "same" if written == records else "DIFFERENT",
        )
    )
    lines = [
        f"  {corpus.name}: (a) parse+sessionize >= {TARGET_LINES_PER_S:,} lines/s: {rate:,.0f} -> "
        f"{_verdict(rate >= TARGET_LINES_PER_S)}",
        f"  {corpus.name}: (b) main.py backfill --file (new db) / journalctl -o json <= {TARGET_RATIO}: "
        f"{new_ratio:.2f} ({med['new']:.3f} s / {med['json']:.3f} s; database exists {existing_ratio:.2f}) -> "
        f"{_verdict(new_ratio <= TARGET_RATIO)}",
    ]
    print(f"{'(c) text input against GoAccess, median of ' + str(repeat):<55}{'wall s':>12}")
    if "goaccess" in med:
        text_ratio = med["text"] / med["goaccess"]
        print(_row("goaccess F.clf --log-format=COMBINED -o report.json", f"{med['goaccess']:.3f}", "reference"))
        print(_row("main.py backfill --input F.txt --format text --no-db", f"{med['text']:.3f}", f"{text_ratio:.2f}x"))
        lines.append(
            f"  {corpus.name}: (c) main.py backfill --format text / GoAccess <= {TARGET_RATIO}: {text_ratio:.2f} "
            f"({med['text']:.3f} s / {med['goaccess']:.3f} s) -> {_verdict(text_ratio <= TARGET_RATIO)}"
        )
    else:
        print(
            _row(
                "main.py backfill --input F.txt --format text --no-db",
                f"{med['text']:.3f}",
                "GoAccess not installed (apt-get install goaccess): no ratio",
            )
        )
    print(
        _row(
            "  session lines written (text input)",
            f"{text_written:,}",
            "same" if text_written == records else "DIFFERENT",
        )
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=80_000, help="journal entries in each synthetic day")
    parser.add_argument("--seed", type=int, default=0, help="Classroom seed")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (best of for (a), median for (b) and (c))")
    parser.add_argument("--corpus", choices=(*SHAPES, "both"), default="both")
    args = parser.parse_args(argv)
    if args.entries < 1 or args.repeat < 1:
        parser.error("--entries and --repeat must be >= 1")
    if not journalkit.available():
        print("bench/ingest.py: systemd-journal-remote or journalctl not installed", file=sys.stderr)
        return 1
    ctl = journalkit.journalctl() or "journalctl"
    goaccess = shutil.which("goaccess")
    print(f"Module Gaze ingest benchmark — entries={args.entries:,} seed={args.seed} repeat={args.repeat}")
    print(
        f"  python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}, {ctl}, goaccess {goaccess or 'not installed'}"
    )
    names = list(SHAPES) if args.corpus == "both" else [args.corpus]
    targets: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gaze-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for name in names:
            corpus = make(name, args.entries, args.seed, tmp / "corpora", ctl)
            targets += run_corpus(corpus, tmp, args.repeat, ctl, goaccess)
    print("\nTargets")
    print("\n".join(targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
