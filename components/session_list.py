"""The live sessions table: one row element per open session, updated in place.

Session changes arrive in batches from the hub; only the rows that changed are touched, and the
per-second tick only rewrites the time texts that changed. On a phone the rows wrap into cards.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import replace

from nicegui import ui

from components.hub import Hub
from gaze.board import IDLE_SHOWN_AFTER_S, RowView, format_duration, row_view
from gaze.services import Services
from gaze.sessions import Key, OpenSession

MAX_ROWS = 150  # the longest sessions are drawn; the rest are counted below the table
ROW_CLASSES = (
    "w-full items-center gap-x-4 gap-y-1 px-3 py-2 flex flex-wrap md:flex-nowrap border border-gray-200 rounded "
    "md:border-0 md:border-b md:rounded-none"
)
BADGE_OK = "bg-primary"
BADGE_OVER = "bg-red-600 animate-pulse"


class SessionRow:
    """One row; knows how to redraw its changing parts."""

    def __init__(self, view: RowView, limit: int | None) -> None:
        self.view = view
        self.limit = limit
        self.over = False
        with ui.element("div").classes(ROW_CLASSES).mark("session-row") as self.element:
            with ui.column().classes("gap-0 w-full md:w-1/4 min-w-0"):
                name = ui.label(view.name).classes("font-medium truncate").mark("session-name")
                if view.is_guest:
                    name.classes("italic text-gray-600")
                ui.label(view.ip).classes("text-xs text-gray-500 md:hidden")
            ui.label(view.ip).classes("max-md:hidden md:w-1/6 text-sm text-gray-700 truncate").mark("session-ip")
            with ui.column().classes("gap-0 w-full md:w-1/4 min-w-0"):
                ui.label(view.module_name).classes("truncate").mark("session-module")
                if view.module_slug:
                    ui.label(view.module_slug).classes("text-xs text-gray-500 truncate")
            with ui.row().classes("items-center gap-2 md:w-1/6"):
                self.badge = (
                    ui.badge("", color=None)
                    .classes(f"text-sm px-2 py-1 text-white {BADGE_OK}")
                    .props("aria-label='time on module'")
                    .mark("session-time")
                )
            self.idle = ui.label("").classes("text-xs text-amber-700 md:w-1/12").mark("session-idle")
            self.limit_label = ui.label("").classes("text-xs text-gray-600 md:w-1/12").mark("session-limit")
        self.set_limit(limit)

    def tick(self, now_ms: int) -> None:
        on_module = self.view.on_module_s(now_ms)
        self.badge.set_text(format_duration(on_module))
        idle = self.view.idle_s(now_ms)
        self.idle.set_text(f"idle {format_duration(idle)}" if idle > IDLE_SHOWN_AFTER_S else "")
        over = self.limit is not None and on_module >= self.limit * 60
        if over != self.over:
            self.over = over
            self.badge.classes(add=BADGE_OVER if over else BADGE_OK, remove=BADGE_OK if over else BADGE_OVER)
            self.element.classes(add="bg-red-50") if over else self.element.classes(remove="bg-red-50")

    def set_limit(self, limit: int | None) -> None:
        self.limit = limit
        self.limit_label.set_text(f"limit {limit} min" if limit else "")


class SessionList:
    """All open sessions, longest on module first."""

    def __init__(self, services: Services, hub: Hub) -> None:
        self.services = services
        self._sessions: dict[Key, OpenSession] = {}
        self._order: list[tuple[int, Key]] = []  # (start_ms, key), ascending start = longest first
        self._rows: dict[Key, SessionRow] = {}
        with ui.element("div").classes("w-full") as self.root:
            with ui.row().classes(
                "max-md:hidden w-full gap-x-4 px-3 py-1 text-xs uppercase tracking-wide text-gray-500 flex-nowrap"
            ):
                ui.label("Learner").classes("w-1/4")
                ui.label("Device IP").classes("w-1/6")
                ui.label("Module").classes("w-1/4")
                ui.label("Time on module").classes("w-1/6")
                ui.label("Idle").classes("w-1/12")
                ui.label("Limit").classes("w-1/12")
            self.body = ui.column().classes("w-full gap-2 md:gap-0")
            self.empty = ui.label(self._empty_text()).classes("text-gray-500 p-4").mark("sessions-empty")
            self.more = ui.label("").classes("text-sm text-gray-500 p-2").mark("sessions-more")
        for session in services.monitor.store.sessions():
            self._put(session)
        self._render()
        hub.sessions_changed.subscribe(self.apply)
        hub.second.subscribe(self.tick)
        hub.limits_changed.subscribe(self.refresh_limits)
        hub.catalog_changed.subscribe(self.rebuild)

    def _empty_text(self) -> str:
        if self.services.monitor.running:
            return "No one is on a module right now. Sessions appear here as soon as a device opens one."
        return "No open sessions. Start monitoring to follow oc4d's journal."

    # ------------------------------------------------------------------ model

    def _put(self, session: OpenSession) -> None:
        old = self._sessions.get(session.key)
        if old is not None:
            self._drop(old)
        copy = OpenSession(session.ip, session.user, session.module, session.start_ms, session.last_ms)
        self._sessions[session.key] = copy
        bisect.insort(self._order, (copy.start_ms, copy.key))

    def _drop(self, session: OpenSession) -> None:
        index = bisect.bisect_left(self._order, (session.start_ms, session.key))
        if index < len(self._order) and self._order[index] == (session.start_ms, session.key):
            del self._order[index]
        del self._sessions[session.key]

    # ------------------------------------------------------------------ view

    def apply(self, changes: dict[Key, OpenSession | None]) -> None:
        """A batch of opened/updated (session) and closed (None) sessions."""
        for key, session in changes.items():
            old = self._sessions.get(key)
            if session is None:
                if old is not None:
                    self._drop(old)
            elif old is not None and (old.start_ms, old.module) == (session.start_ms, session.module):
                old.last_ms = session.last_ms
                row = self._rows.get(key)
                if row is not None and row.view.last_ms != session.last_ms:
                    row.view = replace(row.view, last_ms=session.last_ms)
            else:
                self._put(session)
        self._render()

    def _render(self) -> None:
        visible = [key for _, key in self._order[:MAX_ROWS]]
        wanted = set(visible)
        for key in [k for k in self._rows if k not in wanted]:
            self.body.remove(self._rows.pop(key).element)
        now_ms = time.time_ns() // 1_000_000
        for index, key in enumerate(visible):
            session = self._sessions[key]
            row = self._rows.get(key)
            if row is not None and (row.view.start_ms, row.view.module) != (session.start_ms, session.module):
                self.body.remove(self._rows.pop(key).element)
                row = None
            if row is None:
                with self.body:
                    row = SessionRow(
                        row_view(session, self.services.catalog), self.services.limits.limit_for(session.module)
                    )
                row.element.move(self.body, target_index=index)
                row.tick(now_ms)
                self._rows[key] = row
        hidden = len(self._order) - len(visible)
        self.more.set_text(f"+ {hidden} more open sessions (shorter than those shown)" if hidden > 0 else "")
        self.empty.set_text(self._empty_text())
        self.empty.set_visibility(not self._order)

    def tick(self, now_ms: int) -> None:
        for row in self._rows.values():
            row.tick(now_ms)

    def refresh_limits(self) -> None:
        for key, row in self._rows.items():
            row.set_limit(self.services.limits.limit_for(self._sessions[key].module))
        self.tick(time.time_ns() // 1_000_000)

    def rebuild(self) -> None:
        """Names come from the catalog: redraw every row after it changed."""
        for row in self._rows.values():
            self.body.remove(row.element)
        self._rows.clear()
        self._render()
