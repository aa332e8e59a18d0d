"""The admin's live board at `/`."""

from __future__ import annotations

from nicegui import ui

from components.alerts import AlertBanner, AlertHistory
from components.hub import Hub
from components.limits_panel import LimitsPanel
from components.monitoring import monitoring_control
from components.session_list import SessionList
from components.status_strip import stat_cards, status_strip
from gaze.services import Services


def register(services: Services, hub: Hub) -> None:
    @ui.page("/", title="Module Gaze")
    def dashboard() -> None:
        ui.colors(primary="#1f6f8b")
        with ui.header().classes("items-center justify-between bg-[#1f6f8b] px-4 py-2"):
            ui.label("Module Gaze").classes("text-xl font-semibold text-white")
            ui.label("Live module sessions").classes("text-sm text-white opacity-80 max-sm:hidden")
        with ui.column().classes("w-full max-w-6xl mx-auto gap-4 p-2 sm:p-4"):
            AlertBanner(services, hub)
            status_strip(hub.status, demo=services.demo)
            stat_cards(hub.status)
            monitoring_control(services, hub)
            with ui.card().classes("w-full p-0 sm:p-2"):
                ui.label("Live sessions").classes("text-lg font-semibold px-3 pt-2")
                SessionList(services, hub)
            LimitsPanel(services, hub)
            AlertHistory(services, hub)
