"""The database connection drops in the instant after a log file write, before the writer clears its
write-ahead intent: the next write must not put those lines in the file a second time.

Real parts: PostgreSQL behind a loopback TCP proxy cut from inside the write (right after the bytes
are appended and fsynced), real log files, the monitor's own save path. Two ways the pending intent
was taken again at a new place and the lines doubled:
- the access tee: the next batch's save staged the pending lines again at the end of the file;
- the session log: the midnight job archived the plain file under the pending write, whose recorded
  offset then pointed past the end of a new plain file.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from gaze.journal import JournalEntry
from gaze.logs.files import DailyLog
from gaze.logs.format import clean_field
from gaze.recorder import Recorder
from gaze.simulator import Classroom
from tests.livekit import session_log
from tests.recorderkit import live_rows, make_settings, open_engine
from tests.tcpproxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
DAY_MS = 86_400_000


@pytest.fixture
def proxy(pg_url: str) -> Iterator[TcpProxy]:
    with TcpProxy(5432) as running:
        yield running


def two_days_ago(n: int) -> list[JournalEntry]:
    """A classroom two days ago: its plain files belong to a day the midnight job archives."""
    start = (time.time_ns() // 1_000_000) - 2 * DAY_MS
    return [
        JournalEntry(f"s=probe;i={i}", line.time_ms * 1000, line.message)
        for i, line in enumerate(Classroom(seed=5, start_ms=start).day(n), start=1)
    ]


def cut_after_first_write(log: DailyLog, proxy: TcpProxy) -> list[bool]:
    """Make the database go away right after the next write of `log` reaches the file."""
    done: list[bool] = []
    write = log.reconcile

    def then_cut(offset: int, data: bytes) -> None:
        write(offset, data)
        if not done:
            done.append(True)
            proxy.cut()

    log.reconcile = then_cut  # type: ignore[method-assign]
    return done


def doubled(lines: list[str]) -> int:
    return sum(n - 1 for n in Counter(lines).values() if n > 1)


async def run(monitor: Recorder, entries: list[JournalEntry], log: DailyLog, proxy: TcpProxy) -> None:
    monitor.restore()
    third = len(entries) // 3
    await monitor.record(entries[:third])
    cut = cut_after_first_write(log, proxy)
    await monitor.record(entries[third : 2 * third])  # saved; the file write's clear is refused
    assert cut, "the write happened"
    await monitor.rotate_due()  # midnight while the database is away
    proxy.restore()
    await monitor.record(entries[2 * third :])
    monitor.store.close_all()
    assert await monitor.persist()


@pytest.mark.parametrize("stem", ["access", "sessions"])
async def test_connection_lost_after_a_write_writes_nothing_twice(
    stem: str, pg_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    entries = two_days_ago(3000)
    settings = make_settings(tmp_path, stem, database_url=proxy.url(pg_url), tee_access_log=True)
    monitor = Recorder(settings, open_engine(settings))
    writer = monitor.access_log if stem == "access" else monitor.sessions_log
    await run(monitor, entries, writer.file, proxy)
    records = session_log(settings.log_dir).splitlines()
    assert len(records) == len(live_rows(monitor.engine)) > 30
    assert doubled(records) == 0
    access = [line.split("\t", 1)[1] for line in (settings.log_dir / "modulegaze-access.log").read_text().splitlines()]
    expected = [clean_field(e.message) for e in entries if "/modules/" in e.message]
    assert Counter(access) == Counter(expected), f"doubled {doubled(access)}"
    monitor.engine.dispose()
