"""The admin's live board at `/`."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.alerts import AlertBanner, AlertHistory
from components.frame import header
from components.hub import Hub
from components.limits_panel import LimitsPanel
from components.monitoring import monitoring_control
from components.session_list import SessionList
from components.status_strip import stat_cards, status_strip
from components.today_chart import TodayChart
from gaze.services import Services
from pages.access import page_actions, to_login


def register(services: Services, hub: Hub) -> None:
    @ui.page("/", title="Module Gaze")
    def dashboard() -> RedirectResponse | None:
        actions = page_actions(services, hub)
        if actions is None:
            return to_login()
        header(actions)
        with ui.column().classes("w-full max-w-6xl mx-auto gap-4 p-2 sm:p-4"):
            AlertBanner(actions)
            status_strip(hub.status, demo=services.demo)
            stat_cards(hub.status)
            monitoring_control(actions)
            with ui.card().classes("w-full p-0 sm:p-2"):
                ui.label("Live sessions").classes("text-lg font-semibold px-3 pt-2")
                SessionList(services, hub)
            TodayChart(services, hub)
            LimitsPanel(actions)
            AlertHistory(services, hub)
        return None
