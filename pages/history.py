"""`/history`: what happened today, this week, this term — totals, charts, sessions, CSV, archives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy import Engine

from components.charts import Segment, bar_series, minutes_bars, redraw, timeline
from components.frame import MENU_IN_SCREEN, header
from components.history_table import NO_SESSIONS, PAGE_SIZE, SessionTable, pages
from components.hub import Hub
from components.io import io_bound
from components.search_select import enter_picks_single
from components.url_history import UrlHistory
from gaze import history
from gaze.board import Names, format_duration, module_title
from gaze.catalog import Catalog
from gaze.devices import DeviceLabels
from gaze.history import Filters, Range, Totals
from gaze.history_url import RANGES, HistoryQuery, device_ip, order_by, resolve_range
from gaze.logs import ARCHIVE_NAME as ARCHIVE
from gaze.services import Services
from pages import history_files
from pages.access import page_actions, to_login

__all__ = ["RANGES", "register", "resolve_range"]


LABEL_WIDTH = 140  # px of module names on /history's charts


def register(services: Services, hub: Hub) -> None:
    names = Names(services.catalog, services.devices.label)

    history_files.register(services, names)

    @ui.page("/history", title="Module Gaze · History")
    async def history_page(request: Request) -> RedirectResponse | None:
        actions = page_actions(services, hub)
        if actions is None:
            return to_login()
        header(actions, "History")
        query, notes = HistoryQuery.parse(request.query_params)
        sources = Sources(services.engine, services.catalog, services.devices, services.settings.log_dir)
        view = HistoryView(hub, sources, query, notes)
        await view.refresh(keep_page=True)
        return None


@dataclass(frozen=True, slots=True)
class Sources:
    """What /history reads: the ended sessions, module and device names, the daily archives."""

    engine: Engine
    catalog: Catalog
    devices: DeviceLabels
    log_dir: Path


class HistoryView:
    """Range and filters at the top (kept in the URL); everything below follows them.

    Each step the admin may want to go back to (a range, a module, a date, a sort, a page, a new
    text filter) is an entry in the browser's history; more keystrokes in the same text filter
    replace it. Back and Forward show the state of their entry again, without a reload."""

    def __init__(self, hub: Hub, sources: Sources, q: HistoryQuery, notes: list[str]) -> None:
        self.hub = hub
        self.engine, self.catalog, self.devices = sources.engine, sources.catalog, sources.devices
        self.log_dir = sources.log_dir
        self.names = Names(sources.catalog, sources.devices.label)
        self.q = q
        self._chart_slugs: list[str] = []
        self._totals: Totals | None = None
        self._busy = False
        self._typing: str | None = None  # the text filter the last step was typed in
        custom = q.range == "custom"
        modules = self._module_options()
        if q.module and q.module not in modules:
            modules[q.module] = q.module
        with ui.column().classes("w-full max-w-6xl mx-auto gap-4 p-2 sm:p-4"):
            self.url = UrlHistory("/history", self._popped)
            with ui.card().classes("w-full"):
                with ui.row().classes("w-full items-center gap-3 flex-wrap"):
                    self.toggle = (
                        ui.toggle(RANGES, value=q.range, on_change=self._range_changed)
                        .props("no-caps dense")
                        .classes("flex-wrap max-w-full")
                        .mark("range")
                    )
                    self.date_from = (
                        ui.input("From", value=q.date_from, on_change=self._changed)
                        .props("type=date dense")
                        .mark("from")
                    )
                    self.date_to = (
                        ui.input("To", value=q.date_to, on_change=self._changed).props("type=date dense").mark("to")
                    )
                with ui.row().classes("w-full items-center gap-3 flex-wrap"):
                    self.module = (
                        ui.select(modules, value=q.module or None, label="Module", with_input=True)
                        .props(f"clearable dense {MENU_IN_SCREEN}")
                        .classes("min-w-[220px] max-w-full")
                        .mark("filter-module")
                    )
                    self.module.on_value_change(self._changed)
                    enter_picks_single(self.module)
                    self.device = (
                        ui.input("Device name or IP", value=q.device, on_change=lambda: self._changed("device"))
                        .props("clearable dense debounce=400")
                        .mark("filter-device")
                    )
                    self.user = (
                        ui.input("User", value=q.user, on_change=lambda: self._changed("user"))
                        .props("clearable dense debounce=400")
                        .mark("filter-user")
                    )
                    ui.button("Clear filters", on_click=self.clear_filters).props("flat dense")
                    ui.space()
                    ui.button("Download CSV", icon="download", on_click=self.download).mark("download-csv")
                self.error = ui.label("").classes("text-sm text-red-700 empty:hidden").mark("range-error")
                self.device_note = ui.label("").classes("text-sm text-amber-800 empty:hidden").mark("device-note")
                self.url_notes = (
                    ui.label("Ignored in the link: " + "; ".join(notes) + "." if notes else "")
                    .classes("text-sm text-amber-800 break-words empty:hidden")
                    .mark("url-notes")
                )
                ui.label(
                    "Counts sessions that have ended (by their end time); the board's Today so far "
                    "adds the open sessions' time so far. A range that includes today updates as sessions end."
                ).classes("text-xs text-gray-600").mark("history-definition")
            with ui.element("div").classes("w-full grid grid-cols-2 md:grid-cols-4 gap-3"):
                self.total_time = self._card("Learning time", "total-time")
                self.total_sessions = self._card("Sessions", "total-sessions")
                self.total_devices = self._card("Devices", "total-devices")
                self.total_users = self._card("Signed-in users", "total-users")
            with ui.element("div").classes("w-full grid grid-cols-1 md:grid-cols-2 gap-4"):
                with ui.card().classes("w-full"):
                    ui.label("Minutes per module (top 15) — click a bar to filter").classes("font-semibold")
                    self.module_chart = ui.echart(self._module_bars([], [])).classes("w-full h-80")
                    self.module_chart.on_point_click(self._module_clicked)
                    self.module_chart.mark("chart-modules")
                with ui.card().classes("w-full"):
                    ui.label("Activity by hour of day (minutes)").classes("font-semibold")
                    self.hour_chart = ui.echart(minutes_bars([], [bar_series([])], horizontal=False, empty="")).classes(
                        "w-full h-80"
                    )
                    self.hour_chart.mark("chart-hours")
            with ui.card().classes("w-full"):
                ui.label("Sessions — click a header to sort, a row for that device's day").classes(
                    "font-semibold max-sm:hidden"
                )
                ui.label("Sessions — tap one for that device's day").classes("font-semibold sm:hidden")
                self.sessions = SessionTable(self._sort_changed, self._page_changed, self._row_clicked)
            with ui.card().classes("w-full"):
                self.timeline_title = ui.label("Device timeline").classes("font-semibold")
                self.timeline_empty = (
                    ui.label("Nothing to draw yet: click a session above to see that device's day here.")
                    .classes("text-sm text-gray-600")
                    .mark("timeline-empty")
                )
                self.timeline = ui.echart(timeline([], label_width=LABEL_WIDTH)).classes("w-full h-64").mark("timeline")
                self.timeline.set_visibility(False)
            with ui.card().classes("w-full"):
                ui.label("Daily log archives").classes("font-semibold")
                self.archives = ui.column().classes("gap-1")
        self.date_from.set_visibility(custom)
        self.date_to.set_visibility(custom)
        self._draw_archives()
        hub.today_changed.subscribe(self._today_changed)

    @staticmethod
    def _card(title: str, marker: str) -> ui.label:
        with ui.card().classes("w-full"):
            ui.label(title).classes("text-sm text-gray-600")
            return ui.label("–").classes("text-2xl font-semibold").mark(marker)

    @staticmethod
    def _module_bars(names: list[str], points: list[tuple[str, float]], empty: str = "") -> dict[str, Any]:
        return minutes_bars(names, [bar_series([m for _, m in points])], label_width=LABEL_WIDTH, empty=empty)

    def _module_options(self) -> dict[str, str]:
        return {m.slug: module_title(m) for m in self.catalog.modules}

    # ------------------------------------------------------------------ state

    def _from_controls(self) -> HistoryQuery:
        """The state the controls show (a new filter or range starts at page 1, keeps the sort)."""
        custom = self.toggle.value == "custom"
        return HistoryQuery(
            range=self.toggle.value or "today",
            date_from=(self.date_from.value or "") if custom else "",
            date_to=(self.date_to.value or "") if custom else "",
            module=self.module.value or "",
            device=(self.device.value or "").strip(),
            user=(self.user.value or "").strip(),
            page=1,
            sort=self.q.sort,
            descending=self.q.descending,
        )

    def _filters(self) -> Filters:
        address, note = device_ip(self.q.device, self.devices.all())
        self.device_note.set_text(f"Device: {note}" if note else "")
        return Filters(self.q.module or None, address, self.q.user or None)

    def _show_url(self, *, step: bool = False) -> None:
        self.url.show(self.q.params(), step=step)

    async def _changed(self, typing: str | None = None) -> None:
        q = self._from_controls()
        if replace(q, page=self.q.page) == self.q:  # set by the page itself (Back, Forward, custom dates)
            return
        step = typing is None or typing != self._typing  # more keystrokes in one filter: one entry
        self.q, self._typing = q, typing
        self.url_notes.set_text("")  # they were about the link; the page now shows what was chosen
        await self.refresh(step=step)

    async def _popped(self, params: Mapping[str, str]) -> None:
        """Back or Forward: the controls and everything below as that entry's URL says."""
        q, _ = HistoryQuery.parse(params)  # the page wrote this URL itself: nothing to note
        self.q, self._typing = q, None
        if q.range == "custom":
            self.date_from.set_value(q.date_from)
            self.date_to.set_value(q.date_to)
        self.toggle.set_value(q.range)  # their handlers find nothing new (`_changed`)
        self._choose_module(q.module)
        self.device.set_value(q.device)
        self.user.set_value(q.user)
        self.url_notes.set_text("")
        await self.refresh(keep_page=True)

    def _choose_module(self, slug: str) -> None:
        options = self.module.options  # a dict here: slug -> label
        if slug and isinstance(options, dict) and slug not in options:
            self.module.set_options({**options, slug: slug})
        self.module.set_value(slug or None)

    async def _range_changed(self) -> None:
        custom = self.toggle.value == "custom"
        self.date_from.set_visibility(custom)
        self.date_to.set_visibility(custom)
        if custom and not self.date_from.value:
            today = date.today().isoformat()
            self.date_from.set_value(today)
            self.date_to.set_value(today)
            return  # the inputs' change handlers refresh
        await self._changed()

    async def clear_filters(self) -> None:
        self.module.set_value(None)
        self.device.set_value("")
        self.user.set_value("")
        await self._changed()

    def download(self) -> None:
        params = {k: v for k, v in self.q.params().items() if k not in ("page", "sort")}
        ui.navigate.to(f"/history/export.csv?{urlencode(params)}")

    async def _module_clicked(self, event: Any) -> None:
        slug = self._chart_slugs[event.data_index] if 0 <= event.data_index < len(self._chart_slugs) else None
        if slug:
            self._choose_module(slug)

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
        totals = await io_bound(history.totals, self.engine, rng, self._filters())
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
            self.error.set_text(f"Range: {exc}")
            return
        self.error.set_text("")
        self._busy = True
        try:
            await self._draw(rng)
            await self._load_page(step=step)
        finally:
            self._busy = False

    async def _draw(self, rng: Range) -> None:
        filters = self._filters()
        engine = self.engine
        totals = await io_bound(history.totals, engine, rng, filters)
        by_module = await io_bound(history.minutes_by_module, engine, rng, filters, 15)
        by_hour = await io_bound(history.activity_by_hour, engine, rng, filters)
        self._totals = totals
        self.total_time.set_text(format_duration(totals.seconds))
        self.total_sessions.set_text(f"{totals.sessions:,}")
        self.total_devices.set_text(f"{totals.devices:,}")
        self.total_users.set_text(f"{totals.users:,}")
        self._chart_slugs = [slug for slug, _ in by_module]
        names = [self.names.module(s) for s, _ in by_module]
        redraw(self.module_chart, self._module_bars(names, by_module, NO_SESSIONS))
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
        names = {m.slug: m.name for m in self.catalog.modules}
        order = order_by(self.q.sort, self.q.descending, self.devices.all(), names)
        engine = self.engine
        items, total = await io_bound(history.sessions_page, engine, rng, filters, self.q.page, PAGE_SIZE, order)
        if not items and self.q.page > pages(total):  # a link to a page that no longer exists
            self.q = HistoryQuery(**{**self._fields(), "page": pages(total)})
            items, total = await io_bound(history.sessions_page, engine, rng, filters, self.q.page, PAGE_SIZE, order)
        self._show_url(step=step)
        self.sessions.show(
            items, total, self.q.page, self.q.sort, self.q.descending, self.devices.label, self.names.module
        )

    async def show_timeline(self, ip: str, day: date) -> None:
        items = await io_bound(history.device_timeline, self.engine, ip, day)
        device = self.names.device(ip)
        self.timeline_title.set_text(f"{device} on {day.isoformat()}: {len(items)} sessions")
        names = self.names.module
        segments = [Segment(names(i.module), i.start_ms, i.end_ms, f"{names(i.module)} ({i.user})") for i in items]
        self.timeline_empty.set_text(f"No ended sessions of {device} on {day.isoformat()}.")
        self.timeline_empty.set_visibility(not segments)
        self.timeline.set_visibility(bool(segments))
        redraw(self.timeline, timeline(segments, label_width=LABEL_WIDTH))

    def _draw_archives(self) -> None:
        log_dir = self.log_dir
        try:
            names = sorted((p.name for p in log_dir.iterdir() if ARCHIVE.match(p.name)), reverse=True)
        except OSError as exc:
            names = []
            with self.archives:
                ui.label(f"Cannot read {log_dir}: {exc.strerror or exc}").classes("text-sm text-red-700")
        with self.archives:
            if not names:
                ui.label("No archives yet: the first appears after the first day of records.").classes(
                    "text-sm text-gray-500"
                )
            for name in names[:60]:
                ui.link(name, f"/history/archives/{name}").classes("text-sm").mark("archive-link")
