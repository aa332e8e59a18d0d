"""Set, update and remove per-module time limits (shared live between all dashboards).

The minutes field is plain text: the server refuses anything but a whole number 1–1440 and saves
nothing then (no rounding, no clamping in the widget). Before saving, the form says what the limit
would do now ("puts 7 learners over the limit now"); Enter submits; the module search finds what a
person types (components/search_select.py) and Enter in it picks the single match. The form shows
one message at a time: its newest replaces the older, and it starts afresh once the limit it
showed is removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

from nicegui import ui
from nicegui.events import UiEventArguments

from components.actions import Actions, NotAllowed
from components.search_select import SearchSelect
from gaze.board import Names, module_label
from gaze.catalog import Catalog
from gaze.limits import LimitError, Limits, Preview, validate_minutes
from gaze.sessions import Key, OpenSession

DESCRIPTION_CHARS = 70
# The module menu keeps the dialog's margins on a phone (no wider than the screen less 40 px a side,
# i.e. the field's width at 390 px), its long labels wrapped. A class, not a style: Quasar sets the
# menu's max-width itself to the room right of the field (the whole width to the screen's edge).
MENU_IN_DIALOG = "popup-content-class=limits-menu popup-content-style='overflow-wrap:anywhere'"
MENU_CSS = ".limits-menu { max-width: calc(100vw - 80px) !important; }"


def module_options(catalog: Catalog, limits: Limits, sessions: Iterable[OpenSession]) -> dict[str, str]:
    """slug -> searchable label (name, its limit, description) for every module we know of: the
    catalog's, those with a limit, those open sessions are on. The name as the board shows it, without
    the module's id (the id is the name only of a module no catalog names)."""
    minutes = limits.limits
    options: dict[str, str] = {}

    def with_limit(slug: str, label: str) -> str:
        return f"{label} · limit {minutes[slug]} min" if slug in minutes else label

    for module in catalog.modules:
        label = with_limit(module.slug, module_label(catalog, module.slug)[0])
        if module.description:
            description = module.description.strip().replace("\n", " ")
            if len(description) > DESCRIPTION_CHARS:
                description = description[: DESCRIPTION_CHARS - 1] + "…"
            label += f" — {description}"
        options[module.slug] = label
    seen = set(options)
    for slug in sorted({s.module for s in sessions} | set(minutes)):
        resolved = limits.resolve(slug)
        if resolved not in seen:
            options[resolved] = with_limit(resolved, resolved)
            seen.add(resolved)
    return options


def learners(n: int) -> str:
    return f"{n} learner{'s' if n != 1 else ''}"


def preview_text(name: str, minutes: int, current: int | None, preview: Preview) -> str:
    """What saving would do, in one sentence."""
    change = f"Changes {name} from {current} to {minutes} min" if current else f"Limits {name} to {minutes} min"
    if preview.over:
        return f"{change}: puts {learners(preview.over)} over the limit now (of {preview.on_module} on it)."
    if preview.on_module:
        return f"{change}: no one over it now ({learners(preview.on_module)} on it)."
    return f"{change}: no one is on it now."


