"""/history's session table: sorted on the server by the clicked column, paged below, rows clickable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from nicegui import ui

from gaze.board import device_text, format_duration
from gaze.history import SessionItem
from gaze.history_query import SORTS

PAGE_SIZE = 25

SortHandler = Callable[[str, bool], Awaitable[None]]
PageHandler = Callable[[int], Awaitable[None]]
RowHandler = Callable[[dict[str, Any]], Awaitable[None]]


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


class SessionTable:
    """Clicking a header asks the owner for that sort (`on_sort`); Quasar does not sort the rows itself
    (server-side mode: the pagination carries `rowsNumber`)."""

    def __init__(self, on_sort: SortHandler, on_page: PageHandler, on_row: RowHandler) -> None:
        self.on_sort, self.on_page, self.on_row = on_sort, on_page, on_row
        columns = [
            {
                "name": key,
                "label": label,
                "field": key,
                "align": "right" if key == "duration" else "left",
                "sortable": True,
            }
            for key, label in SORTS.items()
        ]
        self.table = (
            ui.table(
                columns=columns,
                rows=[],
                row_key="id",
                pagination={"sortBy": "end", "descending": True, "page": 1, "rowsPerPage": 0, "rowsNumber": 0},
            )
            .classes("w-full")
            .props("flat dense wrap-cells hide-pagination binary-state-sort")
            .mark("sessions-table")
        )
        self.table.on("request", self._requested)
        self.table.on("row-click", self._row_clicked)
        with ui.row().classes("items-center gap-2"):
            self.pager = ui.pagination(1, 1, direction_links=True, on_change=self._page_changed).props(
                "max-pages=7 boundary-numbers"
            )
            self.count = ui.label("").classes("text-sm text-gray-600").mark("sessions-count")
        self._quiet = False  # set_value from show(): not the admin's click

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
        self.table.rows = [
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
        self.table.pagination = {
            "sortBy": sort,
            "descending": descending,
            "page": 1,
            "rowsPerPage": 0,
            "rowsNumber": len(items),
        }
        self.table.update()
        self.pager.max = pages(total)
        self._quiet = True
        try:
            self.pager.set_value(page)
        finally:
            self._quiet = False
        self.pager.update()
        self.count.set_text(f"{total:,} sessions" if total != 1 else "1 session")

    async def _requested(self, event: Any) -> None:
        args = event.args if isinstance(event.args, dict) else {}
        found = args.get("pagination")
        wanted: dict[str, Any] = found if isinstance(found, dict) else {}
        column = wanted.get("sortBy")
        if column in SORTS:
            await self.on_sort(column, bool(wanted.get("descending")))

    async def _page_changed(self) -> None:
        if not self._quiet:
            await self.on_page(int(self.pager.value or 1))

    async def _row_clicked(self, event: Any) -> None:
        row = event.args[1] if isinstance(event.args, list) and len(event.args) > 1 else None
        if isinstance(row, dict):
            await self.on_row(row)


def pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))
