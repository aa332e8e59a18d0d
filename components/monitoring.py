"""Start/stop monitoring on the server (or say that it runs in the background)."""

from __future__ import annotations

import contextlib

from nicegui import ui

from components.actions import Actions, NotAllowed
from components.confirm import confirm
from components.deferred import shown_when
from components.hub import BoardStatus
from components.messages import tell


def stopped_banner(status: BoardStatus) -> None:
    """Said plainly at the top of the board while monitoring is stopped."""
    shown_when(status, "frozen", lambda: _stopped_banner(status))


def _stopped_banner(status: BoardStatus) -> ui.row:
    with (
        ui.row()
        .classes("w-full items-center gap-3 rounded bg-amber-100 text-amber-900 px-3 py-2 flex-nowrap")
        .mark("stopped-banner") as banner
    ):
        ui.icon("pause_circle").classes("text-2xl")
        ui.label().bind_text_from(status, "frozen_text").classes("text-sm").props('role="status"')
    return banner


def monitoring_control(actions: Actions, *, background: bool) -> None:
    """`background`: monitoring runs from start-up (MODULEGAZE_BACKGROUND_MONITOR)."""
    hub = actions.hub
    with ui.row().classes("items-center gap-3"):
        if background:
            with ui.row().classes("items-center gap-2 flex-nowrap"):  # on a phone the words wrap beside the icon
                ui.icon("check_circle", color="green-7").classes("text-lg shrink-0")
                ui.label("Monitoring runs on this server from start-up, also with no browser open.").classes(
                    "text-sm min-w-0"
                ).mark("monitoring-background")
            return

        if not actions.is_admin:
            ui.label().bind_text_from(
                hub.status, "monitoring", backward=lambda on: "Monitoring is on." if on else "Monitoring is off."
            ).mark("monitoring-state")
            return

        async def start() -> None:
            with contextlib.suppress(NotAllowed):
                await actions.start_monitoring()
                tell("Monitoring started", "note")

        async def stop() -> None:
            sure = await confirm(
                "Stop monitoring?",
                "While it is stopped, no new sessions are recorded and this board stays frozen. Nothing is "
                "lost: when monitoring starts again, it catches up with what happened meanwhile.",
                "Stop monitoring",
            )
            if sure:
                with contextlib.suppress(NotAllowed):
                    await actions.stop_monitoring()
                    tell("Monitoring stopped; it catches up when started again", "note")

        # Only the one that applies is built at first; the other when the state first asks for it.
        shown_when(
            hub.status,
            "monitoring",
            lambda: ui.button("Start monitoring", icon="play_arrow", on_click=start).mark("start-monitoring"),
            when=lambda on: not on,
        )
        shown_when(
            hub.status,
            "monitoring",
            lambda: ui.button("Stop monitoring", icon="stop", color="grey-7", on_click=stop).mark("stop-monitoring"),
        )
        ui.label().bind_text_from(
            hub.status,
            "monitoring",
            backward=lambda on: "Monitoring runs on this server, also with no browser open." if on else "",
        ).classes("text-sm text-gray-500")
