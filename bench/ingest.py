"""Ingest benchmark: what reading a day of oc4d traffic costs, on two shapes of day.

Run from the repository root::

    .venv/bin/python bench/ingest.py [--entries N] [--seed S] [--repeat R] [--corpus default|dense|both]
                                     [--compare CHECKOUT]

For each corpus (bench/corpora.py: `default`, a record per ~80 entries; `dense`, learners hopping
between modules, a record per ~9 entries), written as a REAL `.journal` file, as short-iso text and
as Combined Log Format, all outside the timing:

(a) one core, messages already in memory: parse only (`classify`) and parse + sessionize
    (`Ingestor.add` over every line, then `close_all`), best of R in CPU time (the process's own, so
    other work on a shared machine does not count); a trivial loop (`"/modules/" in msg` +
    `msg.split()`) is the baseline in the same run, to compare machines.
(b) the command a user types, `python main.py backfill --file F` — start-up, journalctl and the
    default SQLite database included, new or already migrated — against `journalctl --file F -o json
    > /dev/null`: median of R rounds, each round running every variant once, alternating.
(c) `python main.py backfill --input F.txt --format text --no-database` against GoAccess (Debian's
    `goaccess`, when installed) reading the same hits in Combined Log Format into `-o report.json`.

(b) and (c) also print each command's median CPU time (user + system, its children included).

`--compare CHECKOUT` runs another checkout (the code before a change) in the same rounds: its (a)
in a child process on the same messages, its `main.py` in (b) and (c), alternating with this one.

A report, not a test: it prints the figures and PASS/MISS and exits 0 (1 only on a setup failure).
"""

from __future__ import annotations

import argparse
import gc
import json
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
# `--gaze-from CHECKOUT --in-memory MESSAGES R` (how --compare measures another checkout's (a)): that
# checkout's gaze package, imported before anything else imports gaze; bench and tests are this one's
GAZE_FROM = Path(sys.argv[sys.argv.index("--gaze-from") + 1]) if "--gaze-from" in sys.argv[:-1] else REPO
sys.path.insert(0, str(GAZE_FROM))
import gaze  # noqa: E402, F401

sys.path[0] = str(REPO)

from bench.commands import CPU, main_py, session_lines, timed  # noqa: E402
from bench.corpora import DESCRIPTIONS, SHAPES, Corpus, make  # noqa: E402
from gaze import logline  # noqa: E402
from gaze.ingest import Ingestor  # noqa: E402
from gaze.journalctl import JournalEntry  # noqa: E402
from gaze.logline import classify  # noqa: E402
from gaze.sessions import SessionStore  # noqa: E402
from tests import journalkit  # noqa: E402

TARGET_LINES_PER_S = 250_000
TARGET_RATIO = 1.0  # the whole command against journalctl -o json, and against GoAccess

Messages = list[tuple[int, str]]


def _best(runs: int, fn: Callable[[], object]) -> tuple[float, object]:
    """Best CPU time of `runs` calls of fn (GC collected before, disabled during), and fn's last result."""
    best = float("inf")
    result: object = None
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            started = time.process_time()
            result = fn()
            best = min(best, time.process_time() - started)
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


def in_memory(messages: Messages, repeat: int) -> dict[str, float]:
    """(a): seconds of CPU for the baseline, parse only and parse + sessionize; records closed."""
    base_s, _ = _best(repeat, lambda: _baseline(messages))
    parse_s, _ = _best(repeat, lambda: _parse_only(messages))
    ingest_s, ingestor = _best(repeat, lambda: _ingest(messages))
    assert isinstance(ingestor, Ingestor)
    return {"base": base_s, "parse": parse_s, "ingest": ingest_s, "records": ingestor.counters.records}


def _in_memory_of(checkout: Path, messages: Messages, repeat: int, tmp: Path) -> dict[str, float]:
    """(a) of another checkout, in a child process on the same messages."""
    path = tmp / "messages.json"
    path.write_text(json.dumps(messages), encoding="utf-8")
    argv = [sys.executable, __file__, "--gaze-from", str(checkout), "--in-memory", str(path), str(repeat)]
    result: dict[str, float] = json.loads(subprocess.run(argv, capture_output=True, check=True, text=True).stdout)
    return result


