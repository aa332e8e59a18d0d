"""gaze.simulator.demo: when `auto` gives demo data, where the demo keeps its files, an unreadable journal as a status (not demo), the demo resuming after what it fed."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest

from gaze.config import load_settings
from gaze.db import make_engine, migrate
from gaze.journal import JournalEntry, JournalSource
from gaze.recorder import Recorder
from gaze.simulator.demo import UNREADABLE, demo_decision, demo_settings, probe_journal, run_demo
from gaze.sources import Sources
from tests import journalkit
from tests.conftest import require, seed_migrated

T = 1_777_905_040_000  # 2026-05-04T14:30:40Z


def test_demo_lives_under_the_data_directory(clean_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODULEGAZE_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MODULEFETCH_LOG_DIR", str(tmp_path / "upload"))
    monkeypatch.setenv("MODULEGAZE_DATABASE_URL", "postgresql://real/db")
    demo = demo_settings(load_settings())
    assert demo.log_dir == (tmp_path / "state" / "demo" / "logs").absolute()
    assert demo.own_database_url == f"sqlite:///{(tmp_path / 'state' / 'demo' / 'gaze.db').absolute()}"


def test_auto_gives_demo_only_when_nothing_says_this_is_a_centre(tmp_path: Path) -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    empty = tmp_path / "empty"
    empty.mkdir()
    other = tmp_path / "other" / "system.journal"
    journalkit.write_journal(other, [journalkit.export_entry("sshd: hello", T * 1000, unit="ssh.service")])
    assert demo_decision("on", JournalSource(file=other))[0] and not demo_decision("off", JournalSource())[0]
    assert not demo_decision("auto", JournalSource(file=other))[0]  # a configured journal: never demo
    assert not demo_decision("auto", JournalSource(directory=empty))[0]
    assert probe_journal(JournalSource(file=other)).state == "empty"
    assert not demo_decision("auto", JournalSource(journalctl=str(tmp_path / "no-journalctl")))[0]
    assert probe_journal(JournalSource(journalctl=str(tmp_path / "no-journalctl"))).state == "missing"
    # systemd cannot answer here (no systemd as PID 1), so nobody can say the unit does not exist
    assert not demo_decision("auto", JournalSource(), systemctl=shutil.which("systemctl") or "systemctl")[0]
    assert not demo_decision("auto", JournalSource(), systemctl=str(tmp_path / "no-systemctl"))[0]
    # a systemctl that reports the unit missing, with a readable empty journal: the one demo case
    fake = tmp_path / "systemctl"
    fake.write_text("#!/bin/sh\necho not-found\n")
    fake.chmod(0o755)
    local = JournalSource(journalctl=str(tmp_path / "journalctl"))
    (tmp_path / "journalctl").write_text(f'#!/bin/sh\nexec {journalkit.journalctl()} --directory {empty} "$@"\n')
    (tmp_path / "journalctl").chmod(0o755)
    assert demo_decision("auto", local, systemctl=str(fake))[0]
    (tmp_path / "journalctl").write_text(f'#!/bin/sh\nexec {journalkit.journalctl()} --file {other} "$@"\n')
    assert demo_decision("auto", local, systemctl=str(fake))[0]  # other units' lines only: still no oc4d here
    loaded = tmp_path / "systemctl-loaded"
    loaded.write_text("#!/bin/sh\necho loaded\n")
    loaded.chmod(0o755)
    assert not demo_decision("auto", local, systemctl=str(loaded))[0]  # oc4d.service exists: a centre
    # the start-up log says why (MODULEGAZE_DEMO=auto gave an empty board with no word otherwise)
    assert demo_decision("auto", local, systemctl=str(fake)) == (True, "no oc4d.service on this machine")
    assert "is absent" in demo_decision("auto", local, systemctl=str(loaded))[1]
    assert "not found" in demo_decision("auto", JournalSource(journalctl=str(tmp_path / "no-journalctl")))[1]
    assert demo_decision("auto", JournalSource(file=other)) == (False, "a journal directory or file is configured")


def _as_nobody(tmp_path: Path) -> str:
    """journalctl run as an unprivileged user: the real permission check of a real journal."""
    setpriv = shutil.which("setpriv")
    require(setpriv is not None and os.geteuid() == 0, "setpriv and root (to run journalctl as nobody)")
    wrapper = tmp_path / "journalctl-as-nobody"
    wrapper.write_text(
        f'#!/bin/sh\nexec {setpriv} --reuid=65534 --regid=65534 --clear-groups {journalkit.journalctl()} "$@"\n'
    )
    wrapper.chmod(0o755)
    return str(wrapper)


def test_unreadable_journal_is_a_status_not_demo(tmp_path: Path) -> None:
    require(journalkit.available(), "systemd-journal-remote and journalctl")
    private = tmp_path / "private"
    journal = private / "system.journal"
    line = 'info: 10.0.0.1 - [2026-05-04T14:30:40.000Z] "GET /modules/cdn_math/index.html HTTP/1.1" 200'
    journalkit.write_journal(journal, [journalkit.export_entry(line, T * 1000)])
    private.chmod(0o700)  # root's, like /var/log/journal for a user outside systemd-journal
    tmp_path.chmod(0o755)
    source = JournalSource(file=journal, journalctl=_as_nobody(tmp_path))
    probe = probe_journal(source)
    assert probe.state == "unreadable" and probe.detail.startswith(UNREADABLE)
    assert not demo_decision("auto", JournalSource(journalctl=source.journalctl))[0]

    async def follow() -> tuple[str, str]:
        settings = load_settings(
            None, data_dir=tmp_path / "data", log_dir=tmp_path / "logs", demo="off", journal_since="all"
        )
        url = f"sqlite:///{tmp_path / 'gaze.db'}"
        seed_migrated(url)
        engine = make_engine(url)
        migrate(engine)
        monitor = Recorder(settings, engine)
        sources = Sources(monitor, source)
        await asyncio.to_thread(monitor.restore)
        sources.start()
        for _ in range(100):
            if monitor.reader_state.status == "unreadable":
                break
            await asyncio.sleep(0.1)
        state = (monitor.reader_state.status, monitor.reader_state.detail)
        await sources.stop()
        engine.dispose()
        return state

    status, detail = asyncio.run(follow())
    assert status == "unreadable" and UNREADABLE in detail
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").iterdir())


async def test_demo_resumes_after_the_last_event_it_fed(tmp_path: Path) -> None:
    """Stop/Start (or a restart) must not replay the classroom's warm-up over sessions already seen:
    an older line ends and reopens them, and raises their alerts again."""
    fed: list[int] = []
    stop = asyncio.Event()

    def feed(entries: list[JournalEntry]) -> None:
        fed.extend(e.realtime_ms or 0 for e in entries)
        stop.set()

    resume = time.time_ns() // 1_000_000 - 60_000
    await run_demo(feed, stop, warm_up_s=600, resume_ms=resume)
    assert fed and min(fed) > resume
    fed.clear()
    stop.clear()
    await run_demo(feed, stop, warm_up_s=600)  # a first start: ten minutes of warm-up
    assert fed and min(fed) < resume
