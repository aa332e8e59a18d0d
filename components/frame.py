"""The header every signed-in page shares: title, navigation, who is signed in, log out."""

from __future__ import annotations

from nicegui import app, ui

from components.actions import Actions


def header(actions: Actions, title: str = "Live module sessions") -> None:
    ui.colors(primary="#1f6f8b")
    with ui.header().classes("items-center justify-between bg-[#1f6f8b] px-4 py-2 gap-2"):
        with ui.row().classes("items-center gap-4"):
            ui.link("Module Gaze", "/").classes("text-xl font-semibold text-white no-underline")
            ui.label(title).classes("text-sm text-white opacity-80 max-sm:hidden")
        with ui.row().classes("items-center gap-2"):
            ui.link("Board", "/").classes("text-white text-sm").mark("nav-board")
            ui.link("History", "/history").classes("text-white text-sm").mark("nav-history")
            ui.link("Devices", "/devices").classes("text-white text-sm").mark("nav-devices")
            if actions.is_admin:
                ui.link("Users", "/users").classes("text-white text-sm").mark("nav-users")
            ui.label(f"{actions.identity.username} · {actions.role}").classes("text-white text-sm").mark("whoami")

            def log_out() -> None:
                app.storage.user.clear()
                ui.navigate.to("/login")

            ui.button(icon="logout", on_click=log_out).props("flat round dense color=white aria-label='Log out'").mark(
                "logout"
            )
