"""Start/stop the server-side reader (or say that it runs in the background)."""

from __future__ import annotations

from nicegui import ui

from components.hub import Hub
from gaze.services import Services


def monitoring_control(services: Services, hub: Hub) -> None:
    with ui.row().classes("items-center gap-3"):
        if services.settings.background_monitor:
            ui.icon("check_circle", color="green-7")
            ui.label("Background monitoring is on: the journal is followed from start-up.").mark(
                "monitoring-background"
            )
            return

        async def start() -> None:
            services.monitor.start()
            hub.refresh_status()
            ui.notify("Monitoring started")

        async def stop() -> None:
            await services.monitor.stop()
            hub.refresh_status()
            ui.notify("Monitoring stopped; it resumes from the same place when started again")

        ui.button("Start monitoring", icon="play_arrow", on_click=start).bind_visibility_from(
            hub.status, "monitoring", backward=lambda on: not on
        ).mark("start-monitoring")
        ui.button("Stop monitoring", icon="stop", color="grey-7", on_click=stop).bind_visibility_from(
            hub.status, "monitoring"
        ).mark("stop-monitoring")
        ui.label().bind_text_from(
            hub.status,
            "monitoring",
            backward=lambda on: "The reader runs on the server, also with no browser open." if on else "",
        ).classes("text-sm text-gray-500")
