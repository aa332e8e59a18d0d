"""Over-limit alerts: a banner on every open dashboard, notifications, and the last 50."""

from __future__ import annotations

import contextlib
from datetime import datetime

from nicegui import ui

from components.actions import Actions, NotAllowed
from components.hub import Hub
from gaze.board import module_label
from gaze.limits import Alert
from gaze.logline import GUEST
from gaze.services import Services


def _when(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000).strftime("%H:%M:%S")


def _who(services: Services, alert: Alert) -> str:
    if alert.user == GUEST:
        return f"Guest at {alert.ip}"
    name = services.catalog.display_name(alert.user) or alert.user
    return f"{name} ({alert.ip})"


def _describe(services: Services, alert: Alert) -> str:
    name, _ = module_label(services.catalog, alert.module)
    return f"{_who(services, alert)} has been on {name} for more than {alert.limit_minutes} min"


class AlertBanner:
    """Unacknowledged alerts, shown to everyone until an admin acknowledges them."""

    def __init__(self, actions: Actions) -> None:
        self.actions = actions
        self.services = actions.services
        hub = actions.hub
        self.root = ui.column().classes("w-full gap-2").mark("alert-banner")
        self._draw()
        hub.alerts_changed.subscribe(self._draw)
        hub.alert_raised.subscribe(self._notify)

    def _draw(self) -> None:
        self.root.clear()
        with self.root:
            for alert in self.services.limits.unacknowledged:
                with (
                    ui.row()
                    .classes("w-full items-center gap-3 rounded bg-red-600 text-white px-4 py-2 flex-nowrap")
                    .mark("alert-banner-item")
                ):
                    ui.icon("alarm").classes("text-2xl")
                    ui.label(_describe(self.services, alert)).classes("flex-grow")
                    ui.label(_when(alert.raised_ms)).classes("text-sm opacity-80")
                    if self.actions.is_admin:
                        ui.button("Acknowledge", on_click=lambda a=alert: self.acknowledge(a)).props(
                            "flat dense color=white"
                        ).mark("alert-ack")
        self.root.set_visibility(bool(self.services.limits.unacknowledged))

    async def acknowledge(self, alert: Alert) -> None:
        with contextlib.suppress(NotAllowed):
            await self.actions.acknowledge(alert.id)

    def _notify(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            ui.notify(_describe(self.services, alert), type="negative", position="top", timeout=10_000)


class AlertHistory:
    """The last 50 alerts and their state."""

    def __init__(self, services: Services, hub: Hub) -> None:
        self.services = services
        with ui.card().classes("w-full"):
            ui.label("Recent alerts").classes("text-lg font-semibold")
            self.list = ui.column().classes("w-full gap-0").mark("alert-history")
        self._draw()
        hub.alerts_changed.subscribe(self._draw)

    def _draw(self) -> None:
        self.list.clear()
        with self.list:
            if not self.services.limits.recent:
                ui.label("No alerts yet.").classes("text-gray-500 text-sm")
            for alert in self.services.limits.recent:
                with ui.row().classes("w-full items-center gap-2 border-b py-1 text-sm").mark("alert-history-row"):
                    ui.label(_when(alert.raised_ms)).classes("text-gray-500 w-16")
                    ui.label(_describe(self.services, alert)).classes("flex-grow")
                    if alert.acknowledged_ms is None:
                        ui.badge("open", color="red")
                    else:
                        ui.badge(f"acknowledged {_when(alert.acknowledged_ms)}", color="grey")
