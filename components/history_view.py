"""/history's widget: what happened today, this week, this term — totals, charts, sessions,
a device's day (a dialog, components/history_day.py), the daily archives. It asks `HistoryReads`
(the page's) for what it shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any, Protocol
from urllib.parse import urlencode

from nicegui import ui

from components.charts import Segment, bar_series, minutes_bars, redraw
from components.history_controls import BarButtons, HistoryControls
from components.history_day import HistoryDay
from components.history_table import NO_SESSIONS, SessionTable, pages
from components.hub import Hub
from components.url_history import UrlHistory
from gaze.board import Names, format_duration
from gaze.history import Filters, Range, SessionItem, Totals
from gaze.history_filters import typed_filters
from gaze.history_url import HistoryQuery

LABEL_WIDTH = 140  # px of module names on /history's charts
TOP = 15  # modules on the module chart


class HistoryReads(Protocol):
    """What /history reads (the page's): the ended sessions, off the event loop; the names; the
    daily archives."""

    names: Names

    def modules(self) -> dict[str, str]:
        """slug -> what the module select shows."""
        ...

    def devices(self) -> dict[str, str]:
        """ip -> the admin's name for that device."""
        ...

    async def totals(self, rng: Range, filters: Filters) -> Totals: ...

    async def minutes_by_module(self, rng: Range, filters: Filters, top: int) -> list[tuple[str, float]]: ...

    async def activity_by_hour(self, rng: Range, filters: Filters) -> list[float]: ...

    async def sessions_page(self, rng: Range, filters: Filters, q: HistoryQuery) -> tuple[list[SessionItem], int]:
        """`q.page` of the sessions (PAGE_SIZE a page) in `q`'s sort, and how many there are."""
        ...

    async def device_timeline(self, ip: str, day: date) -> list[SessionItem]: ...

    def archives(self) -> tuple[list[str], str | None]:
        """The daily archives' names, newest first, and why they cannot be read (None: they can)."""
        ...


def _card(title: str, marker: str) -> ui.label:
    with ui.card().classes("w-full"):
        ui.label(title).classes("text-sm text-gray-600")
        return ui.label("–").classes("text-2xl font-semibold").mark(marker)


def _module_bars(names: list[str], points: list[tuple[str, float]], empty: str = "") -> dict[str, Any]:
    return minutes_bars(names, [bar_series([m for _, m in points])], label_width=LABEL_WIDTH, empty=empty)


class HistoryView:
    """Range and filters at the top (kept in the URL); everything below follows them.

    Each step the admin may want to go back to (a range, a module, a date, a sort, a page, a new
    text filter) is an entry in the browser's history; more keystrokes in the same text filter
    replace it. Back and Forward show the state of their entry again, without a reload."""

    def __init__(self, hub: Hub, reads: HistoryReads, q: HistoryQuery, notes: list[str]) -> None:
        self.hub = hub
        self.reads = reads
        self.names = reads.names
        self.q = q
        self._chart_slugs: list[str] = []
        self._totals: Totals | None = None
        self._busy = False
        self._typing: str | None = None  # the text filter the last step was typed in
        self.url = UrlHistory("/history", self._popped)
        self.controls = HistoryControls(
            q,
            notes,
            reads.modules(),
            on_change=self._changed,
            on_range=self._range_changed,
            on_clear=self.clear_filters,
            on_download=self.download,
        )
        self._totals_cards()
        self._charts()
        with ui.card().classes("w-full"):
            ui.label("Sessions — click a header to sort, a row for that device's day (it opens over the page)").classes(
                "font-semibold max-sm:hidden"
            )
            ui.label("Sessions — tap one for that device's day").classes("font-semibold sm:hidden")
            self.sessions = SessionTable(self._sort_changed, self._page_changed, self._row_clicked)
        self.day = HistoryDay(LABEL_WIDTH)
        with ui.card().classes("w-full"):
            ui.label("Daily log archives").classes("font-semibold")
            self.archives = ui.column().classes("gap-1")
        self._draw_archives()
        hub.today_changed.subscribe(self._today_changed)

    def _totals_cards(self) -> None:
        with ui.element("div").classes("w-full grid grid-cols-2 md:grid-cols-4 gap-3"):
            self.total_time = _card("Learning time", "total-time")
            self.total_sessions = _card("Sessions", "total-sessions")
            self.total_devices = _card("Devices", "total-devices")
            self.total_users = _card("Signed-in users", "total-users")

    def _charts(self) -> None:
        with ui.element("div").classes("w-full grid grid-cols-1 md:grid-cols-2 gap-4"):
            with ui.card().classes("w-full"):
                ui.label(f"Minutes per module (top {TOP}) — click a bar to filter").classes("font-semibold")
                self.module_chart = ui.echart(_module_bars([], [])).classes("w-full h-80")
                self.module_chart.on_point_click(self._module_clicked)
                self.module_chart.mark("chart-modules")
                self.bar_buttons = BarButtons(TOP, self._bar_picked)
            with ui.card().classes("w-full"):
                ui.label("Activity by hour of day (minutes)").classes("font-semibold")
                self.hour_chart = ui.echart(minutes_bars([], [bar_series([])], horizontal=False, empty="")).classes(
                    "w-full h-80"
                )
                self.hour_chart.mark("chart-hours")

    # ------------------------------------------------------------------ state

    def _filters(self) -> Filters:
        filters, note = typed_filters(self.q.module, self.q.device, self.q.user, self.reads.devices())
        self.controls.device_note.set_text(f"Device: {note}" if note else "")
        return filters

    def _show_url(self, *, step: bool = False) -> None:
        self.url.show(self.q.params(), step=step)

    async def _changed(self, typing: str | None = None) -> None:
        q = self.controls.query(self.q)
        if replace(q, page=self.q.page) == self.q:  # set by the page itself (Back, Forward, custom dates)
            return
        step = typing is None or typing != self._typing  # more keystrokes in one filter: one entry
        self.q, self._typing = q, typing
        self.controls.url_notes.set_text("")  # they were about the link; the page now shows what was chosen
        await self.refresh(step=step)

    async def _popped(self, params: Mapping[str, str]) -> None:
        """Back or Forward: the controls and everything below as that entry's URL says."""
        q, _ = HistoryQuery.parse(params)  # the page wrote this URL itself: nothing to note
        self.q, self._typing = q, None
        self.controls.show(q)  # their handlers find nothing new (`_changed`)
        await self.refresh(keep_page=True)

    async def _range_changed(self) -> None:
        custom = self.controls.custom
        self.controls.show_dates(custom)
        if custom and self.controls.start_custom():
            return  # the inputs' change handlers refresh
        await self._changed()

    async def clear_filters(self) -> None:
        self.controls.clear()
        await self._changed()

    def download(self) -> None:
        params = {k: v for k, v in self.q.params().items() if k != "page"}  # its rows in the table's order
        ui.navigate.to(f"/history/export.csv?{urlencode(params)}")

    async def _module_clicked(self, event: Any) -> None:
        self._bar_picked(event.data_index)

    def _bar_picked(self, index: int) -> None:
        if 0 <= index < len(self._chart_slugs):
            self.controls.choose_module(self._chart_slugs[index])

    async def _sort_changed(self, column: str, descending: bool) -> None:
        self.q, self._typing = replace(self.q, sort=column, descending=descending, page=1), None
        await self._load_page(step=True)

    async def _page_changed(self, page: int) -> None:
        self.q, self._typing = replace(self.q, page=page), None
        await self._load_page(step=True)

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self.q, name) for name in HistoryQuery.__dataclass_fields__}

    async def _row_clicked(self, row: dict[str, Any]) -> None:
        await self.show_timeline(row["ip"], date.fromisoformat(row["day"]))

    async def _today_changed(self) -> None:
        """Pushed by the hub (every few seconds while monitoring runs): redraw when the range includes
        now and its totals moved (one roll-up query), keeping the page and sort."""
        if self._busy or self.hub.stopped_at is not None:
            return
        try:
            rng = self.q.rng()
        except ValueError:
            return
        if not rng.start_ms <= self.hub.now_ms() < rng.end_ms:
            return
        totals = await self.reads.totals(rng, self._filters())
        if totals != self._totals:
            await self.refresh(keep_page=True)

    # ------------------------------------------------------------------ drawing

    async def refresh(self, *, keep_page: bool = False, step: bool = False) -> None:
        if not keep_page:
            self.q = HistoryQuery(**{**self._fields(), "page": 1})
        try:
            rng = self.q.rng()
        except ValueError as exc:
            self._show_url(step=step)
            self.controls.error.set_text(f"Range: {exc}")
            return
        self.controls.error.set_text("")
        self._busy = True
        try:
            await self._draw(rng)
            await self._load_page(step=step)
        finally:
            self._busy = False

    async def _draw(self, rng: Range) -> None:
        filters = self._filters()
        totals = await self.reads.totals(rng, filters)
        by_module = await self.reads.minutes_by_module(rng, filters, TOP)
        by_hour = await self.reads.activity_by_hour(rng, filters)
        self._totals = totals
        self.total_time.set_text(format_duration(totals.seconds))
        self.total_sessions.set_text(f"{totals.sessions:,}")
        self.total_devices.set_text(f"{totals.devices:,}")
        self.total_users.set_text(f"{totals.users:,}")
        self._chart_slugs = [slug for slug, _ in by_module]
        names = [self.names.module(s) for s, _ in by_module]
        redraw(self.module_chart, _module_bars(names, by_module, NO_SESSIONS))
        self.bar_buttons.show([(name, minutes) for name, (_, minutes) in zip(names, by_module, strict=True)])
        hours = [f"{h:02d}" for h in range(len(by_hour))]
        redraw(self.hour_chart, minutes_bars(hours, [bar_series(by_hour)], horizontal=False, empty=NO_SESSIONS))

    async def _load_page(self, *, step: bool = False) -> None:
        """The session table at `self.q.page` (the last page if that one no longer exists); then the
        URL, written once it says the page shown."""
        try:
            rng = self.q.rng()
        except ValueError:
            self._show_url(step=step)
            return
        filters = self._filters()
        items, total = await self.reads.sessions_page(rng, filters, self.q)
        if not items and self.q.page > pages(total):  # a link to a page that no longer exists
            self.q = HistoryQuery(**{**self._fields(), "page": pages(total)})
            items, total = await self.reads.sessions_page(rng, filters, self.q)
        self._show_url(step=step)
        self.sessions.show(
            items, total, self.q.page, self.q.sort, self.q.descending, self.names.label, self.names.module
        )

    async def show_timeline(self, ip: str, day: date) -> None:
        """That device's sessions on `day`, in a dialog over the page."""
        items = await self.reads.device_timeline(ip, day)
        device = self.names.device(ip)
        names = self.names.module
        segments = [Segment(names(i.module), i.start_ms, i.end_ms, f"{names(i.module)} ({i.user})") for i in items]
        count = f"{len(items)} session{'s' if len(items) != 1 else ''}"
        self.day.show(
            f"{device} on {day.isoformat()}: {count}", segments, f"No ended sessions of {device} on {day.isoformat()}."
        )

    def _draw_archives(self) -> None:
        names, error = self.reads.archives()
        with self.archives:
            if error is not None:
                ui.label(error).classes("text-sm text-red-700")
            if not names:
                ui.label("No archives yet: the first appears after the first day of records.").classes(
                    "text-sm text-gray-500"
                )
            for name in names[:60]:
                ui.link(name, f"/history/archives/{name}").classes("text-sm").mark("archive-link")
