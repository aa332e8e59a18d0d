"""Header status strip and the four stat cards, bound to the hub's BoardStatus."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from components.bind import bind_classes
from components.hub import BoardStatus


def _chip(status: BoardStatus, text: str, problem: str | None, icon: str, marker: str) -> None:
    with ui.row().classes("items-center gap-1 text-sm").mark(marker):
        ui.icon(icon).classes("text-gray-500")
        if problem is not None:
            ui.icon("warning", color="orange-8").bind_visibility_from(status, problem)
        ui.label().bind_text_from(status, text)


def status_strip(status: BoardStatus, *, demo: bool) -> None:
    with ui.row().classes("w-full items-center gap-x-6 gap-y-1 flex-wrap text-gray-700"):
        if demo:
            ui.badge("demo data", color="purple").classes("text-sm").mark("demo-badge").tooltip(
                "oc4d does not run on this machine: a simulated classroom feeds the board."
            )
        _chip(status, "reader", "reader_problem", "sensors", "status-reader")
        _chip(status, "last_line", None, "schedule", "status-last-line")
        _chip(status, "catalog", "catalog_problem", "menu_book", "status-catalog")
        _chip(status, "database", "database_problem", "storage", "status-database")
        with ui.row().classes("items-center gap-1 text-sm text-red-700").mark("status-writer") as writer:
            ui.icon("error")
            ui.label().bind_text_from(status, "writer")
        writer.bind_visibility_from(status, "writer_problem")
        with ui.row().classes("items-center gap-1 text-sm").mark("status-uplink") as uplink:
            ui.icon("cloud_upload").classes("text-gray-500")
            ui.icon("warning", color="orange-8").bind_visibility_from(status, "uplink_problem")
            ui.label().bind_text_from(status, "uplink")
        uplink.bind_visibility_from(status, "uplink", backward=bool)
        with ui.row().classes("items-center gap-1 text-sm").mark("status-takeover") as takeover:
            ui.icon("history").classes("text-gray-500")
            ui.label().bind_text_from(status, "takeover")
        takeover.bind_visibility_from(status, "takeover", backward=bool)


OVER_CLASSES = "bg-red-700 text-white"
# A card's title is a little lighter than its figure, except on the red card: white at 80% there
# reads at 4.38:1, under the 4.5:1 small text needs (issue 20.8).
TITLE_CLASSES = "items-center gap-2 flex-nowrap opacity-80 [.bg-red-700_&]:opacity-100"


def _card(status: BoardStatus, title: str, field: str, marker: str, icon: str) -> ui.card:
    with ui.card().classes("w-full p-3 sm:p-4").mark(marker) as card:
        with ui.row().classes(TITLE_CLASSES):
            ui.icon(icon)
            ui.label(title).classes("text-sm whitespace-nowrap").mark(f"{marker}-title")
        ui.label().classes("text-3xl font-semibold").bind_text_from(status, field, backward=str).mark(f"{marker}-value")
    return card


def stat_cards(status: BoardStatus, on_limits: Callable[[], None] | None = None, *, wall: bool = False) -> None:
    """Four cards; "Over limit now" turns red while it is not 0, "Active limits" opens the limits.
    On a phone the wall's large type puts them one under the other: each title on one line."""
    columns = "grid-cols-1 sm:grid-cols-2" if wall else "grid-cols-2"
    with ui.element("div").classes(f"w-full grid {columns} md:grid-cols-4 gap-2 sm:gap-4"):
        _card(status, "Live users", "live_users", "card-live-users", "person")
        _card(status, "Active modules", "active_modules", "card-active-modules", "menu_book")
        limits = _card(status, "Active limits", "active_limits", "card-active-limits", "timer")
        if on_limits is not None:
            limits.classes("cursor-pointer").on("click", on_limits)
            # Its name is what it shows ("Active limits 2"): a name that differs from the words seen
            # fails voice control (WCAG 2.5.3); that it opens a dialog is said by aria-haspopup.
            limits.props("role=button tabindex=0 aria-haspopup=dialog")
            limits.on("keydown.enter", on_limits)
        over = _card(status, "Over limit now", "over_limit", "card-over-limit", "alarm")
        with over:  # next to the banner's "Mark all N seen": how many of these are seen already
            note = (
                ui.label()
                .classes("text-xs sm:text-sm break-words")
                .bind_text_from(status, "over_note")
                .mark("card-over-limit-note")
            )
            note.bind_visibility_from(status, "over_note", backward=bool)

    bind_classes(over, status, "over_limit", OVER_CLASSES)
