"""The card at the top of /history: the range (a custom one's dates), the module, device and user
filters, Clear filters and Download CSV, and the notes under them (a bad range, the devices a
filter found by name, what the link held that was ignored); and the module chart's bars as
buttons for the keyboard (`BarButtons`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from nicegui import ui

from components.search_select import enter_picks_single
from components.theme import MENU_IN_SCREEN
from gaze.history_url import RANGES, HistoryQuery

ChangeHandler = Callable[[str | None], Awaitable[None]]  # gets the text filter typed in, if any
Handler = Callable[[], object]

DEFINITION = (
    "Counts sessions that have ended (by their end time); the board's Today so far "
    "adds the open sessions' time so far. A range that includes today updates as sessions end."
)


class HistoryControls:
    """What the admin chose; `on_change` hears every choice, `on_range` a new range."""

    def __init__(
        self,
        q: HistoryQuery,
        notes: list[str],
        modules: dict[str, str],
        *,
        on_change: ChangeHandler,
        on_range: Handler,
        on_clear: Handler,
        on_download: Handler,
    ) -> None:
        self._on_change = on_change
        if q.module and q.module not in modules:
            modules[q.module] = q.module
        with ui.card().classes("w-full"):
            self._range_row(q, on_range)
            self._filter_row(q, modules, on_clear, on_download)
            self.error = ui.label("").classes("text-sm text-red-700 empty:hidden").mark("range-error")
            self.device_note = ui.label("").classes("text-sm text-amber-800 empty:hidden").mark("device-note")
            self.url_notes = (
                ui.label("Ignored in the link: " + "; ".join(notes) + "." if notes else "")
                .classes("text-sm text-amber-800 break-words empty:hidden")
                .mark("url-notes")
            )
            ui.label(DEFINITION).classes("text-xs text-gray-600").mark("history-definition")
        self.show_dates(q.range == "custom")

    def _range_row(self, q: HistoryQuery, on_range: Handler) -> None:
        with ui.row().classes("w-full items-center gap-3 flex-wrap"):
            self.toggle = (
                ui.toggle(RANGES, value=q.range, on_change=on_range)
                .props("no-caps dense")
                .classes("flex-wrap max-w-full")
                .mark("range")
            )
            self.date_from = (
                ui.input("From", value=q.date_from, on_change=self._changed).props("type=date dense").mark("from")
            )
            self.date_to = ui.input("To", value=q.date_to, on_change=self._changed).props("type=date dense").mark("to")

    def _filter_row(self, q: HistoryQuery, modules: dict[str, str], on_clear: Handler, on_download: Handler) -> None:
        with ui.row().classes("w-full items-center gap-3 flex-wrap"):
            self.module = (
                ui.select(modules, value=q.module or None, label="Module", with_input=True)
                .props(f"clearable dense {MENU_IN_SCREEN}")
                .classes("min-w-[220px] max-w-full")
                .mark("filter-module")
            )
            self.module.on_value_change(self._changed)
            enter_picks_single(self.module)
            self.device = (
                ui.input("Device name or IP", value=q.device, on_change=lambda: self._on_change("device"))
                .props("clearable dense debounce=400")
                .mark("filter-device")
            )
            self.user = (
                ui.input("User", value=q.user, on_change=lambda: self._on_change("user"))
                .props("clearable dense debounce=400")
                .mark("filter-user")
            )
            ui.button("Clear filters", on_click=on_clear).props("flat dense")
            ui.space()
            ui.button("Download CSV", icon="download", on_click=on_download).mark("download-csv")

    async def _changed(self) -> None:
        await self._on_change(None)

    @property
    def custom(self) -> bool:
        return bool(self.toggle.value == "custom")

    def query(self, q: HistoryQuery) -> HistoryQuery:
        """The state the controls show (a new filter or range starts at page 1, keeps `q`'s sort)."""
        custom = self.custom
        return HistoryQuery(
            range=self.toggle.value or "today",
            date_from=(self.date_from.value or "") if custom else "",
            date_to=(self.date_to.value or "") if custom else "",
            module=self.module.value or "",
            device=(self.device.value or "").strip(),
            user=(self.user.value or "").strip(),
            page=1,
            sort=q.sort,
            descending=q.descending,
        )

    def show(self, q: HistoryQuery) -> None:
        """The controls as `q` says (Back or Forward); their handlers find nothing new."""
        if q.range == "custom":
            self.date_from.set_value(q.date_from)
            self.date_to.set_value(q.date_to)
        self.toggle.set_value(q.range)
        self.choose_module(q.module)
        self.device.set_value(q.device)
        self.user.set_value(q.user)
        self.url_notes.set_text("")

    def choose_module(self, slug: str) -> None:
        options = self.module.options  # a dict here: slug -> label
        if slug and isinstance(options, dict) and slug not in options:
            self.module.set_options({**options, slug: slug})
        self.module.set_value(slug or None)

    def show_dates(self, custom: bool) -> None:
        self.date_from.set_visibility(custom)
        self.date_to.set_visibility(custom)

    def start_custom(self) -> bool:
        """A custom range just chosen with no dates yet: both today's (True: their handlers refresh)."""
        if self.date_from.value:
            return False
        today = date.today().isoformat()
        self.date_from.set_value(today)
        self.date_to.set_value(today)
        return True

    def clear(self) -> None:
        self.module.set_value(None)
        self.device.set_value("")
        self.user.set_value("")


class BarButtons:
    """The module chart's "click a bar to filter" by keyboard: a button per bar after the chart, seen
    only while it has focus (Tab reaches them); Enter or Space filters by that bar's module."""

    def __init__(self, size: int, on_pick: Callable[[int], object]) -> None:
        with ui.element("div").classes("flex flex-wrap gap-1"):
            self.buttons = [
                ui.button(on_click=lambda i=i: on_pick(i))
                .props("flat dense no-caps")
                .classes("sr-only focus:not-sr-only history-focus")
                .mark("bar-button")
                for i in range(size)
            ]

    def show(self, bars: list[tuple[str, float]]) -> None:
        """(module name, minutes) of each bar, the first on top."""
        for i, button in enumerate(self.buttons):
            button.set_text(f"Show only {bars[i][0]} ({bars[i][1]:.1f} min)" if i < len(bars) else "")
            button.set_visibility(i < len(bars))
