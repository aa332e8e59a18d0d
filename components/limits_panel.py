"""Set, update and remove per-module time limits (shared live between all dashboards)."""

from __future__ import annotations

import contextlib

from nicegui import ui

from components.actions import Actions, NotAllowed
from gaze.board import module_label, module_title
from gaze.limits import MAX_MINUTES, MIN_MINUTES, LimitError, validate_minutes
from gaze.services import Services
from gaze.sessions import Key, OpenSession

DESCRIPTION_CHARS = 70


def module_options(services: Services) -> dict[str, str]:
    """slug -> searchable label (name, slug, description) for every module we know of."""
    options: dict[str, str] = {}
    for module in services.catalog.modules:
        label = module_title(module)
        if module.description:
            description = module.description.strip().replace("\n", " ")
            if len(description) > DESCRIPTION_CHARS:
                description = description[: DESCRIPTION_CHARS - 1] + "…"
            label += f" — {description}"
        options[module.slug] = label
    seen = set(options)
    for slug in sorted({s.module for s in services.monitor.store.sessions()} | set(services.limits.limits)):
        resolved = services.resolve_module(slug)
        if resolved not in seen:
            options[resolved] = resolved
            seen.add(resolved)
    return options


def _minutes_error(value: object) -> str | None:
    try:
        validate_minutes(value)
    except LimitError as exc:
        return str(exc)
    return None


class LimitsPanel:
    def __init__(self, actions: Actions) -> None:
        self.actions = actions
        self.services = services = actions.services
        hub = actions.hub
        self.admin = actions.is_admin
        with ui.card().classes("w-full"):
            ui.label("Time limits").classes("text-lg font-semibold")
            with ui.row().classes("w-full items-start gap-3 flex-wrap") as form:
                self.select = (
                    ui.select(
                        module_options(services),
                        label="Module",
                        with_input=True,
                        on_change=self._selected,
                    )
                    .props("clearable use-input input-debounce=0 options-dense")
                    .classes("min-w-[260px] flex-grow")
                    .mark("limit-module")
                )
                self.minutes = (
                    ui.number(
                        "Minutes",
                        min=MIN_MINUTES,
                        max=MAX_MINUTES,
                        step=1,
                        precision=0,
                        validation=_minutes_error,
                    )
                    .classes("w-32")
                    .mark("limit-minutes")
                )
                self.button = ui.button("Set limit", icon="timer", on_click=self.submit).mark("limit-set")
            form.set_visibility(self.admin)
            self.error = ui.label("").classes("text-sm text-red-700").mark("limit-error")
            self.list = ui.column().classes("w-full gap-1")
        self._draw_list()
        hub.limits_changed.subscribe(self._draw_list)
        hub.catalog_changed.subscribe(self._catalog_changed)
        hub.sessions_changed.subscribe(self._sessions_changed)

    def _selected(self) -> None:
        current = self.services.limits.limits.get(self.select.value or "")
        self.button.set_text("Update limit" if current else "Set limit")
        if current:
            self.minutes.set_value(current)
        self.error.set_text("")

    async def submit(self) -> None:
        module = self.select.value
        try:
            minutes = await self.actions.set_limit(module or "", self.minutes.value)
        except LimitError as exc:
            self.error.set_text(str(exc))
            return
        except NotAllowed:
            return
        self.error.set_text("")
        self.button.set_text("Update limit")
        ui.notify(f"Limit for {module}: {minutes} min", type="positive")

    async def remove(self, module: str) -> None:
        with contextlib.suppress(NotAllowed):
            await self.actions.remove_limit(module)
            ui.notify(f"Limit removed for {module}")

    def _sessions_changed(self, changes: dict[Key, OpenSession | None]) -> None:
        """A module seen for the first time (not in the catalog) becomes choosable at once."""
        options = self.select.options
        if any(s is not None and self.services.resolve_module(s.module) not in options for s in changes.values()):
            self.select.set_options(module_options(self.services), value=self.select.value)

    def _catalog_changed(self) -> None:
        self.select.set_options(module_options(self.services), value=self.select.value)
        self._draw_list()

    def _draw_list(self) -> None:
        limits = sorted(self.services.limits.limits.items(), key=lambda item: item[0].lower())
        self.list.clear()
        with self.list:
            if not limits:
                ui.label("No limits set. Choose a module and a number of minutes.").classes("text-gray-500 text-sm")
            for module, minutes in limits:
                name, slug = module_label(self.services.catalog, module)
                with ui.row().classes("w-full items-center gap-2 border-b py-1").mark("limit-row"):
                    ui.icon("timer", color="primary")
                    ui.label(name).classes("font-medium")
                    if slug:
                        ui.label(slug).classes("text-xs text-gray-500")
                    ui.label(f"{minutes} min").classes("ml-auto").mark("limit-row-minutes")
                    if self.admin:
                        remove = ui.button(icon="delete", color="grey-7", on_click=lambda m=module: self.remove(m))
                        remove.props("flat round dense").mark("limit-remove")
                        remove.props["aria-label"] = f"Remove limit for {name}"
