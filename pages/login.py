"""`/login`: user name and password, rate-limited per address."""

from __future__ import annotations

import math

from fastapi.responses import RedirectResponse
from nicegui import app, run, ui

from gaze.auth import LoginLimiter, safe_redirect
from gaze.heartbeat import client_address
from gaze.services import Services
from pages.access import signed_in


def register(services: Services, limiter: LoginLimiter) -> None:
    @ui.page("/login", title="Module Gaze · Log in")
    def login(redirect_to: str = "/") -> RedirectResponse | None:
        target = safe_redirect(redirect_to)
        if signed_in(services) is not None:
            return RedirectResponse(target, status_code=303)
        request = ui.context.client.request
        peer = request.client.host if request.client else ""
        address = client_address(peer, request.headers.get("x-forwarded-for"), services.settings.trusted_proxy_networks)
        address = address or peer

        async def attempt() -> None:
            wait = limiter.wait_s(address)
            if wait > 0:
                error.set_text(f"Too many failed logins. Try again in {math.ceil(wait)} s.")
                return
            user = await run.io_bound(services.users.verify, username.value.strip(), password.value)
            if user is None:
                wait = limiter.failed(address)
                error.set_text(
                    f"Too many failed logins. Try again in {math.ceil(wait)} s."
                    if wait
                    else "Wrong user name or password."
                )
                password.set_value("")
                return
            limiter.succeeded(address)
            app.storage.user.update(username=user.username)
            ui.navigate.to(target)

        ui.colors(primary="#1f6f8b")
        with ui.card().classes("absolute-center w-80 max-w-[92vw]"):
            ui.label("Module Gaze").classes("text-xl font-semibold")
            username = (
                ui.input("User name").classes("w-full").props("autofocus autocomplete=username").mark("login-user")
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
