"""Over-limit alerts: raised once per session past its module's limit, ended by themselves (the
session ended, the limit was removed or raised past it) or acknowledged by an admin — all kept in
our database, so the history says how each alert ended and who acknowledged it.

`Alerts` is the lifecycle; gaze.limits.Limits adds the limits it checks against (`limit_for`,
`over_limit`: the one over-limit rule, gaze.limits.past_limit).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from gaze.db import AlertRow
from gaze.sessions import OpenSession

AlertKey = tuple[str, str, str, int]  # the session an alert is about: (ip, user, module, start_ms)


def alert_key(session: OpenSession) -> AlertKey:
    """The key of the alerts about `session` (as `Alert.session_key`)."""
    return (session.ip, session.user, session.module, session.start_ms)


log = logging.getLogger(__name__)

RECENT_ALERTS = 50
OPEN_ALERTS_LOADED = 5000  # unresolved alerts read at start-up (they resolve on the first check)
SESSION_ENDED, LIMIT_REMOVED = "session ended", "limit removed"
ALERT_MEMORY_MS = 2 * 24 * 3600 * 1000  # how far back alerts block a duplicate after a restart


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
    resolved_ms: int | None = None
    resolution: str | None = None  # how it ended by itself: "session ended", "limit removed", …

    @property
    def pending(self) -> bool:
        """Still needs an admin's eye: neither acknowledged nor ended by itself."""
        return self.acknowledged_ms is None and self.resolved_ms is None

    @property
    def session_key(self) -> AlertKey:
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
        row.resolved_ms,
        row.resolution,
    )


class Alerts(ABC):
    """The alerts' lifecycle. The in-memory copies (`recent`, `open`) are what pages show; every
    change goes to the database first, then bumps `version` so observers know to redraw."""

    limits: dict[str, int]  # minutes by module: gaze.limits.Limits keeps them

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.recent: list[Alert] = []  # newest first, at most RECENT_ALERTS
        self.open: dict[int, Alert] = {}  # not resolved yet, by id
        self.version = 0
        self._alerted: set[AlertKey] = set()
        self._write = threading.Lock()  # admins on several dashboards may click at once

    @abstractmethod
    def limit_for(self, module: str) -> int | None:
        """Minutes allowed on a session's module: gaze.limits.Limits says."""

    @abstractmethod
    def over_limit(self, session: OpenSession, now_ms: int) -> bool:
        """Whether `session` is past its module's limit: gaze.limits.Limits says."""

    def _load_alerts(self, db: Session) -> None:
        """Read the recent and open alerts, and the sessions alerted lately (blocking)."""
        since = int(time.time() * 1000) - ALERT_MEMORY_MS
        recent = db.scalars(select(AlertRow).order_by(AlertRow.id.desc()).limit(RECENT_ALERTS)).all()
        self.recent = [_alert(r) for r in recent]
        unresolved = db.scalars(
            select(AlertRow)
            .where(AlertRow.resolved_ms.is_(None))
            .order_by(AlertRow.id.desc())
            .limit(OPEN_ALERTS_LOADED)
        ).all()
        self.open = {r.id: _alert(r) for r in unresolved}
        keys = db.execute(
            select(AlertRow.ip, AlertRow.user_id, AlertRow.module, AlertRow.session_start_ms).where(
                AlertRow.raised_ms >= since
            )
        ).all()
        self._alerted = {(ip, user, module, start) for ip, user, module, start in keys}

    def check(self, sessions: Iterable[OpenSession], now_ms: int) -> list[Alert]:
        """Raise one alert per open session that has crossed its module's limit."""
        if not self.limits:
            return []
        with self._write:  # the in-memory lists change with acknowledgements from pages too
            return self._check(sessions, now_ms)

    def _check(self, sessions: Iterable[OpenSession], now_ms: int) -> list[Alert]:
        due = [s for s in sessions if self.over_limit(s, now_ms) and alert_key(s) not in self._alerted]
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
            self.open[alert.id] = alert
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

    def resolve_ended(self, sessions: Iterable[OpenSession], now_ms: int) -> list[Alert]:
        """End the open alerts whose session closed or whose limit was removed or raised past it."""
        if not self.open:
            return []
        with self._write:  # an admin may acknowledge some of them at the same moment
            return self._resolve_ended(sessions, now_ms)

    def _resolve_ended(self, sessions: Iterable[OpenSession], now_ms: int) -> list[Alert]:
        live = {alert_key(s): s for s in sessions}
        endings: dict[str, list[int]] = {}
        for alert in self.open.values():
            minutes = self.limit_for(alert.module)
            if alert.session_key not in live:
                how = SESSION_ENDED
            elif minutes is None:
                how = LIMIT_REMOVED
            elif not self.over_limit(live[alert.session_key], now_ms):  # the same module and start
                how = f"limit raised to {minutes} min"
            else:
                continue
            endings.setdefault(how, []).append(alert.id)
        if not endings:
            return []
        with Session(self.engine) as db, db.begin():
            for how, ids in endings.items():
                db.execute(update(AlertRow).where(AlertRow.id.in_(ids)).values(resolved_ms=now_ms, resolution=how))
        ended: list[Alert] = []
        for how, ids in endings.items():
            for alert_id in ids:
                alert = replace(self.open.pop(alert_id), resolved_ms=now_ms, resolution=how)
                ended.append(alert)
                if how != SESSION_ENDED:  # the same session may be alerted again if the limit is lowered
                    self._alerted.discard(alert.session_key)
        self._replace_recent({a.id: a for a in ended})
        log.info("%d alert(s) ended by themselves", len(ended))
        return ended

    def acknowledge(self, alert_ids: Iterable[int], by: str | None = None) -> int:
        """Acknowledge the given alerts that are still unacknowledged; how many were."""
        ids = sorted(set(alert_ids))
        if not ids:
            return 0
        now = int(time.time() * 1000)
        with self._write:
            with Session(self.engine) as db, db.begin():
                done = list(
                    db.scalars(
                        update(AlertRow)
                        .where(AlertRow.id.in_(ids), AlertRow.acknowledged_ms.is_(None))
                        .values(acknowledged_ms=now, acknowledged_by=by)
                        .returning(AlertRow.id)
                    )
                )
            changed: dict[int, Alert] = {}
            for alert_id in done:
                alert = self.open.get(alert_id) or next((a for a in self.recent if a.id == alert_id), None)
                if alert is not None:
                    changed[alert_id] = replace(alert, acknowledged_ms=now, acknowledged_by=by)
                    if alert_id in self.open:
                        self.open[alert_id] = changed[alert_id]
            self._replace_recent(changed)
        return len(done)

    def _replace_recent(self, changed: dict[int, Alert]) -> None:
        if changed:
            self.recent = [changed.get(a.id, a) for a in self.recent]
            self.version += 1

    @property
    def pending(self) -> list[Alert]:
        """Alerts that still need an admin's eye, newest first."""
        return sorted((a for a in self.open.values() if a.pending), key=lambda a: -a.id)

    @property
    def acknowledged_sessions(self) -> set[AlertKey]:
        """The sessions an admin has acknowledged as over their limit (alerts not ended yet)."""
        return {a.session_key for a in self.open.values() if a.acknowledged_ms is not None and a.resolved_ms is None}

    @property
    def unacknowledged(self) -> list[Alert]:
        return self.pending
