"""The look every page shares: the app's colour, and the header of every signed-in page (title,
navigation, who is signed in, log out)."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import app, ui

from components.actions import Actions

PRIMARY = "#1f6f8b"  # the header, the buttons, the charts' ended time
# A select's menu stays inside the screen on a phone: at most 95% of its width, and long option
# labels (a module's name, a slug no catalog names) wrap, even inside a word.
MENU_IN_SCREEN = "popup-content-style='max-width:95vw;overflow-wrap:anywhere'"


def colors() -> None:
    """The app's colours on this page (Quasar's primary: buttons, toggles, links)."""
    ui.colors(primary=PRIMARY)


def icon_button(
    icon: str, label: str, on_click: Callable[..., object], *, props: str = "flat round dense"
) -> ui.button:
    """An icon-only button with an accessible name (aria-label) and the same words as a tooltip."""
    button = ui.button(icon=icon, on_click=on_click).props(props)
    button.props["aria-label"] = label
    button.tooltip(label)
    return button


def header(actions: Actions, title: str = "Live module sessions", tools: Callable[[], None] | None = None) -> None:
    """`tools` draws page-specific buttons at the start of the right-hand group (e.g. the board's Limits)."""
    colors()
    with ui.header().classes(
        f"items-center justify-between bg-[{PRIMARY}] px-2 sm:px-4 py-2 gap-x-2 gap-y-1 flex-wrap"
    ):
        with ui.row().classes("items-center gap-4"):
            ui.link("Module Gaze", "/").classes("text-xl font-semibold text-white no-underline")
            ui.label(title).classes("text-sm text-white opacity-80 max-md:hidden")
        with ui.row().classes("items-center gap-x-3 gap-y-1 flex-wrap"):
            if tools is not None:
                tools()
            ui.link("Board", "/").classes("text-white text-sm").mark("nav-board")
            ui.link("History", "/history").classes("text-white text-sm").mark("nav-history")
            ui.link("Devices", "/devices").classes("text-white text-sm").mark("nav-devices")
            ui.link("Wall", "/wall").classes("text-white text-sm max-sm:hidden").mark("nav-wall").tooltip(
                "The board for a screen in the centre: large type, no controls"
            )
            if actions.is_admin:
                ui.link("Users", "/users").classes("text-white text-sm").mark("nav-users")
            ui.label(f"{actions.identity.username} · {actions.role}").classes("text-white text-sm max-sm:hidden").mark(
                "whoami"
            )

            def log_out() -> None:
                app.storage.user.clear()
                ui.navigate.to("/login")

            icon_button(
                "logout", f"Log out {actions.identity.username}", log_out, props="flat round dense color=white"
            ).mark("logout")
