"""/history's session table: sorted on the server by the clicked column, paged below, rows clickable;
headers and rows reached by Tab too.
On a phone (below Tailwind's `sm`) the same rows are cards, one line per column, sorted by a menu;
Tab reaches each card and Enter or Space opens it, as a row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from nicegui import ui

from components.theme import PRIMARY
from gaze.board import device_text, format_duration
from gaze.history import SessionItem
from gaze.history_url import SORTS

PAGE_SIZE = 25
NO_SESSIONS = "No ended sessions in this range."  # what an empty table or chart says
# the phone's sort menu: a column and a direction ('-' first: descending), in words
SORT_WORDS = {"end": ("Oldest first", "Newest first"), "duration": ("Shortest first", "Longest first")}
SORT_CHOICES = {
    ("-" if descending else "") + key: SORT_WORDS.get(key, (f"{label} A–Z", f"{label} Z–A"))[descending]
    for key, label in SORTS.items()
    for descending in (True, False)
}
# a card's lines: the column's title on the left, its value on the right
CARDS_CSS = """
.session-cards .q-table__grid-item-row { display: flex; justify-content: space-between; gap: 0.75rem; }
.session-cards .q-table__grid-item-row + .q-table__grid-item-row { margin-top: 2px; }
.session-cards .q-table__grid-item-value { text-align: right; min-width: 0; overflow-wrap: anywhere; }
"""

# By keyboard: each header is a button (Tab reaches it; Enter or Space sorts, as a click does), kept
# across redraws so that it keeps the focus; each session row is reached by Tab too and Enter opens
# its device's day, as a click does (a row slot, as in NiceGUI's table examples). `history-focus`: a
# ring around a focused button of /history (Quasar's q-btn has no outline).
BODY = r"""
<q-tr :props="props" tabindex="0" class="cursor-pointer" @click="$parent.$emit('open', props.row)"
      @keydown.enter="$parent.$emit('open', props.row)">
  <q-td v-for="col in props.cols" :key="col.name" :props="props">{{ col.value }}</q-td>
</q-tr>
"""
# A phone's card: Quasar's own grid card (its classes, so it looks the same), reached by Tab; Enter or
# Space opens its device's day, as a tap does.
CARD = r"""
<div class="q-table__grid-item col-12">
  <div class="q-table__grid-item-card q-table__card bg-gray-50 cursor-pointer" tabindex="0" role="button"
       @click="$parent.$emit('open', props.row)" @keydown.enter="$parent.$emit('open', props.row)"
       @keydown.space.prevent="$parent.$emit('open', props.row)">
    <div v-for="col in props.cols" :key="col.name" class="q-table__grid-item-row">
      <div class="q-table__grid-item-title">{{ col.label }}</div>
      <div class="q-table__grid-item-value">{{ col.value }}</div>
    </div>
  </div>
