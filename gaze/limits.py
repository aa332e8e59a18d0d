"""Per-module time limits, stored in our database; the alerts they raise: gaze.alerts.

The in-memory copy (`limits`) is what pages show; every change goes to the database first, then
bumps `version` so observers know to redraw.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from gaze.alerts import Alerts
from gaze.db import LimitRow
from gaze.sessions import OpenSession

log = logging.getLogger(__name__)

MIN_MINUTES, MAX_MINUTES = 1, 1440
WHOLE = re.compile(r"^\s*[-+]?\d{1,9}\s*$")


def past_limit(start_ms: int, now_ms: int, minutes: int) -> bool:
    """The one over-limit rule: on the module for `minutes` whole minutes or more since it started."""
    return now_ms - start_ms >= minutes * 60_000


class LimitError(ValueError):
    """A limit an admin asked for is not acceptable; str() is the message to show."""


def validate_minutes(value: object) -> int:
    """Whole minutes 1–1440, or LimitError with a message for the admin — never a guess.

    Accepted: an int, an integral float (what a number field sends) or a string of digits. `0`,
    `-3`, `99999`, `2.5`, `1e3` or `20 min` are refused, not rounded or clamped.
    """
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise LimitError(f"Enter the limit in whole minutes, from {MIN_MINUTES} to {MAX_MINUTES}.")
    if isinstance(value, int):
        minutes = value
    elif (isinstance(value, float) and value.is_integer()) or (isinstance(value, str) and WHOLE.match(value)):
        minutes = int(value)
    else:
        shown = str(value).strip()[:20]
        raise LimitError(
            f"“{shown}” is not a whole number of minutes: enter {MIN_MINUTES} to {MAX_MINUTES}. Nothing was saved."
        )
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise LimitError(f"{minutes} minutes is outside {MIN_MINUTES}–{MAX_MINUTES} (24 hours). Nothing was saved.")
    return minutes


@dataclass(frozen=True, slots=True)
class Preview:
    """What a limit would do right now: learners on the module, and how many it puts over."""

    on_module: int
    over: int


class Limits(Alerts):
    """Time limits by module, and the alerts they raise (the lifecycle: gaze.alerts.Alerts).

    `resolve(log_slug)` maps a session's module to the key limits are stored under (the catalog
    slug it matches, DESIGN §7); without a catalog it is the identity.
    """

    def __init__(self, engine: Engine, resolve: Callable[[str], str] = lambda slug: slug) -> None:
        super().__init__(engine)
        self.resolve = resolve
        self.limits: dict[str, int] = {}

    def load(self) -> None:
        """Read limits, recent and open alerts (blocking)."""
        with Session(self.engine) as db:
            self.limits = {row.module: row.minutes for row in db.scalars(select(LimitRow))}
            self._load_alerts(db)
        self.version += 1

    # ------------------------------------------------------------------ limits

    def set_limit(self, module: str, minutes: object) -> int:
        module = (module or "").strip()
        if not module:
            raise LimitError("Choose a module first. Nothing was saved.")
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
        return minutes is not None and past_limit(session.start_ms, now_ms, minutes)

    def preview(self, module: str, minutes: int, sessions: Iterable[OpenSession], now_ms: int) -> Preview:
        """What a limit of `minutes` on `module` (a limit key) would do to the open sessions now."""
        on = [s for s in sessions if s.module == module or self.resolve(s.module) == module]
        return Preview(len(on), sum(1 for s in on if past_limit(s.start_ms, now_ms, minutes)))
