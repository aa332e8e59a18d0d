"""`/login`: user name and password, rate-limited per address."""

from __future__ import annotations

import logging
import math

from fastapi.responses import RedirectResponse
from nicegui import app, ui

from components.frame import Heading, preload_scripts
from components.io import io_bound
from gaze.auth import LoginLimiter, safe_redirect
from gaze.services import Services
from pages.access import request_identity
from pages.dashboard import FIRST_SCRIPTS
from pages.security import keep_browser, request_address

log = logging.getLogger(__name__)


def text(value: object) -> str:
    """An input's value as the page's script sent it: text, or nothing (a script may send any JSON)."""
    return value if isinstance(value, str) else ""


def register(services: Services, limiter: LoginLimiter) -> None:
    @ui.page("/login", title="Module Gaze · Log in")
    def login(redirect_to: str = "/", signed_out: str = "") -> RedirectResponse | None:
        """`signed_out`: set when the app sent this page here (components/actions.py `SIGNED_OUT`)."""
        target = safe_redirect(redirect_to)
        request = ui.context.client.request
        if request_identity(request, services.users) is not None:
            return RedirectResponse(target, status_code=303)
        address = request_address(request, services.settings) or (request.client.host if request.client else "")

        async def attempt() -> None:
            note.set_visibility(False)  # one message: what this attempt says replaces "Logged out."
            wait = limiter.reserve(address)  # counted before the slow hash: a burst gets no extra tries
            if wait > 0:
                error.set_text(f"Too many failed logins. Try again in {math.ceil(wait)} s.")
                return
            name = text(username.value).strip()
            user = await io_bound(services.users.verify, name, text(password.value))
            if user is None:
                log.info("login failed from %s", address)  # not the name: it may be a mistyped password
                wait = limiter.failed(address)
                error.set_text(
                    f"Too many failed logins. Try again in {math.ceil(wait)} s."
                    if wait
                    else "Wrong user name or password."
                )
                password.set_value("")
                return
            limiter.succeeded(address)
            await keep_browser(request)  # a page first loaded without a cookie has no storage yet
            app.storage.user.update(username=user.username)
            ui.navigate.to(target)

        preload_scripts(*FIRST_SCRIPTS)  # the board's, fetched while the admin types (issue 21)
        with ui.card().classes("absolute-center w-80 max-w-[92vw]"):
            Heading("Module Gaze")
            note = ui.label("Logged out. Log in again to see the board.").classes("text-sm text-gray-700")
            note.props('role="status"').mark("login-note").set_visibility(bool(signed_out))
            username = (
                ui.input("User name")
                .classes("w-full")
                .props("autofocus autocomplete=username")
                .mark("login-user")
                .on("keydown.enter", attempt)
            )
            password = (
                ui.input("Password", password=True, password_toggle_button=True)
                .classes("w-full")
                .props("autocomplete=current-password")
                .mark("login-password")
                .on("keydown.enter", attempt)
            )
            error = ui.label("").classes("text-sm text-red-700").mark("login-error")
            ui.button("Log in", on_click=attempt).classes("w-full").mark("login-submit")
        return None
