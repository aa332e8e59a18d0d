"""Header status strip and the four stat cards, bound to the hub's BoardStatus."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from nicegui import ui

from components.bind import bind_classes
from components.deferred import shown_when
from components.hub import BoardStatus


def _chip(status: BoardStatus, text: str, problem: str | None, icon: str, marker: str) -> None:
    with ui.row().classes("items-center gap-1 text-sm").mark(marker):
        ui.icon(icon).classes("text-gray-500")
        if problem is not None:
            shown_when(status, problem, _warning)
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
        # Shown only when there is something to say: built then (issue 21, components/deferred.py).
        shown_when(status, "writer_problem", lambda: _writer(status))
        shown_when(status, "uplink", lambda: _uplink(status))
        shown_when(status, "takeover", lambda: _takeover(status))


def _warning() -> ui.icon:
    return ui.icon("warning", color="orange-8")


def _writer(status: BoardStatus) -> ui.row:
    with ui.row().classes("items-center gap-1 text-sm text-red-700").mark("status-writer") as writer:
        ui.icon("error")
        ui.label().bind_text_from(status, "writer")
    return writer


def _uplink(status: BoardStatus) -> ui.row:
    with ui.row().classes("items-center gap-1 text-sm").mark("status-uplink") as uplink:
        ui.icon("cloud_upload").classes("text-gray-500")
        shown_when(status, "uplink_problem", _warning)
        ui.label().bind_text_from(status, "uplink")
    return uplink


def _takeover(status: BoardStatus) -> ui.row:
    with ui.row().classes("items-center gap-1 text-sm").mark("status-takeover") as takeover:
        ui.icon("history").classes("text-gray-500")
        ui.label().bind_text_from(status, "takeover")
    return takeover


OVER_CLASSES = "bg-red-700 text-white"
# A card's title is a little lighter than its figure, except on the red card: white at 80% there
# reads at 4.38:1, under the 4.5:1 small text needs (issue 20.8).
TITLE_CLASSES = "items-center gap-2 flex-nowrap opacity-80 [.bg-red-700_&]:opacity-100"


def _card(status: BoardStatus, title: str, field: str, marker: str, icon: str) -> ui.card:
    with ui.card().classes("w-full p-3 sm:p-4").mark(marker) as card:
        # The icon and title as Quasar's q-icon and a label draw them, in one element (issue 21).
        ui.html(
            f'<i class="q-icon material-icons" translate="no" aria-hidden="true" role="presentation">{icon}</i>'
            f'<div class="text-sm whitespace-nowrap">{escape(title)}</div>',
            sanitize=True,
        ).classes(f"nicegui-row row {TITLE_CLASSES}").mark(f"{marker}-title")
        ui.label().classes("text-3xl font-semibold").bind_text_from(status, field, backward=str).mark(f"{marker}-value")
    return card


def _over_note(status: BoardStatus) -> ui.label:
    return (
        ui.label()
        .classes("text-xs sm:text-sm break-words")
        .bind_text_from(status, "over_note")
        .mark("card-over-limit-note")
    )


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
            shown_when(status, "over_note", lambda: _over_note(status))

    bind_classes(over, status, "over_limit", OVER_CLASSES)
