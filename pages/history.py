"""`/history`: what happened today, this week, this term — totals, charts, sessions, CSV, archives.
The page wires the database, the catalog, the device names and the log folder into the widget
(components/history_view.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy import Engine

from components.frame import frame
from components.history_table import PAGE_SIZE
from components.history_view import HistoryView
from components.hub import Hub
from components.io import io_bound
from gaze import history
from gaze.board import Names, module_title
from gaze.catalog import Catalog
from gaze.devices import DeviceLabels
from gaze.history import Filters, Range, SessionItem, Totals
from gaze.history_url import HistoryQuery
from gaze.logs import ARCHIVE_NAME as ARCHIVE
from gaze.services import Services
from pages import history_files
from pages.access import page_actions, to_login

__all__ = ["register"]


def register(services: Services, hub: Hub) -> None:
    names = Names(services.catalog, services.devices.label)

    history_files.register(services, names)

    @ui.page("/history", title="Module Gaze · History")
    async def history_page(request: Request) -> RedirectResponse | None:
        actions = page_actions(services, hub)
        if actions is None:
            return to_login()
        query, notes = HistoryQuery.parse(request.query_params)
        reads = Reads(services.engine, services.catalog, services.devices, services.settings.log_dir)
        with frame(actions, "History"):
            view = HistoryView(hub, reads, query, notes)
        await view.refresh(keep_page=True)
        return None


class Reads:
    """What /history reads (components/history_view.py's HistoryReads): the ended sessions, module
    and device names, the daily archives."""

    def __init__(self, engine: Engine, catalog: Catalog, devices: DeviceLabels, log_dir: Path) -> None:
        self.engine, self.catalog, self.labels, self.log_dir = engine, catalog, devices, log_dir
        self.names = Names(catalog, devices.label)

    def modules(self) -> dict[str, str]:
        return {m.slug: module_title(m) for m in self.catalog.modules}

    def devices(self) -> dict[str, str]:
        return self.labels.all()

    async def totals(self, rng: Range, filters: Filters) -> Totals:
        return await io_bound(history.totals, self.engine, rng, filters)

    async def minutes_by_module(self, rng: Range, filters: Filters, top: int) -> list[tuple[str, float]]:
        return await io_bound(history.minutes_by_module, self.engine, rng, filters, top)

    async def activity_by_hour(self, rng: Range, filters: Filters) -> list[float]:
        return await io_bound(history.activity_by_hour, self.engine, rng, filters)

    async def sessions_page(self, rng: Range, filters: Filters, q: HistoryQuery) -> tuple[list[SessionItem], int]:
        order = history_files.session_order(self.catalog, self.labels.all(), q.sort, q.descending)
        return await io_bound(history.sessions_page, self.engine, rng, filters, q.page, PAGE_SIZE, order)

    async def device_timeline(self, ip: str, day: date) -> list[SessionItem]:
        return await io_bound(history.device_timeline, self.engine, ip, day)

    def archives(self) -> tuple[list[str], str | None]:
        try:
            names = sorted((p.name for p in self.log_dir.iterdir() if ARCHIVE.match(p.name)), reverse=True)
        except OSError as exc:
            return [], f"Cannot read {self.log_dir}: {exc.strerror or exc}"
        return names, None
