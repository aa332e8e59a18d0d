"""The live sessions table: one row element per open session, updated in place.

Session changes arrive in batches from the hub; only the rows that changed are touched, and the
per-second tick only rewrites the time texts that changed. On a phone the rows wrap into cards.
"""

from __future__ import annotations

from dataclasses import replace
from html import escape

from nicegui import ui

from components.bind import bind_classes
from components.hub import Hub
from gaze.board import IDLE_SHOWN_AFTER_S, RowView, format_duration, row_view
from gaze.services import Services
from gaze.sessions import Key

PAGE_ROWS = 50  # rows drawn per dashboard at first (longest first); "Show more" adds as many
ROW_CLASSES = (
    "w-full items-center gap-x-4 gap-y-1 px-3 py-2 flex flex-wrap md:flex-nowrap border border-gray-200 rounded "
    "md:border-0 md:border-b md:rounded-none"
)
BADGE_BASE = "inline-block rounded text-sm px-2 py-1 text-white whitespace-nowrap"
BADGE_OK = "bg-primary"
BADGE_OVER = "bg-red-600 animate-pulse"
FROZEN_CLASSES = "opacity-50 grayscale"


class SessionRow:
    """One row = one element (memory per open dashboard matters: a NiceGUI element costs ~4 KB).

    Every value that comes from a log line is escaped here, and the browser sanitizes the HTML again
    (DOMPurify), so a name like `<img src=x onerror=…>` is shown as text.
    """

    def __init__(self, view: RowView, limit: int | None) -> None:
        self.view = view
        self.limit = limit
        self.over = False
        name_classes = "font-medium truncate w-full md:w-1/4" + (" italic text-gray-600" if view.is_guest else "")
        module = view.module_name + (f" · {view.module_slug}" if view.module_slug else "")
        self._head = (
            f'<div class="{name_classes}">{escape(view.name)}</div>'
            f'<div class="text-sm text-gray-600 truncate md:w-1/6">{escape(view.device)}</div>'
            f'<div class="truncate w-full md:w-1/4">{escape(module)}</div>'
        )
        self.element = ui.html("", sanitize=True).classes(ROW_CLASSES).mark("session-row")

    def tick(self, now_ms: int) -> None:
        on_module = self.view.on_module_s(now_ms)
        idle = self.view.idle_s(now_ms)
        extra = [f"idle {format_duration(idle)}"] if idle > IDLE_SHOWN_AFTER_S else []
        if self.limit:
            extra.append(f"limit {self.limit} min")
        over = self.limit is not None and on_module >= self.limit * 60
        if over != self.over:
            self.over = over
            self.element.classes(add="bg-red-50") if over else self.element.classes(remove="bg-red-50")
        self.element.set_content(
            self._head
            + f'<span role="status" aria-label="time on module" class="{BADGE_BASE} {BADGE_OVER if over else BADGE_OK}">'
            f"{format_duration(on_module)}</span>"
            f'<div class="text-xs text-gray-600 md:w-1/6">{escape(" · ".join(extra))}</div>'
        )

    def set_limit(self, limit: int | None, now_ms: int) -> None:
        self.limit = limit
        self.tick(now_ms)


class SessionList:
    """The open sessions, longest on module first: the first `max_rows` of the hub's shared order."""

    def __init__(self, services: Services, hub: Hub) -> None:
        self.services = services
        self.order = hub.order
        self.hub = hub
        self._rows: dict[Key, SessionRow] = {}
        self.max_rows = PAGE_ROWS
        with ui.element("div").classes("w-full transition-opacity") as self.root:
            with ui.row().classes(
                "max-md:hidden w-full gap-x-4 px-3 py-1 text-xs uppercase tracking-wide text-gray-500 flex-nowrap"
            ):
                ui.label("Learner").classes("w-1/4")
                ui.label("Device IP").classes("w-1/6")
                ui.label("Module").classes("w-1/4")
                ui.label("Time on module").classes("w-1/6")
                ui.label("Idle · limit").classes("w-1/6")
            self.body = ui.column().classes("w-full gap-2 md:gap-0")
            self.empty = ui.label(self._empty_text()).classes("text-gray-500 p-4").mark("sessions-empty")
            with ui.row().classes("items-center gap-2 p-2") as self.more_row:
                self.more = ui.label("").classes("text-sm text-gray-500").mark("sessions-more")
                ui.button("Show more", on_click=self.show_more).props("flat dense").mark("sessions-show-more")
        bind_classes(self.root, hub.status, "frozen", FROZEN_CLASSES)
        self._render()
        hub.sessions_changed.subscribe(self._render)
        hub.second.subscribe(self.tick)
        hub.limits_changed.subscribe(self.refresh_limits)
        hub.catalog_changed.subscribe(self.rebuild)
        hub.labels_changed.subscribe(self.rebuild)

    def _empty_text(self) -> str:
        if self.services.monitor.running:
            return "No one is on a module right now. Sessions appear here as soon as a device opens one."
        return "No open sessions. Start monitoring to follow oc4d's journal."

    def _render(self) -> None:
        """Bring the drawn rows in line with the top of the shared order (after each change batch)."""
        visible = self.order.top(self.max_rows)
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
                    row = SessionRow(
                        row_view(session, self.services.catalog, self.services.devices.label),
                        self.services.limits.limit_for(session.module),
                    )
                row.element.move(self.body, target_index=index)
                row.tick(now_ms)
                self._rows[session.key] = row
            elif row.view.last_ms != session.last_ms:
                row.view = replace(row.view, last_ms=session.last_ms)
        hidden = len(self.order) - len(visible)
        self.more.set_text(f"{hidden} more open sessions, shorter than those shown" if hidden > 0 else "")
        self.more_row.set_visibility(hidden > 0)
        self.empty.set_text(self._empty_text())
        self.empty.set_visibility(not len(self.order))

    def show_more(self) -> None:
        self.max_rows += PAGE_ROWS
        self._render()

    def tick(self, now_ms: int) -> None:
        for row in self._rows.values():
            row.tick(now_ms)

    def refresh_limits(self) -> None:
        now_ms = self.hub.now_ms()
        for row in self._rows.values():
            row.set_limit(self.services.limits.limit_for(row.view.module), now_ms)

    def rebuild(self) -> None:
        """Names come from the catalog and the device labels: redraw every row after they changed."""
        for row in self._rows.values():
            self.body.remove(row.element)
        self._rows.clear()
        self._render()
