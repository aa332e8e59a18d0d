"""`/devices`: admins name devices by IP ("Tablet 07"); everyone sees the names everywhere."""

from __future__ import annotations

import contextlib
import ipaddress
import time
from collections.abc import Callable
from datetime import datetime

from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy import Engine

from components.actions import Actions, NotAllowed
from components.frame import frame
from components.hub import Hub
from components.io import io_bound
from components.messages import tell
from gaze.board import Names
from gaze.devices import DeviceLabels, LabelError, recent_devices
from gaze.services import Services
from gaze.sessions import OpenSession
from pages.access import page_actions, to_login

RECENT_DAYS = 30


def register(services: Services, hub: Hub) -> None:
    @ui.page("/devices", title="Module Gaze · Devices")
    async def devices_page() -> RedirectResponse | None:
        actions = page_actions(services, hub)
        if actions is None:
            return to_login()
        with frame(actions, "Devices", width="max-w-3xl"):
            names = Names(services.catalog, services.devices.label)
            panel = DevicesPanel(actions, services.engine, services.devices, services.recorder.sessions, names.module)
        await panel.draw()
        return None


class DevicesPanel:
    """`engine` says which devices were seen lately, `sessions` which are on a module now (and
    `module` its name). What a save did is told as the page's one message (components/messages.py)."""

    def __init__(
        self,
        actions: Actions,
        engine: Engine,
        labels: DeviceLabels,
        sessions: Callable[[], list[OpenSession]],
        module: Callable[[str], str],
    ) -> None:
        self.actions = actions
        self.engine = engine
        self.labels = labels
        self.sessions = sessions
        self.module = module
        with ui.card().classes("w-full"):
            ui.label("Devices").classes("text-lg font-semibold")
            ui.label(
                f"Devices with a name, on a module now, or seen in the last {RECENT_DAYS} days."
                + ("" if actions.is_admin else " Only an admin can change names.")
            ).classes("text-sm text-gray-600")
            if actions.is_admin:
                with ui.row().classes("w-full items-start gap-3 flex-wrap"):
                    self.new_ip = ui.input("IP address").props("dense").mark("device-ip")
                    self.new_label = ui.input("Name, e.g. Tablet 07").props("dense").mark("device-label")
                    self.new_ip.on("keydown.enter", self.add)
                    self.new_label.on("keydown.enter", self.add)
                    ui.button("Save name", on_click=self.add).mark("device-save")
            self.list = ui.column().classes("w-full gap-0")

    async def _save(self, ip: str, label: str) -> bool:
        try:
            await self.actions.set_device_label(ip, label)
        except LabelError as exc:
            tell(f"Name of {ip.strip() or 'the device'} not saved: {exc}", "refused")
            return False
        except NotAllowed:
            return False
        tell(f"{ip.strip()}: {label.strip() or 'name removed'}")
        return True

    async def add(self) -> None:
        if await self._save(self.new_ip.value or "", self.new_label.value or ""):
            self.new_ip.set_value("")
            self.new_label.set_value("")
            await self.draw()

    async def draw(self) -> None:
        since = int(time.time() * 1000) - RECENT_DAYS * 86_400_000
        seen = dict(await io_bound(recent_devices, self.engine, since))
        now_on = self._modules_now()
        labels = self.labels.all()
        ips = sorted(set(seen) | set(now_on) | set(labels), key=_ip_sort_key)
        self.list.clear()
        with self.list:
            if not ips:
                ui.label("No devices yet.").classes("text-gray-500 text-sm")
            for ip in ips:
                with ui.row().classes("w-full items-center gap-3 border-b py-1 flex-wrap").mark("device-row"):
                    ui.label(ip).classes("w-40 font-mono text-sm")
                    last = f"now on {now_on[ip]}" if ip in now_on else _seen(seen.get(ip))
                    ui.label(last).classes("text-xs text-gray-500 w-40 sm:w-56 break-words").mark("device-now")
                    if self.actions.is_admin:
                        self._name_field(ip, labels.get(ip, ""))
                    else:
                        ui.label(labels.get(ip, "")).classes("font-medium")

    def _modules_now(self) -> dict[str, str]:
        """Each device in an open session: the name of the module it is on (of each, if several)."""
        on: dict[str, list[str]] = {}
        for session in self.sessions():
            modules = on.setdefault(session.ip, [])
            if (name := self.module(session.module)) not in modules:
                modules.append(name)
        return {ip: " and ".join(sorted(modules)) for ip, modules in on.items()}

    def _name_field(self, ip: str, label: str) -> None:
        """The name of `ip`, saved by its button or by Enter; both say which device they are for."""
        field = ui.input(value=label, placeholder="name").props("dense").classes("w-48")
        field.props["aria-label"] = f"Name for {ip}"

        async def save() -> None:
            await self._save(ip, field.value or "")

        field.on("keydown.enter", save)
        button = ui.button("Save", on_click=save).props("flat dense")
        button.props["aria-label"] = f"Save name for {ip}"


def _seen(ms: int | None) -> str:
    return "" if ms is None else "last seen " + datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def _ip_sort_key(ip: str) -> tuple[int, ...]:
    with contextlib.suppress(ValueError):
        address = ipaddress.ip_address(ip)
        return (address.version, *address.packed)
    return (9,)
