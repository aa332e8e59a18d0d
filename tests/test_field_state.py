"""Issue 8: migration 0006 (CR/LF/TAB in stored rows), MODULEGAZE_JOURNAL_SINCE / READ_TOKEN, when
`auto` gives demo data, and an unreadable journal as a status."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from gaze import history
from gaze.config import SettingsError, load_settings
from gaze.db import IMPORT, LIVE, MIGRATIONS, RecordRow, make_engine, migrate
from gaze.journal import JournalEntry, JournalSource
from gaze.recorder import Recorder
from gaze.records import Rollup, add_records, rebuild_rollups
from gaze.sessions import SessionRecord
from gaze.simulator.demo import UNREADABLE, demo_decision, demo_settings, probe_journal, run_demo
from gaze.sources import Sources
from tests import journalkit
from tests.conftest import ROOT, require, seed_migrated

T = 1_777_905_040_000  # 2026-05-04T14:30:40Z


def _upgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            name: sorted(tuple(row) for row in conn.execute(text(f"SELECT * FROM {name}")))
            for name in ("usage_daily", "usage_dim", "usage_hourly", "session_duplicate")
        }


def test_migration_0006_normalises_rows_and_keeps_the_rollups_right(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _upgrade(engine, "0004")
        dirty = [  # as earlier versions stored them: the TAB/LF kept, roll-ups under the raw key
            SessionRecord("10.0.0.1", "Kofi\tMensah", "cdn_math", T - 125_000, T, "idle"),
            SessionRecord("10.0.0.2", "ama", "cdn\nbio", T - 30_000, T + 1000, "idle"),
            SessionRecord("10.0.0.3", "x\r\ny", "cdn_geo", T - 3_700_000, T + 2000, "idle"),
        ]
        with engine.begin() as conn:
            rollup = Rollup()
            for r in dirty:
                conn.execute(
                    insert(RecordRow.__table__).values(
                        end_ms=r.end_ms, start_ms=r.start_ms, user_id=r.user, ip=r.ip, module=r.module,
                        duration_s=r.duration_s, reason=r.reason, source=LIVE,
                    )
                )  # fmt: skip
                rollup.add(r.end_ms, r.duration_s, r.module, r.ip, r.user)
            rollup.write(conn)
            # import-logs of the live file then added the first two again (the file has spaces)
            twins = [
                SessionRecord("10.0.0.1", "Kofi Mensah", "cdn_math", T - 125_000, T, "import"),
                SessionRecord("10.0.0.2", "ama", "cdn bio", T - 30_000, T + 1000, "import"),
                SessionRecord("10.0.0.4", "clean", "cdn_math", T - 60_000, T, "import"),
            ]
            assert add_records(conn, twins, IMPORT) == 3

        _upgrade(engine, "head")

        with Session(engine) as db:
            rows = db.execute(select(RecordRow.user_id, RecordRow.module, RecordRow.source).order_by(RecordRow.id))
            assert list(rows) == [
                ("Kofi Mensah", "cdn_math", LIVE), ("ama", "cdn bio", LIVE), ("x  y", "cdn_geo", LIVE),
                ("Kofi Mensah", "cdn_math", IMPORT), ("ama", "cdn bio", IMPORT), ("clean", "cdn_math", IMPORT),
            ]  # fmt: skip
        migrated = _tables(engine)
        with engine.begin() as conn:  # the roll-ups and marks the application itself computes from the rows
            rebuild_rollups(conn)
        assert migrated == _tables(engine)
        assert [row[0] for row in migrated["session_duplicate"]] == [4, 5]  # the imported twins
        day = history.Range(T - 86_400_000, T + 86_400_000, "around")
        assert history.totals(engine, day).sessions == 4
    finally:
        engine.dispose()


def test_records_are_stored_normalised(engine: Engine) -> None:
    record = SessionRecord("10.0.0.1", "a\tb", "m\r\nod", T - 5000, T, "idle")
    with Session(engine) as db, db.begin():
        add_records(db, [record], LIVE)
        assert add_records(db, [SessionRecord("10.0.0.1", "a b", "m  od", T - 5000, T, "import")], IMPORT) == 0
    with Session(engine) as db:
        assert db.execute(select(RecordRow.user_id, RecordRow.module)).all() == [("a b", "m  od")]


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("raw", "stored", "since"),
    [
        ("today", "today", "today"),
        ("Yesterday", "yesterday", "yesterday"),
        ("all", "all", None),
        ("NONE", "none", None),
        ("disable", "disable", "now"),  # upstream: follow only what comes from now on
        ("2026-05-01", "2026-05-01", "2026-05-01"),
        ("2026-05-01 08:00:00", "2026-05-01 08:00:00", "2026-05-01 08:00:00"),
        ("-2h", "-2h", "-2h"),
        ("3 days ago", "3 days ago", "3 days ago"),
        ("@1777905040", "@1777905040", "@1777905040"),
    ],
)
def test_journal_since_values(clean_env: None, monkeypatch: pytest.MonkeyPatch, raw: str, stored: str, since: str | None) -> None:  # fmt: skip
    monkeypatch.setenv("MODULEGAZE_JOURNAL_SINCE", raw)
    settings = load_settings()
    assert settings.journal_since == stored and settings.journal_since_arg == since


@pytest.mark.slow
@pytest.mark.parametrize(("variable", "raw"), [
    ("MODULEGAZE_JOURNAL_SINCE", "sometime"), ("MODULEGAZE_JOURNAL_SINCE", "2026-05-01T08:00:00"),
    ("MODULEGAZE_JOURNAL_SINCE", "disabled"), ("MODULEGAZE_READ_TOKEN", "short"),
    ("MODULEGAZE_READ_TOKEN", "has a space in it somewhere"),
])  # fmt: skip
def test_bad_values_stop_with_one_line_and_exit_2(tmp_path: Path, variable: str, raw: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULEGAZE_", "MODULEFETCH_"))}
    env.update({variable: raw, "MODULEGAZE_DATA_DIR": str(tmp_path / "data"), "MODULEFETCH_LOG_DIR": str(tmp_path)})
    done = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], done.stderr


def test_read_token(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().read_token is None
    monkeypatch.setenv("MODULEGAZE_READ_TOKEN", "  ")
    assert load_settings().read_token is None
    monkeypatch.setenv("MODULEGAZE_READ_TOKEN", " 0123456789abcdefXYZ ")
    assert load_settings().read_token == "0123456789abcdefXYZ"
    monkeypatch.setenv("MODULEGAZE_READ_TOKEN", "0123")
    with pytest.raises(SettingsError, match="MODULEGAZE_READ_TOKEN"):
        load_settings()


# ---------------------------------------------------------------- demo and the journal


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


def test_users_command_manages_the_users_the_demo_board_signs_in(clean_env: None, tmp_path: Path) -> None:
    """With MODULEGAZE_DEMO=on the dashboard keeps its users in the demo's database: so does
    `main.py users` (a viewer added from the shell could not sign in to the demo before)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(MODULEGAZE_DATA_DIR=str(tmp_path / "state"), MODULEFETCH_LOG_DIR=str(tmp_path / "upload"))
    env["MODULEGAZE_DEMO"] = "on"
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "users", "add", "v", "--role", "viewer", "--password-stdin"],
        input="viewerpass123\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "users of the demo data" in done.stderr
    demo_db = tmp_path / "state" / "demo" / "gaze.db"
    with make_engine(f"sqlite:///{demo_db}").connect() as conn:
        assert conn.execute(text("SELECT username, role FROM app_user")).all() == [("v", "viewer")]
    assert not (tmp_path / "state" / "gaze.db").exists()  # the real database was not even created
    env["MODULEGAZE_DEMO"] = "off"
    listed = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "users", "list"], env=env, capture_output=True, text=True, check=False
    )
    assert listed.returncode == 0 and listed.stdout == ""  # the real users: none yet


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
