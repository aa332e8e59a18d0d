"""Issue 8 routes through the running app: /api/modules open (error details only when signed in) and
/api/live-sessions for a signed-in user or a script with the read token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from nicegui import app
from nicegui.testing import User

from gaze.liveapi import HIDDEN
from tests.test_dashboard import WAIT, gaze_env, hit, login, services

pytest_plugins = ["nicegui.testing.user_plugin"]
__all__ = ["gaze_env"]
BROKEN_DB = "postgresql://gaze:not-the-password@127.0.0.1:1/oc4d"  # nothing listens on port 1
TOKEN = "read-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def field_env(gaze_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", BROKEN_DB)
    monkeypatch.setenv("MODULEGAZE_READ_TOKEN", TOKEN)
    yield


def raw_client(**headers: str) -> httpx.AsyncClient:
    """A client without a session cookie."""
    transport = httpx.ASGITransport(app, client=("127.0.0.1", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)


async def loaded() -> None:
    for _ in range(WAIT * 2):
        if services().ready and services().catalog.loaded_at is not None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the catalog did not load")


async def test_modules_are_open_and_hide_error_details(user: User) -> None:
    await user.open("/login")
    await loaded()
    async with raw_client() as client:
        response = await client.get("/api/modules")
    assert response.status_code == 200
    body = response.json()
    modules = {m["slug"]: m for m in body["modules"]}
    assert set(modules) == {"cdn_math", "cdn_geo"}
    for module in modules.values():
        assert {"id", "name", "indexHtmlUrl", "categories", "slug"} <= set(module)
    assert modules["cdn_math"]["name"] == "Mathematics" and modules["cdn_math"]["categories"] == []
    assert body["sources"]["database"]["ok"] is False and body["sources"]["database"]["error"] == HIDDEN
    assert "127.0.0.1" not in response.text and "not-the-password" not in response.text

    await login(user)
    signed = (await user.http_client.get("/api/modules")).json()
    error = signed["sources"]["database"]["error"]
    assert error and error != HIDDEN and ("127.0.0.1" in error or "refused" in error.lower())
    assert signed["sources"]["scan"]["rootsTried"]  # the folders searched, for the operator
    assert "not-the-password" not in (await user.http_client.get("/api/modules")).text


async def test_live_sessions_for_a_user_or_the_read_token(user: User) -> None:
    await user.open("/login")
    await loaded()
    await asyncio.to_thread(services().limits.set_limit, "cdn_math", 1)
    hit("10.0.0.7", "cdn_math", user="ama@example.com", ago_s=90)
    hit("10.0.0.7", "cdn_math", user="ama@example.com", ago_s=20, asset=True)
    hit("10.0.0.8", "cdn_bio", ago_s=5)
    await asyncio.to_thread(services().devices.set, "10.0.0.7", "Tablet 07")

    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"}):
        async with raw_client(**headers) as client:
            assert (await client.get("/api/live-sessions")).status_code == 401, headers
    async with raw_client(Authorization=f"Bearer {TOKEN}") as client:
        response = await client.get("/api/live-sessions")
        assert (await client.get("/api/modules")).status_code == 200
        assert (await client.get("/history/export.csv")).status_code == 303  # the token reads only this route
    assert response.status_code == 200
    body = response.json()
    assert body["enabled"] is False and body["demo"] is False
    first, second = body["sessions"]  # longest on module first
    assert first["ip"] == "10.0.0.7" and first["username"] == "ama@example.com" and first["device"] == "Tablet 07"
    assert first["module"] == "cdn_math" and first["moduleName"] == "Mathematics"
    assert 88 <= first["seconds"] <= 95 and 18 <= first["idleSeconds"] <= 25 and first["duration"] == first["seconds"]
    assert first["limitMinutes"] == 1 and first["overLimit"] is True
    assert first["startTime"].endswith("Z") and first["lastActivity"] > first["startTime"]
    assert second["module"] == "cdn_bio" and second["moduleName"] == "cdn_bio" and second["username"] == "Guest"
    assert second["limitMinutes"] is None and second["overLimit"] is False and second["device"] is None

    await login(user, "viewer1", "viewer")
    signed = await user.http_client.get("/api/live-sessions")
    assert signed.status_code == 200 and len(signed.json()["sessions"]) == 2
    await user.should_see("Live sessions", retries=WAIT)