def _row(label: str, value: str, note: str = "") -> str:
    return f"  {label:<52} {value:>12}  {note}".rstrip()


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def whole_commands(
    corpus: Corpus, tmp: Path, repeat: int, tools: dict[str, str | None], repos: dict[str, Path]
) -> dict[str, float]:
    """(b) and (c): median wall seconds of each variant over `repeat` rounds, each round running every
    variant once (this checkout's as "new", "existing", "text"; another's prefixed with its label)."""
    ctl, goaccess, journal = tools["journalctl"] or "journalctl", tools["goaccess"], str(corpus.journal)
    runs: dict[str, list[float]] = {}

    def record(key: str, wall: float) -> None:  # wall seconds under `key`, CPU seconds under cpu:`key`
        runs.setdefault(key, []).append(wall)
        runs.setdefault(f"cpu:{key}", []).append(CPU[0])

    for i in range(repeat):
        record("json", timed([ctl, "--file", journal, "-o", "json"]))
        if goaccess is not None:
            report = tmp / f"{corpus.name}-report.json"
            record("goaccess", timed([goaccess, str(corpus.clf), "--log-format=COMBINED", "-o", str(report)]))
        for label, repo in repos.items():
            work = tmp / f"{corpus.name}-{label}"
            template = work / "template" / "data" / "gaze.db"
            if i == 0:  # a database file the service has migrated already
                main_py(repo, work / "template", "users", "list")
            text = ("--input", str(corpus.text), "--format", "text", "--no-database")
            record(f"{label}new", main_py(repo, work / f"new-{i}", "backfill", "--file", journal))
            record(
                f"{label}existing",
                main_py(repo, work / f"existing-{i}", "backfill", "--file", journal, template_db=template),
            )
            record(f"{label}text", main_py(repo, work / f"text-{i}", "backfill", *text))
    return {k: statistics.median(v) for k, v in runs.items()}


def _print_in_memory(
    corpus: Corpus, n: int, repeat: int, now: dict[str, float], before: dict[str, float] | None
) -> None:
    records = int(now["records"])
    print(
        f"\n== corpus {corpus.name} ({DESCRIPTIONS[corpus.name]}): {n:,} entries, {records:,} records "
        f"(one per {n / max(records, 1):.1f} entries), {corpus.hits:,} access hits"
    )
    print(f"{'(a) in memory, one core, best of ' + str(repeat) + ' in CPU time':<55}{'lines/s':>12}")
    print(_row("baseline: '/modules/' in msg + msg.split()", f"{n / now['base']:,.0f}"))
    for key, label in (
        ("parse", "parse only: classify(msg)"),
        ("ingest", "parse + sessionize: Ingestor.add + close_all"),
    ):
        print(_row(label, f"{n / now[key]:,.0f}", f"{now['base'] / now[key]:.3f}x baseline"))
        if before is not None:
            print(_row("  before (--compare)", f"{n / before[key]:,.0f}", f"{before[key] / now[key]:.2f}x faster now"))