</div>
"""
FOCUS_CSS = f"""
.session-table tbody tr:focus-visible {{ outline: 2px solid {PRIMARY}; outline-offset: -2px; }}
.session-cards .q-table__grid-item-card:focus-visible {{ outline: 2px solid {PRIMARY}; outline-offset: 2px; }}
.history-focus:focus-visible {{ box-shadow: 0 0 0 2px {PRIMARY}; }}
"""
ARIA_SORT = {None: "none", False: "ascending", True: "descending"}

SortHandler = Callable[[str, bool], Awaitable[None]]
PageHandler = Callable[[int], Awaitable[None]]
RowHandler = Callable[[dict[str, Any]], Awaitable[None]]


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


class SessionTable:
    """Clicking a header (or Enter / Space on it) asks the owner for that sort (`on_sort`); Quasar does
    not sort the rows itself (server-side mode: the pagination carries `rowsNumber`)."""

    def __init__(self, on_sort: SortHandler, on_page: PageHandler, on_row: RowHandler) -> None:
        self.on_sort, self.on_page, self.on_row = on_sort, on_page, on_row
        columns = [
            {
                "name": key,
                "label": label,
                "field": key,
                "align": "right" if key == "duration" else "left",
            }
            for key, label in SORTS.items()
        ]
        pagination = {"sortBy": "end", "descending": True, "page": 1, "rowsPerPage": 0, "rowsNumber": 0}
        empty = f'no-data-label="{NO_SESSIONS}"'
        self.sort = (
            ui.select(SORT_CHOICES, value="-end", label="Sort", on_change=self._sort_chosen)
            .props("dense")
            .classes("w-48 sm:hidden")
            .mark("sessions-sort")
        )
        self.table = (
            ui.table(columns=columns, rows=[], row_key="id", pagination=pagination)
            .classes("w-full max-sm:hidden session-table")
            .props(f"flat dense wrap-cells hide-pagination {empty}")
            .mark("sessions-table")
        )
        self._header()
        self.table.add_slot("body", BODY)
        self.table.on("open", self._opened)
        ui.add_css(CARDS_CSS + FOCUS_CSS)
        self.cards = (
            ui.table(columns=columns, rows=[], row_key="id", pagination=pagination)
            .classes("w-full sm:hidden session-cards")
            .props(f"grid hide-header hide-pagination {empty}")
            .mark("sessions-cards")
        )
        self.cards.add_slot("item", CARD)
        self.cards.on("open", self._opened)
        with ui.row().classes("items-center gap-2"):
            self.pager = ui.pagination(1, 1, direction_links=True, on_change=self._page_changed).props(
                "max-pages=7 boundary-numbers"
            )
            self.count = ui.label("").classes("text-sm text-gray-600").mark("sessions-count")
        self._shown = ("-end", 1)  # the sort and page show() drew: a change to these is not the admin's

    def _header(self) -> None:
        self.headers: dict[str, tuple[ui.element, ui.button]] = {}
        with self.table.add_slot("header"), ui.element("q-tr"):
            for key, label in SORTS.items():
                align = "right" if key == "duration" else "left"
                with ui.element("q-th").classes(f"text-{align}") as cell:
                    button = (
                        ui.button(label, on_click=lambda key=key: self._header_clicked(key))
                        .props(f"flat dense no-caps align={align}")
                        .classes("w-full font-semibold history-focus")
                    )
                self.headers[key] = (cell, button)

    def _mark_sort(self, sort: str, descending: bool) -> None:
        """The sorted column's arrow and aria-sort."""
        for key, (cell, button) in self.headers.items():
            cell.props["aria-sort"] = ARIA_SORT[descending if key == sort else None]
            button.props["icon-right"] = ("arrow_downward" if descending else "arrow_upward") if key == sort else ""
            cell.update()
            button.update()

    async def _header_clicked(self, key: str) -> None:
        """The same column again: the other way round; another: A–Z (shortest, oldest) first."""
        shown = self._shown[0]
        descending = shown == key  # shown ascending by this column: now descending
        await self.on_sort(key, descending)

    def show(
        self,
        items: list[SessionItem],
        total: int,
        page: int,
        sort: str,
        descending: bool,
        labels: Callable[[str], str | None],
        names: Callable[[str], str],
    ) -> None:
        rows = [
            {
                "id": item.id,
                "end": _time(item.end_ms),
                "user": item.user,
                "device": device_text(item.ip, labels),
                "ip": item.ip,
                "day": datetime.fromtimestamp(item.end_ms / 1000).date().isoformat(),
                "module": names(item.module),
                "duration": format_duration(item.duration_s),
            }
            for item in items
        ]
        pagination = {"sortBy": sort, "descending": descending, "page": 1, "rowsPerPage": 0, "rowsNumber": len(rows)}
        for table in (self.table, self.cards):
            table.rows = rows
            table.pagination = pagination
            table.update()
        self.pager.max = pages(total)
        self._shown = (("-" if descending else "") + sort, page)
        self.pager.set_value(page)
        self.sort.set_value(self._shown[0])
        self._mark_sort(sort, descending)
        self.pager.update()
        self.count.set_text(f"{total:,} sessions" if total != 1 else "1 session")

    async def _sort_chosen(self) -> None:
        choice = str(self.sort.value or "")
        if choice != self._shown[0] and choice.lstrip("-") in SORTS:
            await self.on_sort(choice.lstrip("-"), choice.startswith("-"))

    async def _page_changed(self) -> None:
        page = int(self.pager.value or 1)
        if page != self._shown[1]:
            await self.on_page(page)

    async def _opened(self, event: Any) -> None:
        if isinstance(event.args, dict):
            await self.on_row(event.args)


def pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))
