"""A device's day, opened from a live row: its sessions today on a timeline (the open one too), its
name editable in place, and — for a signed-in learner — time per module over a chosen range."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Protocol

from nicegui import ui

from components.actions import Actions, NotAllowed
from components.charts import Segment, bar_series, minutes_bars, redraw, timeline
from components.frame import icon_button, name_dialog
from gaze import history
from gaze.board import Names, RowView, format_duration
from gaze.devices import LabelError
from gaze.history import Filters, Range, SessionItem

USER_RANGES = {"today": "Today", "7d": "Last 7 days", "month": "This month"}
RANGE_OF = {"today": history.today, "7d": lambda: history.last_days(7), "month": history.this_month}


class DayReads(Protocol):
    """What the dialog reads of the ended sessions (pages/history.py's Reads answers it)."""

    async def device_timeline(self, ip: str, day: date) -> list[SessionItem]: ...

    async def minutes_by_module(self, rng: Range, filters: Filters, top: int) -> list[tuple[str, float]]: ...


class DeviceDay:
    """One dialog per page, filled for the row that was clicked; `reads` has the ended sessions."""

    def __init__(self, actions: Actions, names: Names, reads: DayReads) -> None:
        self.actions = actions
        self.names = names
        self.reads = reads
        self.view: RowView | None = None
        with ui.dialog() as self.dialog, ui.card().classes("w-full max-w-3xl").mark("device-day"):
            with ui.row().classes("w-full items-center flex-nowrap"):
                self.title = ui.label("").classes("text-lg font-semibold truncate min-w-0")
                ui.space()
                icon_button("close", "Close the device's day", self.dialog.close)
            name_dialog(self.dialog, self.title)
            with ui.row().classes("w-full items-center gap-2 flex-nowrap") as self.rename:
                self.name = ui.input("Device name", placeholder="e.g. Tablet 07").props("dense").classes("flex-grow")
                self.name.on("keydown.enter", self.save_name)
                ui.button("Save name", on_click=self.save_name).props("flat dense").mark("device-day-save")
            self.rename.set_visibility(actions.is_admin)
            self.summary = ui.label("").classes("text-sm text-gray-700").mark("device-day-summary")
            # SVG: a few bars and times, sharp on any screen (each word an element a test can measure)
            self.timeline = ui.echart(timeline([]), renderer="svg").classes("w-full h-56").mark("device-day-timeline")
            with ui.column().classes("w-full gap-1") as self.learner:
                with ui.row().classes("w-full items-center gap-2 flex-wrap"):
                    self.learner_title = ui.label("").classes("font-semibold")
                    self.range = (
                        ui.toggle(USER_RANGES, value="today", on_change=self._load_learner)
                        .props("dense no-caps")
                        .classes("flex-wrap")
                    )
                self.learner_empty = ui.label("No ended sessions of this learner in this range yet.").classes(
                    "text-sm text-gray-500"
                )
                self.learner_chart = (
                    ui.echart(minutes_bars([], [bar_series([])])).classes("w-full h-48").mark("device-day-learner")
                )

    async def show(self, view: RowView) -> None:
        self.view = view
        self.title.set_text(f"{view.device}: today")
        self.name.set_value(self.names.label(view.ip) or "")
        self.learner.set_visibility(not view.is_guest)
        self.learner_title.set_text(f"{view.name}: minutes per module")
        self.dialog.open()
        await self._load_day()
        if not view.is_guest:
            await self._load_learner()

    async def _load_day(self) -> None:
        view = self.view
        if view is None:
            return
        items = await self.reads.device_timeline(view.ip, date.today())
        names = self.names.module
        segments = [Segment(names(i.module), i.start_ms, i.end_ms, names(i.module)) for i in items]
        now_ms = self.actions.hub.now_ms()
        session = self.actions.hub.order.get(view.key)
        if session is not None:
            module = names(session.module)
            segments.append(Segment(module, session.start_ms, now_ms, f"{module} (open)", is_open=True))
        closed = sum(i.duration_s for i in items)
        open_s = (now_ms - session.start_ms) / 1000 if session is not None else 0
        self.summary.set_text(
            f"{len(items)} ended session{'s' if len(items) != 1 else ''} today ({format_duration(closed)})"
            + (f", and the open one on {names(session.module)} ({format_duration(open_s)} so far)" if session else "")
        )
        redraw(self.timeline, timeline(segments))

    async def _load_learner(self) -> None:
        view = self.view
        if view is None or view.is_guest:
            return
        rng = RANGE_OF[self.range.value or "today"]()
        points = await self.reads.minutes_by_module(rng, Filters(user=view.key[1]), 15)
        self.learner_empty.set_visibility(not points)
        self.learner_chart.set_visibility(bool(points))
        names = [self.names.module(slug) for slug, _ in points]
        redraw(self.learner_chart, minutes_bars(names, [bar_series([m for _, m in points])]))

    async def save_name(self) -> None:
        view = self.view
        if view is None:
            return
        with contextlib.suppress(NotAllowed), self.dialog:
            try:
                stored = await self.actions.set_device_label(view.ip, self.name.value or "")
            except LabelError as exc:
                ui.notify(f"Name not saved: {exc}", type="negative")
                return
            self.title.set_text(f"{self.names.device(view.ip)}: today")
            ui.notify(f"{view.ip} is now called {stored}" if stored else f"Name of {view.ip} removed")
