"""A device's day, opened from a live row: its sessions today on a timeline (the open one too) with a
key to its colours, its name editable in place, and — for a signed-in learner — that learner's time
per module on any device over a chosen range. The top line says whose sessions it counts (everyone's
on this device), the learner's part whose (that learner's, on any device): they never seem to
disagree. Module names wrap instead of being cut."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any, Protocol

from nicegui import ui

from components.actions import Actions, NotAllowed
from components.charts import ENDED_COLOR, NARROW_PX, Segment, bar_series, minutes_bars, redraw, timeline
from components.frame import icon_button, name_dialog
from components.messages import tell
from components.theme import OPEN_COLOR
from gaze import history
from gaze.board import Names, RowView, format_duration
from gaze.devices import LabelError
from gaze.history import Filters, Range, SessionItem
from gaze.logline import GUEST

USER_RANGES = {"today": "Today", "7d": "Last 7 days", "month": "This month"}
RANGE_OF = {"today": history.today, "7d": lambda: history.last_days(7), "month": history.this_month}
NAMES_PX = {"desk": 220, "phone": 120}  # room for a module's name beside the bars; longer ones wrap
ROW_PX = 40  # a chart's height per module (a wrapped name takes up to three lines)


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
            _key()
            with ui.column().classes("w-full gap-1") as self.learner:
                with ui.row().classes("w-full items-center gap-2 flex-wrap"):
                    self.learner_title = ui.label("").classes("font-semibold")
                    self.range = (
                        ui.toggle(USER_RANGES, value="today", on_change=self._load_learner)
                        .props("dense no-caps")
                        .classes("flex-wrap")
                    )
                self.learner_empty = ui.label("").classes("text-sm text-gray-500").mark("device-day-learner-empty")
                self.learner_chart = (
                    ui.echart(minutes_bars([], [bar_series([])])).classes("w-full h-48").mark("device-day-learner")
                )

    async def show(self, view: RowView) -> None:
        self.view = view
        self.title.set_text(f"{view.device}: today")
        self.name.set_value(self.names.label(view.ip) or "")
        self.learner.set_visibility(not view.is_guest)
        self.learner_title.set_text(f"{view.name} on any device: minutes per module")
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
        summary = self._ended_text(items)
        if session is not None:
            module = names(session.module)
            segments.append(Segment(module, session.start_ms, now_ms, f"{module} (open)", is_open=True))
            so_far = format_duration((now_ms - session.start_ms) / 1000)
            summary += f"; open now: {self._who(view.key[1])} on {module} ({so_far} so far)"
        self.summary.set_text(summary + ".")
        rows = len({s.row for s in segments})
        self.timeline.style(f"height: {max(160, 70 + ROW_PX * rows)}px")
        redraw(self.timeline, names_whole(timeline(segments)))

    def _ended_text(self, items: list[SessionItem]) -> str:
        """What the top line counts: every ended session on this device today, and whose they were."""
        if not items:
            return "Today on this device, anyone's: no ended sessions yet"
        count = f"{len(items)} ended session{'s' if len(items) != 1 else ''}"
        learners = sorted({self._who(i.user) for i in items})
        by = " and ".join(learners) if len(learners) <= 2 else f"{len(learners)} learners"
        closed = format_duration(sum(i.duration_s for i in items))
        return f"Today on this device, anyone's: {count} ({closed}) by {by}"

    def _who(self, user: str) -> str:
        return "a Guest" if user == GUEST else self.names.learner(user)

    async def _load_learner(self) -> None:
        view = self.view
        if view is None or view.is_guest:
            return
        choice = self.range.value or "today"
        points = await self.reads.minutes_by_module(RANGE_OF[choice](), Filters(user=view.key[1]), 15)
        when = USER_RANGES[choice].lower()
        self.learner_empty.set_text(f"No ended sessions of {view.name} on any device {when} yet.")
        self.learner_empty.set_visibility(not points)
        self.learner_chart.set_visibility(bool(points))
        self.learner_chart.style(f"height: {max(160, 60 + ROW_PX * len(points))}px")
        names = [self.names.module(slug) for slug, _ in points]
        redraw(self.learner_chart, names_whole(minutes_bars(names, [bar_series([m for _, m in points])])))

    async def save_name(self) -> None:
        view = self.view
        if view is None:
            return
        with contextlib.suppress(NotAllowed), self.dialog:
            try:
                stored = await self.actions.set_device_label(view.ip, self.name.value or "")
            except LabelError as exc:
                tell(f"Name not saved: {exc}", "refused")
                return
            self.title.set_text(f"{self.names.device(view.ip)}: today")
            tell(f"{view.ip} is now called {stored}" if stored else f"Name of {view.ip} removed")


def _key() -> None:
    """What the timeline's colours mean (a phone has no hover to ask the tooltip)."""
    with ui.row().classes("items-center gap-x-4 gap-y-1 text-xs text-gray-700 flex-wrap").mark("device-day-key"):
        for color, words in ((ENDED_COLOR, "ended session"), (OPEN_COLOR, "open session, still going")):
            with ui.row().classes("items-center gap-1 flex-nowrap"):
                ui.element("span").classes("inline-block w-4 h-2 rounded-sm").style(f"background: {color}")
                ui.label(words)


def names_whole(options: dict[str, Any]) -> dict[str, Any]:
    """`options` of a chart with module names beside its bars, the names wrapped on a few lines
    instead of cut ("Acids, Bases and Salts" whole); narrower on a phone (an ECharts media query)."""

    def room(px: int) -> dict[str, Any]:
        return {"grid": {"left": px + 10}, "yAxis": {"axisLabel": {"width": px, "overflow": "break"}}}

    base = {**options, "grid": {**options["grid"], **room(NAMES_PX["desk"])["grid"]}}
    base["yAxis"] = {**options["yAxis"], **room(NAMES_PX["desk"])["yAxis"]}
    return {"baseOption": base, "media": [{"query": {"maxWidth": NARROW_PX}, "option": room(NAMES_PX["phone"])}]}
