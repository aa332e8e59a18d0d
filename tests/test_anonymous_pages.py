"""Issue 18 item 2 in process (NiceGUI's simulated user, no server process): what a login page whose
browser never connects leaves behind — a few pages per address, none after `UNCONNECTED_SECONDS`,
and no per-browser storage until that browser signs in. RSS figures: tests/test_anonymous_app.py
and bench/cookieless.py."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from nicegui import Client, app, core
from nicegui.testing import User

from pages import unconnected
from pages.unconnected import UNCONNECTED_PER_ADDRESS, UnconnectedPages
from tests.test_dashboard import WAIT, gaze_env, services, until

pytest_plugins = ["nicegui.testing.user_plugin"]
__all__ = ["gaze_env"]  # the autouse fixture that gives main.py its temp settings

LOADS = 40


def user_storages() -> int:
    return len(app.storage._users)


async def anonymous_loads(count: int) -> None:
    """`count` plain `GET /login` with no cookie kept and no websocket, as a script or a bot sends them."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test") as http:
        for _ in range(count):
            http.cookies.clear()
            response = await http.get("/login")
            assert response.status_code == 200
            assert "set-cookie" in response.headers  # the browser gets its id, to sign in with


async def test_pages_whose_browser_never_connects_are_few_and_freed(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = await user.open("/login")  # a browser that connects
    pages, storages = len(Client.instances), user_storages()
    await anonymous_loads(LOADS)
    assert len(Client.instances) - pages <= UNCONNECTED_PER_ADDRESS, "anonymous pages kept without a bound"
    assert user_storages() == storages, "a page loaded without a cookie was given per-browser storage"
    assert not mine.is_deleted

    monkeypatch.setattr(unconnected, "UNCONNECTED_SECONDS", 0.0)  # as the runtime's sweep finds them later
    sweeper: UnconnectedPages = app.state.unconnected
    sweeper.expire()
    assert len(Client.instances) == pages, "pages whose browser never connected outlived the sweep"
    assert not mine.is_deleted, "the connected page was taken for an unconnected one"
    await user.should_see(marker="login-submit")


async def test_signing_in_from_a_page_first_loaded_without_cookie(user: User) -> None:
    """The storage a cookieless login page did not get is made when that browser signs in."""
    await until(lambda: services().ready, timeout_s=30)
    await asyncio.to_thread(services().users.add, "anna", "anna-password", "viewer")
    storages = user_storages()
    await user.open("/")  # no cookie yet: the login wall sends it to /login
    await user.should_see(marker="login-submit")
    assert user_storages() == storages, "the login page's browser has storage before signing in"
    user.find(marker="login-user").type("anna")
    user.find(marker="login-password").type("anna-password")
    user.find(marker="login-submit").click()
    await user.should_see("Live sessions", retries=WAIT)
    assert user_storages() == storages + 1