def run_corpus(corpus: Corpus, tmp: Path, repeat: int, tools: dict[str, str | None], compare: Path | None) -> list[str]:
    """Print one corpus's figures; return its target lines."""
    messages: Messages = [(line.time_ms, line.message) for line in corpus.lines]
    n = len(messages)
    now = in_memory(messages, repeat)
    before = None if compare is None else _in_memory_of(compare, messages, repeat, tmp)
    _print_in_memory(corpus, n, repeat, now, before)
    repos = {"": REPO} | ({} if compare is None else {"before ": compare})
    med = whole_commands(corpus, tmp, repeat, tools, repos)
    records, rate = int(now["records"]), n / now["ingest"]
    print(f"{'(b) the whole command, median of ' + str(repeat) + ' alternating rounds':<55}{'wall s':>12}")
    print(
        _row("journalctl --file F -o json > /dev/null", f"{med['json']:.3f}", f"reference, cpu {med['cpu:json']:.2f} s")
    )
    for label in repos:
        for key, what in (("new", "new SQLite database"), ("existing", "database exists")):
            value = med[label + key]
            cpu = med[f"cpu:{label}{key}"]
            print(
                _row(
                    f"{label}main.py backfill --file F ({what})",
                    f"{value:.3f}",
                    f"{value / med['json']:.2f}x, cpu {cpu:.2f} s",
                )
            )
    written = session_lines(tmp / f"{corpus.name}-" / "new-0" / "logs")
    same = "same" if written == records else "DIFFERENT"
    print(_row("  session lines written / records in memory", f"{written:,} / {records:,}", same))
    new_ratio, existing_ratio = med["new"] / med["json"], med["existing"] / med["json"]
    lines = [
        f"  {corpus.name}: (a) parse+sessionize >= {TARGET_LINES_PER_S:,} lines/s: {rate:,.0f} -> "
        f"{_verdict(rate >= TARGET_LINES_PER_S)}",
        f"  {corpus.name}: (b) main.py backfill --file (new db) / journalctl -o json <= {TARGET_RATIO}: "
        f"{new_ratio:.2f} ({med['new']:.3f} s / {med['json']:.3f} s; database exists {existing_ratio:.2f}) -> "
        f"{_verdict(new_ratio <= TARGET_RATIO)}",
    ]
    print(f"{'(c) text input against GoAccess, median of ' + str(repeat):<55}{'wall s':>12}")
    reference = med.get("goaccess")
    if reference is not None:
        cpu = med["cpu:goaccess"]
        print(
            _row(
                "goaccess F.clf --log-format=COMBINED -o report.json", f"{reference:.3f}", f"reference, cpu {cpu:.2f} s"
            )
        )
    for label in repos:
        value = med[label + "text"]
        note = f"{value / reference:.2f}x" if reference else "GoAccess not installed (apt-get install goaccess)"
        note += f", cpu {med['cpu:' + label + 'text']:.2f} s"
        print(_row(f"{label}main.py backfill --input F.txt --format text --no-db", f"{value:.3f}", note))
    if reference is not None:
        ratio = med["text"] / reference
        lines.append(
            f"  {corpus.name}: (c) main.py backfill --format text / GoAccess <= {TARGET_RATIO}: {ratio:.2f} "
            f"({med['text']:.3f} s / {reference:.3f} s) -> {_verdict(ratio <= TARGET_RATIO)}"
        )
    text_written = session_lines(tmp / f"{corpus.name}-" / "text-0" / "logs")
    same = "same" if text_written == records else "DIFFERENT"
    print(_row("  session lines written (text input)", f"{text_written:,}", same))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=80_000, help="journal entries in each synthetic day")
    parser.add_argument("--seed", type=int, default=0, help="Classroom seed")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (best of for (a), median for (b) and (c))")
    parser.add_argument("--corpus", choices=(*SHAPES, "both"), default="both")
    parser.add_argument("--compare", type=Path, help="another checkout (the code before), run in the same rounds")
    parser.add_argument("--gaze-from", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--in-memory", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_memory:  # the child of --compare: (a) on the messages of a file, as JSON
        messages = [(int(t), str(m)) for t, m in json.loads(Path(args.in_memory[0]).read_text(encoding="utf-8"))]
        print(json.dumps(in_memory(messages, int(args.in_memory[1]))))
        return 0
    if args.entries < 1 or args.repeat < 1:
        parser.error("--entries and --repeat must be >= 1")
    if not journalkit.available():
        print("bench/ingest.py: systemd-journal-remote or journalctl not installed", file=sys.stderr)
        return 1
    tools = {"journalctl": journalkit.journalctl() or "journalctl", "goaccess": shutil.which("goaccess")}
    print(f"Module Gaze ingest benchmark — entries={args.entries:,} seed={args.seed} repeat={args.repeat}")
    print(
        f"  python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.2f}, {tools['journalctl']}, goaccess {tools['goaccess'] or 'not installed'}"
        + (f", compared with {args.compare}" if args.compare else "")
    )
    names = list(SHAPES) if args.corpus == "both" else [args.corpus]
    targets: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gaze-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for name in names:
            corpus = make(name, args.entries, args.seed, tmp / "corpora", tools["journalctl"] or "journalctl")
            targets += run_corpus(corpus, tmp, args.repeat, tools, args.compare)
    print(f"\nTargets (load now {os.getloadavg()[0]:.2f})")
    print("\n".join(targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