class LimitsPanel:
    """`sessions` gives the open sessions now (the preview counts them; their modules are choosable)."""

    def __init__(
        self, actions: Actions, limits: Limits, catalog: Catalog, sessions: Callable[[], list[OpenSession]]
    ) -> None:
        self.actions = actions
        self.limits = limits
        self.catalog = catalog
        self.sessions = sessions
        self.names = Names(catalog)
        hub = actions.hub
        self.admin = actions.is_admin
        ui.add_css(MENU_CSS)
        with ui.column().classes("w-full gap-2") as self.root:
            with ui.row().classes("w-full items-start gap-3 flex-wrap") as form:
                self.select = (
                    ui.select(self._options(), label="Module", with_input=True, on_change=self._selected)
                    .props(f"clearable use-input input-debounce=0 options-dense {MENU_IN_DIALOG}")
                    .classes("min-w-[200px] w-full sm:w-auto flex-grow")
                    .mark("limit-module")
                )
                self.minutes = (
                    ui.input("Minutes", on_change=self._update_preview)
                    .props("inputmode=numeric autocomplete=off")
                    .classes("w-28")
                    .mark("limit-minutes")
                )
                self.minutes.on("keydown.enter", self.submit)
                self.search = SearchSelect(self.select, then=lambda: self.minutes.run_method("focus"))
                self.button = ui.button("Set limit", icon="timer", on_click=self.submit).mark("limit-set")
            form.set_visibility(self.admin)
            # One current message under the form: what a valid value would do, or why a value is refused;
            # what the last change did is a notification (`_done`), which the next message replaces.
            self.note: ui.notification | None = None
            self.preview = ui.label("").classes("text-sm text-gray-700").mark("limit-preview")
            self.error = ui.label("").classes("text-sm text-red-700").mark("limit-error")
            self.error.props('role="alert"')
            self._say()
            self.list = ui.column().classes("w-full gap-1")
        self._draw_list()
        hub.limits_changed.subscribe(self._limits_changed)
        hub.catalog_changed.subscribe(self._catalog_changed)
        hub.sessions_changed.subscribe(self._sessions_changed)

    # ------------------------------------------------------------------ form

    def _name(self, module: str) -> str:
        return self.names.module(module)

    def _options(self) -> dict[str, str]:
        return module_options(self.catalog, self.limits, self.sessions())

    def _selected(self) -> None:
        current = self.limits.limits.get(self.select.value or "")
        self.button.set_text("Update limit" if current else "Set limit")
        if current:
            self.minutes.set_value(str(current))
        self._update_preview()

    def _say(self, preview: str = "", error: str = "") -> None:
        """Show one message (or none): the preview of a valid value or the error of a refused one."""
        if preview or error:
            self._dismiss()
        self.preview.set_text(preview)
        self.preview.set_visibility(bool(preview))
        self.error.set_text(error)
        self.error.set_visibility(bool(error))

    def _update_preview(self) -> None:
        """As the admin types: what the value would do, or why it would be refused (nothing tried yet)."""
        module = self.select.value
        raw = self.minutes.value
        if not module or raw in (None, ""):
            self._say()
            return
        try:
            minutes = validate_minutes(raw)
        except LimitError as exc:
            self._say(error=str(exc).replace(" Nothing was saved.", ""))
            return
        self._say(preview=self._describe(module, minutes))

    def _describe(self, module: str, minutes: int) -> str:
        preview = self.limits.preview(module, minutes, self.sessions(), self.actions.hub.now_ms())
        current = self.limits.limits.get(module)
        return preview_text(self._name(module), minutes, current if current != minutes else None, preview)

    async def submit(self) -> None:
        module = self.select.value or ""
        raw = self.minutes.value
        try:
            if not module:
                raise LimitError("Choose a module first. Nothing was saved.")
            effect = self._describe(module, validate_minutes(raw))  # the action checks again on the server
            minutes = await self.actions.set_limit(module, raw)
        except LimitError as exc:
            self._say(error=str(exc))
            return
        except NotAllowed:
            return
        self._say()
        self.button.set_text("Update limit")
        self._done(effect or f"{self._name(module)}: limit {minutes} min")

    async def remove(self, module: str) -> None:
        name = self._name(module)
        shown = self.select.value == module  # the form shows this limit: it starts afresh once it is gone
        with contextlib.suppress(NotAllowed):
            if await self.actions.remove_limit(module):
                if shown:
                    self._reset()
                self._say()
                self._done(f"Limit removed for {name}")

    def _reset(self) -> None:
        self.select.set_value(None)
        self.minutes.set_value("")
        self.button.set_text("Set limit")

    def _done(self, text: str) -> None:
        """What a change did, as the form's one notification: it replaces the one before."""
        self._dismiss()
        with self.root:
            self.note = ui.notification(
                text, type="positive", position="bottom", timeout=6, close_button="OK", on_dismiss=self._forget
            )

    def _forget(self, event: UiEventArguments) -> None:
        if event.sender is self.note:
            self.note = None

    def _dismiss(self) -> None:
        if self.note is not None:
            note, self.note = self.note, None
            note.dismiss()

    # ------------------------------------------------------------------ shared state

    def _sessions_changed(self, changes: dict[Key, OpenSession | None]) -> None:
        """A module seen for the first time (not in the catalog) becomes choosable at once."""
        options = self.search.all
        if any(s is not None and self.limits.resolve(s.module) not in options for s in changes.values()):
            self.search.set_options(self._options())

    def _limits_changed(self) -> None:
        self.search.set_options(self._options())
        if self.select.value and self.select.value not in self.limits.limits:  # removed, also by another admin
            self.button.set_text("Set limit")
        self._draw_list()

    def _catalog_changed(self) -> None:
        self._limits_changed()

    def _draw_list(self) -> None:
        limits = sorted(self.limits.limits.items(), key=lambda item: self._name(item[0]).lower())
        self.list.clear()
        with self.list:
            if not limits:
                hint = " Choose a module and a number of minutes." if self.admin else ""
                ui.label(f"No limits set.{hint}").classes("text-gray-500 text-sm")
            for module, minutes in limits:
                name, slug = module_label(self.catalog, module)
                with (
                    ui.row()
                    .classes("w-full items-center gap-2 border-b border-gray-200 py-1 flex-nowrap")
                    .mark("limit-row")
                ):
                    ui.icon("timer", color="primary")
                    title = ui.label(name).classes("font-medium truncate min-w-0")
                    if slug:  # the module's id for an operator, in the tooltip only
                        title.props["title"] = f"{name} · id {slug}"
                    ui.label(f"{minutes} min").classes("ml-auto whitespace-nowrap").mark("limit-row-minutes")
                    if self.admin:
                        label = f"Remove limit for {name}"
                        remove = ui.button(icon="delete", color="grey-7", on_click=lambda m=module: self.remove(m))
                        remove.props("flat round dense").mark("limit-remove")
                        remove.props["aria-label"] = label
                        remove.tooltip(label)
