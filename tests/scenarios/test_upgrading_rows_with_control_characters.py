"""Scenario: a database from earlier versions, with CR/LF/TAB in stored rows, upgraded by migration 0006; new records are stored normalised."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from gaze import history
from gaze.db import IMPORT, LIVE, RecordRow, make_engine
from gaze.records import Rollup, add_records, rebuild_rollups
from gaze.sessions import SessionRecord
from tests.migrationkit import tables, upgrade

T = 1_777_905_040_000  # 2026-05-04T14:30:40Z


def test_migration_0006_normalises_rows_and_keeps_the_rollups_right(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0004")
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

        upgrade(engine, "head")

        with Session(engine) as db:
            rows = db.execute(select(RecordRow.user_id, RecordRow.module, RecordRow.source).order_by(RecordRow.id))
            assert list(rows) == [
                ("Kofi Mensah", "cdn_math", LIVE), ("ama", "cdn bio", LIVE), ("x  y", "cdn_geo", LIVE),
                ("Kofi Mensah", "cdn_math", IMPORT), ("ama", "cdn bio", IMPORT), ("clean", "cdn_math", IMPORT),
            ]  # fmt: skip
        migrated = tables(engine)
        with engine.begin() as conn:  # the roll-ups and marks the application itself computes from the rows
            rebuild_rollups(conn)
        assert migrated == tables(engine)
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
