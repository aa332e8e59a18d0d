"""Per-module time limits and over-limit alerts, stored in our database.

The in-memory copies (`limits`, `recent`) are what pages show; every change goes to the database
first, then bumps `version` so observers know to redraw.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import SupportsFloat

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from gaze.db import AlertRow, LimitRow
from gaze.sessions import OpenSession

log = logging.getLogger(__name__)

MIN_MINUTES, MAX_MINUTES = 1, 1440
RECENT_ALERTS = 50
ALERT_MEMORY_MS = 2 * 24 * 3600 * 1000  # how far back alerts block a duplicate after a restart


class LimitError(ValueError):
    """A limit an admin asked for is not acceptable; str() is the message to show."""


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    raised_ms: int
    user: str
    ip: str
    module: str
    limit_minutes: int
    session_start_ms: int
    acknowledged_ms: int | None = None
    acknowledged_by: str | None = None

    @property
    def session_key(self) -> tuple[str, str, str, int]:
        return (self.ip, self.user, self.module, self.session_start_ms)


def _alert(row: AlertRow) -> Alert:
    return Alert(
        row.id,
        row.raised_ms,
        row.user_id,
        row.ip,
        row.module,
        row.limit_minutes,
        row.session_start_ms,
        row.acknowledged_ms,
        row.acknowledged_by,
    )


def validate_minutes(value: object) -> int:
    """Whole minutes 1–1440, or LimitError with a message for the admin."""
    if isinstance(value, bool) or value is None or value == "":
        raise LimitError("Enter the limit in whole minutes (1–1440).")
    if not isinstance(value, str | SupportsFloat):
        raise LimitError("The limit must be a whole number of minutes.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise LimitError("The limit must be a whole number of minutes.") from None
    if number != int(number):
        raise LimitError("The limit must be a whole number of minutes.")
    minutes = int(number)
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise LimitError(f"The limit must be between {MIN_MINUTES} and {MAX_MINUTES} minutes.")
    return minutes


class Limits:
    """Time limits by module and the alerts they raise.

    `resolve(log_slug)` maps a session's module to the key limits are stored under (the catalog
    slug it matches, DESIGN §7); without a catalog it is the identity.
    """

    def __init__(self, engine: Engine, resolve: Callable[[str], str] = lambda slug: slug) -> None:
        self.engine = engine
        self.resolve = resolve
        self.limits: dict[str, int] = {}
        self.recent: list[Alert] = []  # newest first, at most RECENT_ALERTS
        self.version = 0
        self._alerted: set[tuple[str, str, str, int]] = set()
        self._write = threading.Lock()  # admins on several dashboards may click at once

    def load(self) -> None:
        """Read limits and recent alerts (blocking)."""
        since = int(time.time() * 1000) - ALERT_MEMORY_MS
        with Session(self.engine) as db:
            self.limits = {row.module: row.minutes for row in db.scalars(select(LimitRow))}
            recent = db.scalars(select(AlertRow).order_by(AlertRow.id.desc()).limit(RECENT_ALERTS)).all()
            self.recent = [_alert(r) for r in recent]
            keys = db.execute(
                select(AlertRow.ip, AlertRow.user_id, AlertRow.module, AlertRow.session_start_ms).where(
                    AlertRow.raised_ms >= since
                )
            ).all()
        self._alerted = {(ip, user, module, start) for ip, user, module, start in keys}
        self.version += 1

    # ------------------------------------------------------------------ limits

    def set_limit(self, module: str, minutes: object) -> int:
        module = (module or "").strip()
        if not module:
            raise LimitError("Choose a module first.")
        value = validate_minutes(minutes)
        with self._write, Session(self.engine) as db, db.begin():
            row = db.get(LimitRow, module)
            if row is None:
                db.add(LimitRow(module=module, minutes=value, updated_ms=int(time.time() * 1000)))
            else:
                row.minutes, row.updated_ms = value, int(time.time() * 1000)
        self.limits[module] = value
        self.version += 1
        log.info("limit set: %s = %d min", module, value)
        return value

    def remove_limit(self, module: str) -> bool:
        with self._write, Session(self.engine) as db, db.begin():
            # on the session's Connection: its result (a CursorResult) is the one with a rowcount
            removed = db.connection().execute(delete(LimitRow).where(LimitRow.module == module)).rowcount
        existed = self.limits.pop(module, None) is not None
        if removed or existed:
            self.version += 1
            log.info("limit removed: %s", module)
        return bool(removed or existed)

    def limit_for(self, module: str) -> int | None:
        """Minutes allowed on a session's module, if a limit applies."""
        if not self.limits:
            return None
        minutes = self.limits.get(module)
        return minutes if minutes is not None else self.limits.get(self.resolve(module))

    def over_limit(self, session: OpenSession, now_ms: int) -> bool:
        minutes = self.limit_for(session.module)
        return minutes is not None and now_ms - session.start_ms >= minutes * 60_000

    # ------------------------------------------------------------------ alerts

    def check(self, sessions: Iterable[OpenSession], now_ms: int) -> list[Alert]:
        """Raise one alert per open session that has crossed its module's limit."""
        due = [
            s
            for s in sessions
            if self.over_limit(s, now_ms) and (s.ip, s.user, s.module, s.start_ms) not in self._alerted
        ]
        if not due:
            return []
        rows = [
            AlertRow(
                raised_ms=now_ms,
                user_id=s.user,
                ip=s.ip,
                module=s.module,
                limit_minutes=self.limit_for(s.module) or 0,
                session_start_ms=s.start_ms,
            )
            for s in due
        ]
        with Session(self.engine, expire_on_commit=False) as db, db.begin():
            db.add_all(rows)
        alerts = [_alert(r) for r in rows]
        for alert in alerts:
            self._alerted.add(alert.session_key)
            log.warning(
                "over limit: %s at %s on %s for more than %d min",
                alert.user,
                alert.ip,
                alert.module,
                alert.limit_minutes,
            )
        self.recent = (list(reversed(alerts)) + self.recent)[:RECENT_ALERTS]
        self.version += 1
        return alerts

    def acknowledge(self, alert_id: int, by: str | None = None) -> bool:
        now = int(time.time() * 1000)
        with Session(self.engine) as db, db.begin():
            row = db.get(AlertRow, alert_id)
            if row is None or row.acknowledged_ms is not None:
                return False
            row.acknowledged_ms, row.acknowledged_by = now, by
        self.recent = [
            replace(a, acknowledged_ms=now, acknowledged_by=by) if a.id == alert_id else a for a in self.recent
        ]
        self.version += 1
        return True

    @property
    def unacknowledged(self) -> list[Alert]:
        return [a for a in self.recent if a.acknowledged_ms is None]
