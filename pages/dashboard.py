"""The admin's live board at `/`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.actions import Actions
from components.alerts import AlertBanner, AlertHistory
from components.deferred import Deferred
from components.device_day import DeviceDay
from components.frame import Heading, frame, icon_button, name_dialog
from components.hub import Hub
from components.limits_panel import LimitsPanel
from components.monitoring import monitoring_control, stopped_banner
from components.session_list import SessionList
from components.status_strip import stat_cards, status_strip
from components.today_chart import TodayChart
from gaze.board import Names, RowView
from gaze.services import Services
from pages.access import page_actions, to_login
from pages.history import Reads

T = TypeVar("T")
# The kinds of element with a script of their own (a NiceGUI JavaScript component) in the board's
# first HTML: the login page has the browser fetch those scripts while the admin types, so that after
# the click the board starts drawing without waiting for them (tests/test_first_build.py checks the list).
FIRST_SCRIPTS: tuple[type[ui.element], ...] = (ui.html,)


def limits_dialog(panel: Callable[[], LimitsPanel]) -> ui.dialog:
    """Time limits in a dialog the header opens: reachable at once, also on a phone."""
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-2xl").mark("limits-dialog"):
        with ui.row().classes("w-full items-center flex-nowrap"):
            title = ui.label("Time limits").classes("text-lg font-semibold")
            ui.space()
            icon_button("close", "Close time limits", dialog.close)
        panel()
    name_dialog(dialog, title)
    return dialog


class Lazy(Generic[T]):
    """A dialog built the first time it is opened: most boards never open it, and every element a
    board holds costs memory for as long as it is open."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._anchor = Deferred(lambda: ui.element("div").classes("hidden"))  # not in the first HTML
        self._made: T | None = None

    def get(self) -> T:
        if self._made is None:
            with self._anchor.get():
                self._made = self._build()
        return self._made


def register(services: Services, hub: Hub) -> None:
    names = Names(services.catalog, services.devices.label)  # looked up live: one for every page

    @ui.page("/", title="Module Gaze")
    def dashboard() -> RedirectResponse | None:
        actions = page_actions(services, hub)
        if actions is None:
            return to_login()
        dashboard_page(services, hub, actions, names)
        return None

    @ui.page("/wall", title="Module Gaze")
    def wall() -> RedirectResponse | None:
        """The board for a screen in the centre: large type, no controls, for any signed-in user."""
        actions = page_actions(services, hub)
        if actions is None:
            return to_login()
        wall_page(services, hub, actions, names)
        return None


def dashboard_page(services: Services, hub: Hub, actions: Actions, names: Names) -> None:
    """The admin's board: status, alerts, cards, the live sessions, today's chart, the alert history."""

    def limits_panel() -> LimitsPanel:
        return LimitsPanel(actions, services.limits, services.catalog, services.recorder.sessions)

    limits = Lazy(lambda: limits_dialog(limits_panel))
    reads = Reads(services.engine, services.catalog, services.devices, services.settings.log_dir)
    device_day = Lazy(lambda: DeviceDay(actions, names, reads))

    def open_limits() -> None:
        limits.get().open()

    async def open_day(view: RowView) -> None:
        await device_day.get().show(view)

    def tools() -> None:
        ui.button("Limits", icon="timer", on_click=open_limits).props("flat dense no-caps color=white").mark(
            "open-limits"
        )

    with frame(actions, tools=tools, gap="gap-3 sm:gap-4"):
        stopped_banner(hub.status)
        AlertBanner(actions, services.limits, names)
        stat_cards(hub.status, on_limits=open_limits)
        # The status strip and Stop above the sessions, also on a phone (not 2,700 px below them);
        # on a phone the chart and the alert history come after the sessions.
        with ui.column().classes("w-full gap-2").mark("board-status"):
            status_strip(hub.status, demo=services.demo)
            monitoring_control(actions, background=services.settings.background_monitor)
        with ui.card().classes("w-full p-0 sm:p-2"):
            ui.label("Live sessions").classes("text-lg font-semibold px-3 pt-2")
            SessionList(hub, names, services.limits.limit_for, on_open=open_day)
        # Below the sessions (after them on a phone): built once the page is connected, so the
        # first HTML holds no more than the first screen needs (issue 21).
        below = Deferred(lambda: below_the_sessions(services, hub, names))
        client = ui.context.client
        if client.has_socket_connection:
            below.get()
        else:
            client.on_connect(below.get)


def below_the_sessions(services: Services, hub: Hub, names: Names) -> ui.column:
    """Today's chart and the alert history."""
    with ui.column().classes("w-full gap-3 sm:gap-4 max-md:order-1") as column:
        TodayChart(hub, names.module)
        AlertHistory(hub, services.limits, names)
    return column


def wall_page(services: Services, hub: Hub, actions: Actions, names: Names) -> None:
    """The wall board: large type, no controls."""
    with frame(actions, wall=True):
        with ui.row().classes("w-full items-center gap-x-6 gap-y-1 flex-wrap"):
            Heading("Module Gaze", "text-2xl font-semibold text-primary")
            ui.label().bind_text_from(hub.status, "reader").classes("text-gray-600")
            ui.label().bind_text_from(hub.status, "last_line").classes("text-gray-600")
        stopped_banner(hub.status)
        AlertBanner(actions, services.limits, names, controls=False)
        stat_cards(hub.status, wall=True)
        with ui.card().classes("w-full p-0 sm:p-2"):
            SessionList(hub, names, services.limits.limit_for, controls=False)
