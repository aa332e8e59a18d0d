"""`/users`: admins add users, change passwords and roles, remove users."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.frame import frame
from components.hub import Hub
from components.users_panel import UsersPanel
from gaze.services import Services
from pages.access import page_actions, to_login


def register(services: Services, hub: Hub) -> None:
    @ui.page("/users", title="Module Gaze · Users")
    def users_page() -> RedirectResponse | None:
        actions = page_actions(services, hub)
        if actions is None:
            return to_login()
        with frame(actions, "Users", width="max-w-3xl"):
            if not actions.is_admin:
                ui.label("Only an admin can manage users.").classes("text-gray-600").mark("users-denied")
                return None
            UsersPanel(actions, services.users)
        return None
