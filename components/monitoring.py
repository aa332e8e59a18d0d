"""Start/stop the server-side reader (or say that it runs in the background)."""

from __future__ import annotations

import contextlib

from nicegui import ui

from components.actions import Actions, NotAllowed


def monitoring_control(actions: Actions) -> None:
    services, hub = actions.services, actions.hub
    with ui.row().classes("items-center gap-3"):
        if services.settings.background_monitor:
            ui.icon("check_circle", color="green-7")
            ui.label("Background monitoring is on: the journal is followed from start-up.").mark(
                "monitoring-background"
            )
            return

        if not actions.is_admin:
            ui.label().bind_text_from(
                hub.status, "monitoring", backward=lambda on: "Monitoring is on." if on else "Monitoring is off."
            ).mark("monitoring-state")
            return

        async def start() -> None:
            with contextlib.suppress(NotAllowed):
                await actions.start_monitoring()
                ui.notify("Monitoring started")

        async def stop() -> None:
            with contextlib.suppress(NotAllowed):
                await actions.stop_monitoring()
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
