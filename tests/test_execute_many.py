"""`gaze.engine.execute_many`, the driver-level executemany backfill's batches use on SQLite: the same
rows as SQLAlchemy's `conn.execute(stmt, rows)`, for the session records, the roll-ups' upserts, and
rows that leave a column with a Python-side default out (handed to SQLAlchemy, which fills it in)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gaze.db import HOURS, LIVE, RecordRow, UsageDaily
from gaze.engine import execute_many
from gaze.rollups import DAILY
from gaze.startup import open_database

RECORDS = RecordRow.__table__

Executor = Callable[[Connection, Any, list[dict[str, Any]]], None]


def plain(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> None:
    conn.execute(stmt, rows)


def tables_after(path: Path, run: Executor) -> dict[str, list[tuple[Any, ...]]]:
    engine = open_database(f"sqlite:///{path}")
    records = [
        {"end_ms": 10_000 + i, "start_ms": i, "user_id": f"u{i % 7}", "ip": f"10.0.0.{i % 5}", "module": "m\u00e9",
         "duration_s": 10, "reason": "idle", "source": "backfill"}
        for i in range(300)
    ]  # fmt: skip
    daily = [
        {"day": "2026-05-04", "module": "m", "ip": "10.0.0.1", "user_id": f"u{i % 3}", "seconds": i, "sessions": 1}
        | dict.fromkeys(HOURS, i)
        for i in range(9)
    ]
    with engine.begin() as conn:
        run(conn, insert(RECORDS), records)
        upsert = sqlite_insert(DAILY)
        adds = ["seconds", "sessions", *HOURS]
        upsert = upsert.on_conflict_do_update(
            index_elements=["day", "module", "ip", "user_id"],
            set_={c: DAILY.c[c] + getattr(upsert.excluded, c) for c in adds},
        )
        run(conn, upsert, daily)  # three keys, each added to twice more
        unsourced = [{k: v for k, v in r.items() if k != "source"} | {"end_ms": r["end_ms"] + 1} for r in records[:4]]
        run(conn, insert(RECORDS), unsourced)  # "source" left to its Python-side default
    with engine.connect() as conn:
        result = {
            table.name: sorted(tuple(row) for row in conn.execute(select(table)))
            for table in (RECORDS, UsageDaily.__table__)
        }
    engine.dispose()
    return result


def test_execute_many_stores_what_sqlalchemy_stores(tmp_path: Path) -> None:
    fast = tables_after(tmp_path / "fast.db", execute_many)
    assert fast == tables_after(tmp_path / "plain.db", plain)
    assert len(fast["session_record"]) == 304 and len(fast["usage_daily"]) == 3
    assert sum(1 for row in fast["session_record"] if LIVE in row) == 4  # the default, filled in
