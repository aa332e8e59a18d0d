"""The usage roll-ups kept with the session records — DESIGN §4 (a session belongs to the local day
its end falls in): `Rollup` gathers the deltas of newly counted records in memory and adds them to
`usage_daily`, `usage_dim` and `usage_hourly` with one upsert per table. The rules on which records
count, and `rebuild_rollups`, are gaze/records.py's (see its module doc for the tables' layout).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from gaze.db import HOURS, UsageDaily, UsageDim, UsageHourly
from gaze.engine import execute_many
from gaze.localtime import hour_pieces, local_time

__all__ = ["DAILY", "DIMS", "HOURLY", "IP", "MODULE", "USER", "Rollup"]

DAILY = UsageDaily.__table__
DIMS = UsageDim.__table__
HOURLY = UsageHourly.__table__

MODULE, IP, USER = "module", "ip", "user"  # usage_dim.dim


class Rollup:
    """Roll-up deltas gathered in memory, then added to the tables with one upsert per table."""

    def __init__(self) -> None:
        local_time.check_zone()
        self.daily: dict[tuple[int, str, str, str], list[int]] = {}
        self.dims: dict[tuple[str, int, str], list[int]] = {}
        self.hourly: dict[tuple[int, int], list[int]] = {}

    def add(self, end_ms: int, duration_s: int, module: str, ip: str, user: str) -> None:
        day = local_time.slot(end_ms)[0]
        key = (day, module, ip, user)
        row = self.daily.get(key)
        if row is None:
            row = self.daily[key] = [0] * 26
        row[0] += duration_s
        row[1] += 1
        hourly = self.hourly
        pieces = list(hour_pieces(end_ms - duration_s * 1000, end_ms))
        for hour, ms in pieces:
            row[2 + hour] += ms
            cell = hourly.get((day, hour))
            if cell is None:
                hourly[(day, hour)] = [ms, 1]
            else:
                cell[0] += ms
                cell[1] += 1
        dims = self.dims
        for dim_key in ((MODULE, day, module), (IP, day, ip), (USER, day, user)):
            dim = dims.get(dim_key)
            if dim is None:
                dim = dims[dim_key] = [0] * 26
            dim[0] += duration_s
            dim[1] += 1
            for hour, ms in pieces:
                dim[2 + hour] += ms

    def __len__(self) -> int:
        return len(self.daily)

    def write(self, conn: Connection) -> None:
        """Add the deltas to the roll-up tables (insert, or add to the existing row)."""
        if self.daily:
            rows = [
                {"day": k[0], "module": k[1], "ip": k[2], "user_id": k[3], "seconds": v[0], "sessions": v[1]}
                | dict(zip(HOURS, v[2:], strict=True))
                for k, v in self.daily.items()
            ]
            _upsert(conn, DAILY, ["day", "module", "ip", "user_id"], ["seconds", "sessions", *HOURS], rows)
        if self.dims:
            rows = [
                {"dim": k[0], "day": k[1], "value": k[2], "seconds": v[0], "sessions": v[1]}
                | dict(zip(HOURS, v[2:], strict=True))
                for k, v in self.dims.items()
            ]
            _upsert(conn, DIMS, ["dim", "day", "value"], ["seconds", "sessions", *HOURS], rows)
        if self.hourly:
            rows = [{"day": k[0], "hour": k[1], "ms": v[0], "sessions": v[1]} for k, v in self.hourly.items()]
            _upsert(conn, HOURLY, ["day", "hour"], ["ms", "sessions"], rows)
        self.daily, self.dims, self.hourly = {}, {}, {}


def _upsert(conn: Connection, table: Any, keys: list[str], adds: list[str], rows: list[dict[str, Any]]) -> None:
    stmt: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table)
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database {conn.dialect.name}")
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: table.c[c] + getattr(stmt.excluded, c) for c in adds}
    )
    for i in range(0, len(rows), 5000):
        execute_many(conn, stmt, rows[i : i + 5000])
