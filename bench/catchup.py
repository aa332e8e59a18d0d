"""Live catch-up benchmark (issue 21): the dashboard started on a big journal directory with
JOURNAL_SINCE=all, against `main.py backfill` of the same directory.

Run from the repository root::

    .venv/bin/python bench/catchup.py [--entries 500000] [--corpus default|dense|both] [--repeat R]
                                      [--compare CHECKOUT] [--timeout S]

For each corpus (bench/corpora.py's shapes: `default`, long visits; `dense`, short visits hopping
between modules) a journal DIRECTORY is written with systemd-journal-remote (tests/journalkit) —
`--entries` lines of a classroom day and one lone hit two hours later that closes every session, so
live reading and backfill end with the same records — outside the timing, cached under /tmp.

Then R rounds, each running every variant once, alternating:

1. `python main.py backfill --directory D` into a new SQLite database: wall and CPU time (its
   journalctl included);
2. the dashboard, `python main.py` with a fresh data folder, MODULEGAZE_JOURNAL_DIRECTORY=D and
   MODULEGAZE_JOURNAL_SINCE=all, from its start until /healthz's reader.lines reaches the journal's
   entries: wall time, CPU time (the app and its journalctl), peak RSS (VmHWM) and the p95 latency
   of /healthz, polled every 100 ms while it catches up.

Each run's session records (session_record rows once the checkpoint holds the journal's last cursor)
must be the same number in both. Shown: medians, and catch-up / backfill (wall) with PASS/MISS
against the goal (<= 1.5). `--compare CHECKOUT` runs another checkout (the code before a change,
e.g. `git archive <rev> | tar -x -C /tmp/base`) in the same rounds. A report, not a test: exits 0
(1 when the journal tools are missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.commands import CPU, main_py  # noqa: E402
from bench.corpora import DESCRIPTIONS, SHAPES, UNIT  # noqa: E402
from bench.livebench import CLK_TCK, child_ticks, percentile  # noqa: E402
from gaze.simulator import Line  # noqa: E402
from tests import journalkit  # noqa: E402
from tests.browserkit import free_port  # noqa: E402
from tests.livekit import SENTINEL_IP  # noqa: E402

TARGET = 1.5  # catch-up / backfill, wall time
POLL_S = 0.1


@dataclass
class Figures:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    p95_ms: list[float] = field(default_factory=list)
    records: set[int] = field(default_factory=set)


def build(shape: str, entries: int, seed: int) -> tuple[Path, int]:
    """The corpus's journal directory (cached under /tmp) and how many entries it holds."""
    folder = Path(tempfile.gettempdir()) / f"modulegaze-catchup-{shape}-{entries}-{seed}"
    journal = folder / "journal" / "system.journal"
    done = folder / "entries"
    if done.exists() and journal.exists():
        return journal.parent, int(done.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    lines = list(SHAPES[shape](seed).day(entries))
    last = lines[-1].time_ms + 2 * 3600 * 1000  # a lone hit later: every session before it closes
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(last / 1000)) + f".{last % 1000:03d}Z"
    lines.append(Line(last, f'info: {SENTINEL_IP} - [{iso}] "GET /modules/zz_sentinel/index.html HTTP/1.1" 200'))
    journalkit.write_journal(journal, journalkit.entries_from_lines(lines, unit=UNIT))
    done.write_text(str(len(lines)))
    return journal.parent, len(lines)


