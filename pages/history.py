"""`/history`: what happened today, this week, this term — totals, charts, sessions, CSV, archives."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from nicegui import app, run, ui

from components.actions import Actions
from components.frame import header
from components.hub import Hub
from gaze import history
from gaze.board import device_text, format_duration, module_label, module_title
from gaze.export import csv_rows
from gaze.history import Filters, Range
from gaze.logformat import ARCHIVE_NAME as ARCHIVE
from gaze.logline import GUEST
from gaze.services import Services
from pages.access import page_actions, to_login

RANGES = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "month": "This month",
    "year": "This year",
    "custom": "Custom",
}
PAGE_SIZE = 25


def resolve_range(key: str, date_from: str | None = None, date_to: str | None = None) -> Range:
    """The local-time range a page or export asks for; ValueError when it makes no sense."""
    if key == "today":
        return history.today()
    if key == "yesterday":
        return history.yesterday()
    if key == "7d":
        return history.last_days(7)
    if key == "month":
        return history.this_month()
    if key == "year":
        return history.this_year()
    if key == "custom":
        if not date_from or not date_to:
            raise ValueError("choose both dates")
        try:
            return history.custom(date.fromisoformat(date_from), date.fromisoformat(date_to))
        except OverflowError:  # 9999-12-31: the range's end (the next midnight) is past the calendar
            raise ValueError("date out of range") from None
    raise ValueError(f"unknown range {key!r}")


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def register(services: Services, hub: Hub) -> None:
    def names(slug: str) -> str:
        return module_label(services.catalog, slug)[0]

    @app.get("/history/export.csv")
    def export_csv(
        range: str = "today",
        date_from: str | None = None,
        date_to: str | None = None,
        module: str | None = None,
        ip: str | None = None,
        user: str | None = None,
    ) -> StreamingResponse:
        try:
            rng = resolve_range(range, date_from, date_to)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        filters = Filters(module or None, ip or None, user or None)
        rows = csv_rows(services.engine, rng, filters, services.devices.all(), names)
        filename = "modulegaze-sessions-" + re.sub(r"[^A-Za-z0-9-]+", "-", rng.label).strip("-").lower() + ".csv"
        return StreamingResponse(
            rows,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @app.get("/history/archives/{name}")
    def archive(name: str) -> FileResponse:
        path = services.settings.log_dir / name
        if not ARCHIVE.match(name) or not path.is_file():
            raise HTTPException(status_code=404, detail="no such archive")
        return FileResponse(path, media_type="application/zip", filename=name)

    @ui.page("/history", title="Module Gaze · History")
    async def history_page() -> RedirectResponse | None:
        actions = page_actions(services, hub)
        if actions is None:
            return to_login()
        header(actions, "History")
        view = HistoryView(actions, names)
        await view.refresh()
        return None


class HistoryView:
    """Range and filters at the top; everything below follows them."""

    def __init__(self, actions: Actions, names: Any) -> None:
        self.services = actions.services
        self.names = names
        self.range_key = "today"
        self.page = 1
        self._chart_slugs: list[str] = []
        with ui.column().classes("w-full max-w-6xl mx-auto gap-4 p-2 sm:p-4"):
            with ui.card().classes("w-full"):
                with ui.row().classes("w-full items-center gap-3 flex-wrap"):
                    self.toggle = (
                        ui.toggle(RANGES, value="today", on_change=self._range_changed)
                        .props("no-caps dense")
                        .classes("flex-wrap max-w-full")
                        .mark("range")
                    )
                    self.date_from = ui.input("From", on_change=self.refresh).props("type=date dense").mark("from")
                    self.date_to = ui.input("To", on_change=self.refresh).props("type=date dense").mark("to")
                with ui.row().classes("w-full items-center gap-3 flex-wrap"):
                    self.module = (
                        ui.select(self._module_options(), label="Module", with_input=True, on_change=self.refresh)
                        .props("clearable dense")
                        .classes("min-w-[220px]")
                        .mark("filter-module")
                    )
                    self.device = (
                        ui.input("Device IP", on_change=self.refresh).props("clearable dense").mark("filter-device")
                    )
                    self.user = ui.input("User", on_change=self.refresh).props("clearable dense").mark("filter-user")
                    ui.button("Clear filters", on_click=self.clear_filters).props("flat dense")
                    ui.space()
                    ui.button("Download CSV", icon="download", on_click=self.download).mark("download-csv")
                self.error = ui.label("").classes("text-sm text-red-700").mark("range-error")
                ui.label(
                    "Counts sessions that have ended (by their end time); the board's Today so far "
                    "adds the open sessions' time so far."
                ).classes("text-xs text-gray-600").mark("history-definition")
            with ui.element("div").classes("w-full grid grid-cols-2 md:grid-cols-4 gap-3"):
                self.total_time = self._card("Learning time", "total-time")
                self.total_sessions = self._card("Sessions", "total-sessions")
                self.total_devices = self._card("Devices", "total-devices")
                self.total_users = self._card("Signed-in users", "total-users")
            with ui.element("div").classes("w-full grid grid-cols-1 md:grid-cols-2 gap-4"):
                with ui.card().classes("w-full"):
                    ui.label("Minutes per module (top 15) — click a bar to filter").classes("font-semibold")
                    self.module_chart = ui.echart(_bar_options([], horizontal=True)).classes("w-full h-80")
                    self.module_chart.on_point_click(self._module_clicked)
                    self.module_chart.mark("chart-modules")
                with ui.card().classes("w-full"):
                    ui.label("Activity by hour of day (minutes)").classes("font-semibold")
                    self.hour_chart = ui.echart(_bar_options([], horizontal=False)).classes("w-full h-80")
                    self.hour_chart.mark("chart-hours")
            with ui.card().classes("w-full"):
                ui.label("Sessions — click a row for that device's day").classes("font-semibold")
                self.table = (
                    ui.table(
                        columns=[
                            {"name": "end", "label": "Ended", "field": "end", "align": "left"},
                            {"name": "user", "label": "User", "field": "user", "align": "left"},
                            {"name": "device", "label": "Device", "field": "device", "align": "left"},
                            {"name": "module", "label": "Module", "field": "module", "align": "left"},
                            {"name": "duration", "label": "Duration", "field": "duration", "align": "right"},
                        ],
                        rows=[],
                        row_key="id",
                    )
                    .classes("w-full")
                    .props("flat dense wrap-cells hide-pagination :rows-per-page-options=[0]")
                )
                self.table.mark("sessions-table")
                self.table.on("row-click", self._row_clicked)
                with ui.row().classes("items-center gap-2"):
                    self.pager = ui.pagination(1, 1, direction_links=True, on_change=self._page_changed).props(
                        "max-pages=7 boundary-numbers"
                    )
                    self.count = ui.label("").classes("text-sm text-gray-600").mark("sessions-count")
            with ui.card().classes("w-full"):
                self.timeline_title = ui.label("Device timeline: click a session above").classes("font-semibold")
                self.timeline = ui.echart(_timeline_options([])).classes("w-full h-64").mark("timeline")
            with ui.card().classes("w-full"):
                ui.label("Daily log archives").classes("font-semibold")
                self.archives = ui.column().classes("gap-1")
        self.date_from.set_visibility(False)
        self.date_to.set_visibility(False)
        self._draw_archives()

    @staticmethod
    def _card(title: str, marker: str) -> ui.label:
        with ui.card().classes("w-full"):
            ui.label(title).classes("text-sm text-gray-600")
            return ui.label("–").classes("text-2xl font-semibold").mark(marker)

    def _module_options(self) -> dict[str, str]:
        return {m.slug: module_title(m) for m in self.services.catalog.modules}

    # ------------------------------------------------------------------ state

    def _rng(self) -> Range:
        return resolve_range(self.range_key, self.date_from.value, self.date_to.value)

    def _filters(self) -> Filters:
        return Filters(
            self.module.value or None,
            (self.device.value or "").strip() or None,
            (self.user.value or "").strip() or None,
        )

    def _query(self) -> str:
        params = {"range": self.range_key}
        if self.range_key == "custom":
            params |= {"date_from": self.date_from.value or "", "date_to": self.date_to.value or ""}
        filters = self._filters()
        params |= {k: v for k, v in (("module", filters.module), ("ip", filters.ip), ("user", filters.user)) if v}
        return urlencode(params)

    async def _range_changed(self) -> None:
        self.range_key = self.toggle.value or "today"
        custom = self.range_key == "custom"
        self.date_from.set_visibility(custom)
        self.date_to.set_visibility(custom)
        if custom and not self.date_from.value:
            today = date.today().isoformat()
            self.date_from.set_value(today)
            self.date_to.set_value(today)
            return  # the inputs' change handlers refresh
        await self.refresh()

    async def clear_filters(self) -> None:
        self.module.set_value(None)
        self.device.set_value("")
        self.user.set_value("")
        await self.refresh()

    def download(self) -> None:
        ui.navigate.to(f"/history/export.csv?{self._query()}")

    async def _module_clicked(self, event: Any) -> None:
        slug = self._chart_slugs[event.data_index] if 0 <= event.data_index < len(self._chart_slugs) else None
        if slug:
            if slug not in self.module.options:
                self.module.set_options({**self.module.options, slug: slug})
            self.module.set_value(slug)

    async def _page_changed(self) -> None:
        self.page = int(self.pager.value or 1)
        await self._load_page()

    async def _row_clicked(self, event: Any) -> None:
        row = event.args[1] if isinstance(event.args, list) and len(event.args) > 1 else None
        if isinstance(row, dict):
            await self.show_timeline(row["ip"], date.fromisoformat(row["day"]))

    # ------------------------------------------------------------------ drawing

    async def refresh(self) -> None:
        try:
            rng = self._rng()
        except ValueError as exc:
            self.error.set_text(f"Range: {exc}")
            return
        self.error.set_text("")
        filters = self._filters()
        engine = self.services.engine
        totals = await run.io_bound(history.totals, engine, rng, filters)
        by_module = await run.io_bound(history.minutes_by_module, engine, rng, filters, 15)
        by_hour = await run.io_bound(history.activity_by_hour, engine, rng, filters)
        self.total_time.set_text(format_duration(totals.seconds))
        self.total_sessions.set_text(f"{totals.sessions:,}")
        self.total_devices.set_text(f"{totals.devices:,}")
        self.total_users.set_text(f"{totals.users:,}")
        self._chart_slugs = [slug for slug, _ in by_module]
        labels = [self.names(slug) for slug, _ in by_module]
        self.module_chart.options.clear()
        self.module_chart.options.update(
            _bar_options(list(zip(labels, [round(m, 1) for _, m in by_module], strict=True)), horizontal=True)
        )
        self.module_chart.update()
        self.hour_chart.options.clear()
        self.hour_chart.options.update(
            _bar_options([(f"{h:02d}", round(m, 1)) for h, m in enumerate(by_hour)], horizontal=False)
        )
        self.hour_chart.update()
        self.page = 1
        self.pager.set_value(1)
        await self._load_page()

    async def _load_page(self) -> None:
        rng, filters = self._rng(), self._filters()
        items, total = await run.io_bound(
            history.sessions_page, self.services.engine, rng, filters, self.page, PAGE_SIZE
        )
        labels = self.services.devices.label
        self.table.rows = [
            {
                "id": item.id,
                "end": _time(item.end_ms),
                "user": item.user,
                "device": device_text(item.ip, labels),
                "ip": item.ip,
                "day": datetime.fromtimestamp(item.end_ms / 1000).date().isoformat(),
                "module": self.names(item.module),
                "duration": format_duration(item.duration_s),
            }
            for item in items
        ]
        self.table.update()
        pages = max(1, -(-total // PAGE_SIZE))
        self.pager.max = pages
        self.pager.update()
        self.count.set_text(f"{total:,} sessions" if total != 1 else "1 session")

    async def show_timeline(self, ip: str, day: date) -> None:
        items = await run.io_bound(history.device_timeline, self.services.engine, ip, day)
        device = device_text(ip, self.services.devices.label)
        self.timeline_title.set_text(f"{device} on {day.isoformat()}: {len(items)} sessions")
        segments = [(self.names(i.module), i.start_ms, i.end_ms, GUEST if i.user == GUEST else i.user) for i in items]
        self.timeline.options.clear()
        self.timeline.options.update(_timeline_options(segments))
        self.timeline.update()

    def _draw_archives(self) -> None:
        log_dir = self.services.settings.log_dir
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


def _bar_options(points: list[tuple[str, float]], *, horizontal: bool) -> dict[str, Any]:
    categories = [label for label, _ in points]
    values = [value for _, value in points]
    category_axis: dict[str, Any] = {"type": "category", "data": categories}
    value_axis: dict[str, Any] = {"type": "value", "name": "min"}
    if horizontal:
        category_axis |= {"inverse": True, "axisLabel": {"width": 140, "overflow": "truncate"}}
    return {
        "animation": False,
        "grid": {"left": 150 if horizontal else 40, "right": 20, "top": 20, "bottom": 30},
        "tooltip": {"trigger": "axis"},
        "xAxis": value_axis if horizontal else category_axis,
        "yAxis": category_axis if horizontal else value_axis,
        "series": [{"type": "bar", "data": values, "itemStyle": {"color": "#1f6f8b"}}],
    }


def _timeline_options(segments: list[tuple[str, int, int, str]]) -> dict[str, Any]:
    """Each session as a thick line from its start to its end, one row per module."""
    modules = sorted({module for module, *_ in segments})
    series = [
        {
            "type": "line",
            "name": f"{module} ({user})",
            "data": [[start, module], [end, module]],
            "lineStyle": {"width": 14},
            "symbol": "none",
            "itemStyle": {"color": "#1f6f8b"},
        }
        for module, start, end, user in segments
    ]
    return {
        "animation": False,
        "grid": {"left": 150, "right": 20, "top": 20, "bottom": 30},
        "tooltip": {"trigger": "item"},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "category", "data": modules, "axisLabel": {"width": 140, "overflow": "truncate"}},
        "series": series,
    }
