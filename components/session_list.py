"""The live sessions table: one row element per open session, updated in place.

Session changes arrive in batches from the hub; only the rows that changed are touched, and the
per-second tick only rewrites the time texts that changed. On a phone the rows wrap into cards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from html import escape

from nicegui import ui

from components.bind import bind_classes
from components.deferred import Deferred
from components.hub import Hub
from gaze.board import IDLE_SHOWN_AFTER_S, Names, RowView, format_duration, row_view
from gaze.limits import past_limit
from gaze.sessions import Key

PAGE_ROWS = 50  # rows drawn per dashboard at first (longest first); "Show more" adds as many
# Rows in the page's first HTML: a screenful on a desk (about 11 rows at 1280×900), more than a
# phone shows. The rest of the first PAGE_ROWS come once the page is connected, so the first row
# does not wait for the server to build, and the browser to draw, rows below the fold (issue 21).
FIRST_ROWS = 12
# One grid for the column titles and every row, so they line up: on a phone a row is a small card
# (learner and device, module, then idle · limit and the time badge on the right, which keeps its
# width however large the type), from md up five columns.
COLUMN_TITLES = ("Learner", "Device", "Module", "Time on module", "Idle · limit")
GRID = (
    "grid gap-x-4 gap-y-1 items-center grid-cols-[minmax(0,1fr)_auto] "
    "md:grid-cols-[minmax(0,3fr)_minmax(0,2fr)_minmax(0,3fr)_minmax(0,1.3fr)_minmax(0,1.5fr)]"
)
ROW_CLASSES = f"w-full {GRID} px-3 py-2 border border-gray-200 rounded md:border-0 md:border-b md:rounded-none"
OVER_ROW = "bg-red-50 order-first"  # over-limit sessions come first (CSS order: the DOM keeps its order)
BADGE_BASE = (
    "justify-self-end md:justify-self-start rounded text-sm px-2 py-1 text-white whitespace-nowrap tabular-nums"
)
BADGE_OK = "bg-primary"
BADGE_OVER = "bg-red-600 font-semibold ring-2 ring-red-300 over-pulse"  # no fading: readable at a glance
# The over-limit badge pulses (its ring grows and fades, the text stays as it is), as upstream's
# did; not for those who asked their system for less motion.
PULSE_CSS = """
@keyframes over-pulse {
  0%, 100% { box-shadow: 0 0 0 2px #fca5a5; }
  50% { box-shadow: 0 0 0 6px rgba(220, 38, 38, 0.35); }
}
.over-pulse { animation: over-pulse 1.6s ease-in-out infinite; }
@media (prefers-reduced-motion: reduce) { .over-pulse { animation: none; } }
"""
BADGE_PROPS = {"role": "status", "aria-label": "time on module"}  # a dict: no props string to parse per row
FROZEN_CLASSES = "opacity-50 grayscale"
Opener = Callable[[RowView], Awaitable[None]]
LimitFor = Callable[[str], int | None]  # a session's module -> its limit in minutes, if any


def idle_text(idle_s: float) -> str:
    """Idle time to the minute: it changes once a minute, not every second (the wire matters)."""
    return f"idle {int(idle_s // 60)} min" if idle_s > IDLE_SHOWN_AFTER_S else ""


class LiveRow:
    """One open session: four elements (a board holds up to 50 rows, each element costs memory).
    Each second only the text of the time element is sent (about 40 bytes); the names with the
    idle/limit text at most once a minute; classes when the row crosses its limit.

    Every value that comes from a log line is escaped here, and the browser sanitizes the HTML again
    (DOMPurify), so a name like `<img src=x onerror=…>` is shown as text.
    """

    def __init__(self, view: RowView, limit: int | None, on_open: Opener | None = None, *, now_ms: int) -> None:
        self.view = view
        self.limit = limit
        # Built as it is at `now_ms`: a row costs one change per element, not a second round of updates.
        self.over, self._time, self._extra = self._state(now_ms)
        name_classes = "font-medium truncate" + (" italic text-gray-600" if view.is_guest else "")
        # The module's name only; its id (for an operator) in the tooltip.
        module_id = f' title="{escape(view.module_name)} · id {escape(view.module_slug)}"' if view.module_slug else ""
        self._head = (
            f'<div class="{name_classes}">{escape(view.name)}</div>'
            f'<div class="text-sm text-gray-600 truncate max-md:text-right">{escape(view.device)}</div>'
            f'<div class="truncate max-md:col-span-2"{module_id}>{escape(view.module_name)}</div>'
        )
        row_classes = ROW_CLASSES + (f" {OVER_ROW}" if self.over else "")
        if on_open is not None:
            row_classes += " cursor-pointer hover:bg-gray-50"
        badge_classes = f"{BADGE_BASE} {BADGE_OVER if self.over else BADGE_OK}"
        with ui.element("div").classes(row_classes).mark("session-row") as self.element:
            # Names and the idle/limit text in one element ("contents": its cells sit in the row's grid;
            # from md up the idle/limit cell is placed after the time by CSS order) — resent once a minute at most.
            self.cells = ui.html(self._cells(self._extra), sanitize=True).classes("contents")
            # The time is a bare label inside the badge: each second NiceGUI resends the changed
            # element whole, and a bare label is ~40 bytes; the badge itself (its classes, role and
            # name, ~280 bytes) is resent only when the row crosses its limit (bench/live.py (c)).
            with ui.element("div").classes(badge_classes) as self.badge:
                self.badge.props.update(BADGE_PROPS)
                self.time = ui.label(self._time)
        if on_open is not None:  # the device's day; a keyboard reaches it too
            self.element.props.update(tabindex="0", title="Open this device's day")
            self.element.on("click", lambda: on_open(self.view))
            self.element.on("keydown.enter", lambda: on_open(self.view))

    def _cells(self, extra: str) -> str:
        return self._head + f'<div class="md:order-1 text-xs text-gray-600">{escape(extra)}</div>'

    def _state(self, now_ms: int) -> tuple[bool, str, str]:
        """(over the limit, the time text, the idle/limit text) at `now_ms`."""
        over = self.limit is not None and past_limit(self.view.start_ms, now_ms, self.limit)
        parts = [idle_text(self.view.idle_s(now_ms))]
        if self.limit:
            parts.append(f"limit {self.limit} min")
        return over, format_duration(self.view.on_module_s(now_ms)), " · ".join(p for p in parts if p)

    def tick(self, now_ms: int) -> None:
        over, text, extra = self._state(now_ms)
        if over != self.over:
            self.over = over
            if over:
                self.element.classes(add=OVER_ROW)
                self.badge.classes(add=BADGE_OVER, remove=BADGE_OK)
            else:
                self.element.classes(remove=OVER_ROW)
                self.badge.classes(add=BADGE_OK, remove=BADGE_OVER)
        if text != self._time:
            self._time = text
            self.time.set_text(text)
        if extra != self._extra:
            self._extra = extra
            self.cells.set_content(self._cells(extra))

    def set_limit(self, limit: int | None, now_ms: int) -> None:
        self.limit = limit
        self.tick(now_ms)


class SessionList:
    """The open sessions, longest on module first: the first `max_rows` of the hub's shared order."""

    def __init__(
        self, hub: Hub, names: Names, limit_for: LimitFor, on_open: Opener | None = None, *, controls: bool = True
    ) -> None:
        self.names = names
        self.limit_for = limit_for
        self.on_open = on_open
        self.order = hub.order
        self.hub = hub
        self._rows: dict[Key, LiveRow] = {}
        self.max_rows = PAGE_ROWS
        ui.add_css(PULSE_CSS)
        with ui.element("div").classes("w-full") as self.root:
            # The column titles in one element (issue 21); each wraps between words, never cut (the
            # wall's large type).
            ui.html(
                "".join(f'<div class="leading-tight">{title}</div>' for title in COLUMN_TITLES), sanitize=True
            ).classes(f"max-md:hidden w-full {GRID} px-3 py-1 text-xs uppercase tracking-wide text-gray-500")
            self.body = ui.column().classes("w-full gap-2 md:gap-0")
            # Built when first needed (issue 21): most boards never show either.
            self.empty = Deferred(lambda: ui.label().classes("text-gray-500 p-4").mark("sessions-empty"))
            self.more_row = Deferred(lambda: self._more_row(controls))
        self.more: ui.label | None = None  # in `more_row`, once built
        bind_classes(self.root, hub.status, "frozen", FROZEN_CLASSES)
        client = ui.context.client
        self._connected = client.has_socket_connection
        self._render()
        if not self._connected:
            client.on_connect(self._on_connect)
        hub.sessions_changed.subscribe(self._render)
        hub.second.subscribe(self.tick)
        hub.limits_changed.subscribe(self.refresh_limits)
        hub.catalog_changed.subscribe(self.rebuild)
        hub.labels_changed.subscribe(self.rebuild)

    def _empty_text(self) -> str:
        if self.hub.status.monitoring:
            return "No one is on a module right now. Sessions appear here as soon as a device opens one."
        return "No open sessions. Start monitoring to see who is on a module."

    def _on_connect(self) -> None:
        """The rest of the first PAGE_ROWS (NiceGUI calls this again after a reconnect: no change then)."""
        self._connected = True
        self._render()

    def _render(self) -> None:
        """Bring the drawn rows in line with the top of the shared order (after each change batch);
        until the page is connected only the first FIRST_ROWS."""
        visible = self.order.top(self.max_rows if self._connected else min(self.max_rows, FIRST_ROWS))
        wanted = {s.key for s in visible}
        for key in [k for k in self._rows if k not in wanted]:
            self.body.remove(self._rows.pop(key).element)
        now_ms = self.hub.now_ms()
        for index, session in enumerate(visible):
            row = self._rows.get(session.key)
            if row is not None and (row.view.start_ms, row.view.module) != (session.start_ms, session.module):
                self.body.remove(self._rows.pop(session.key).element)
                row = None
            if row is None:
                with self.body:
                    row = LiveRow(
                        row_view(session, self.names.catalog, self.names.labels),
                        self.limit_for(session.module),
                        self.on_open,
                        now_ms=now_ms,
                    )
                if index != len(self.body.default_slot.children) - 1:  # a new row is added last
                    row.element.move(self.body, target_index=index)
                self._rows[session.key] = row
            elif row.view.last_ms != session.last_ms:
                row.view = replace(row.view, last_ms=session.last_ms)
        hidden = max(0, len(self.order) - self.max_rows)  # not the rows still to come once connected
        if hidden > 0 or self.more_row.made is not None:
            self.more_row.get().set_visibility(hidden > 0)
            assert self.more is not None
            self.more.set_text(f"{hidden} more open sessions, shorter than those shown" if hidden > 0 else "")
        if not len(self.order) or self.empty.made is not None:
            self.empty.get().set_text(self._empty_text())
            self.empty.get().set_visibility(not len(self.order))

    def _more_row(self, controls: bool) -> ui.row:
        with ui.row().classes("items-center gap-2 p-2") as row:
            self.more = ui.label("").classes("text-sm text-gray-500").mark("sessions-more")
            if controls:
                ui.button("Show more", on_click=self.show_more).props("flat dense").mark("sessions-show-more")
        return row

    def show_more(self) -> None:
        self.max_rows += PAGE_ROWS
        self._render()

    def tick(self, now_ms: int) -> None:
        for row in self._rows.values():
            row.tick(now_ms)

    def refresh_limits(self) -> None:
        now_ms = self.hub.now_ms()
        for row in self._rows.values():
            row.set_limit(self.limit_for(row.view.module), now_ms)

    def rebuild(self) -> None:
        """Names come from the catalog and the device labels: redraw every row after they changed."""
        for row in self._rows.values():
            self.body.remove(row.element)
        self._rows.clear()
        self._render()