def db_records(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM session_record").fetchone()[0])


def db_cursor(db: Path) -> str | None:
    try:
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT cursor FROM checkpoint WHERE name = 'live'").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


def backfill(repo: Path, directory: Path, work: Path, into: Figures) -> None:
    into.wall.append(main_py(repo, work, "backfill", "--directory", str(directory)))
    into.cpu.append(CPU[0])
    into.records.add(db_records(work / "data" / "gaze.db"))


def _healthz(url: str) -> tuple[float, int]:
    """(latency in ms, reader.lines) of one /healthz."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:  # 503 while not healthy: still an answer
        body = exc.read()
    latency = (time.perf_counter() - started) * 1000
    reader = json.loads(body or b"{}").get("reader") or {}
    return latency, int(reader.get("lines") or 0)


def _proc_figures(pid: int) -> tuple[float, float]:
    """(CPU seconds of the app and its children now, peak RSS in MiB)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14]) + child_ticks(pid)
    peak = next(
        int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    return ticks / CLK_TCK, peak


def _app_env(work: Path, directory: Path, port: int) -> dict[str, str]:
    """The dashboard's environment: a fresh data folder, the journal directory read from its start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULEGAZE_", "MODULEFETCH_", "NICEGUI_"))}
    env = {k: v for k, v in env.items() if not k.startswith("PYTEST_")}
    env.update(
        MODULEGAZE_DATA_DIR=str(work / "data"),
        MODULEFETCH_LOG_DIR=str(work / "logs"),
        MODULEGAZE_JOURNAL_UNIT=UNIT,
        MODULEGAZE_JOURNAL_DIRECTORY=str(directory),
        MODULEGAZE_JOURNAL_SINCE="all",
        MODULEGAZE_PORT=str(port),
        MODULEGAZE_BACKGROUND_MONITOR="1",
        MODULEGAZE_DEMO="off",
        MODULEGAZE_UPLOADS_MODULES_ROOT=str(work / "uploads"),
        TZ="UTC",
    )
    return env


def _poll_until_read(
    process: subprocess.Popen[bytes], url: str, total: int, started: float, timeout: float
) -> list[float]:
    """/healthz every POLL_S until reader.lines reaches `total`: its latencies after the first answer
    (which waits for start-up: not a catch-up figure)."""
    latencies: list[float] = []
    answered = False
    while True:
        if process.poll() is not None or time.perf_counter() - started > timeout:
            raise RuntimeError("the dashboard stopped or did not catch up (see app.out)")
        try:
            latency, lines = _healthz(url)
        except OSError:  # not listening yet
            time.sleep(POLL_S)
            continue
        if answered:
            latencies.append(latency)
        answered = True
        if lines >= total:
            return latencies
        time.sleep(POLL_S)


def catch_up(repo: Path, directory: Path, total: int, last: str, work: Path, into: Figures, timeout: float) -> None:
    data = work / "data"
    data.mkdir(parents=True)
    port = free_port()
    with (work / "app.out").open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(repo / "main.py")], cwd=work, env=_app_env(work, directory, port), stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        latencies = _poll_until_read(process, f"http://127.0.0.1:{port}/healthz", total, started, timeout)
        into.wall.append(time.perf_counter() - started)
        cpu, peak = _proc_figures(process.pid)
        into.cpu.append(cpu)
        into.rss_mib.append(peak)
        if latencies:  # none when the journal was read before /healthz first answered (a tiny one)
            into.p95_ms.append(percentile(latencies, 95))
        while db_cursor(data / "gaze.db") != last:
            if time.perf_counter() - started > timeout:
                raise RuntimeError("the dashboard did not save the journal's last cursor")
            time.sleep(POLL_S)
        into.records.add(db_records(data / "gaze.db"))
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def run_corpus(shape: str, entries: int, repeat: int, compare: Path | None, timeout: float) -> bool:
    directory, total = build(shape, entries, seed=21)
    last = str(journalkit.read_json(directory, "-n", "1", all_fields=False)[-1]["__CURSOR"])
    repos = {"": REPO} | ({} if compare is None else {"before ": compare})
    figures = {f"{label}{kind}": Figures() for label in repos for kind in ("backfill", "catch-up")}
    with tempfile.TemporaryDirectory(prefix="bench-catchup-") as tmp:
        for i in range(repeat):
            for label, repo in repos.items():
                work = Path(tmp) / f"{label.strip() or 'now'}-{i}"
                backfill(repo, directory, work / "backfill", figures[f"{label}backfill"])
                catch_up(repo, directory, total, last, work / "app", figures[f"{label}catch-up"], timeout)
    print(f"\n{shape} ({DESCRIPTIONS[shape]}): {total:,} entries in {directory}, median of {repeat}")
    print(f"  {'run':<18} {'wall s':>8} {'cpu s':>8} {'entries/s':>10} {'peak MiB':>9} {'healthz p95 ms':>15}  records")
    for name, fig in figures.items():
        wall = statistics.median(fig.wall)
        rss = f"{statistics.median(fig.rss_mib):.0f}" if fig.rss_mib else "-"
        p95 = f"{statistics.median(fig.p95_ms):.0f}" if fig.p95_ms else "-"
        records = ", ".join(f"{n:,}" for n in sorted(fig.records))
        print(
            f"  {name:<18} {wall:>8.1f} {statistics.median(fig.cpu):>8.1f} {total / wall:>10,.0f} {rss:>9} {p95:>15}"
            f"  {records}"
        )
    ok = True
    for label in repos:
        back, live = figures[f"{label}backfill"], figures[f"{label}catch-up"]
        ratio = statistics.median(live.wall) / statistics.median(back.wall)
        cpu_ratio = statistics.median(live.cpu) / statistics.median(back.cpu)
        same = back.records == live.records and len(live.records) == 1
        verdict = "PASS" if ratio <= TARGET else "MISS"
        print(
            f"  {label}catch-up / backfill: {ratio:.2f} (cpu {cpu_ratio:.2f}) <= {TARGET}: {verdict}; "
            f"same records: {'yes' if same else 'NO'}"
        )
        ok = ok and (label != "" or (ratio <= TARGET and same))
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--corpus", choices=(*SHAPES, "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", type=Path, help="another checkout (the code before), run in the same rounds")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    if not journalkit.available():
        print("needs systemd-journal-remote and journalctl")
        return 1
    load = os.getloadavg()
    print(f"catch-up benchmark, {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    shapes = list(SHAPES) if args.corpus == "both" else [args.corpus]
    for shape in shapes:
        run_corpus(shape, args.entries, args.repeat, args.compare, args.timeout)
    load = os.getloadavg()
    print(f"load after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
