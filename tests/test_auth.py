"""Login, roles, the login wall on every route, the heartbeat route and /healthz."""

from __future__ import annotations

import asyncio
import dataclasses
import stat
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from nicegui import app
from nicegui.testing import User
from starlette.routing import Route

from components.actions import MUTATING, Actions, Identity, NotAllowed
from gaze.auth import (
    ADMIN,
    VIEWER,
    AuthError,
    LoginLimiter,
    Users,
    hash_password,
    safe_redirect,
    session_secret,
    verify_password,
)
from gaze.db import make_engine
from tests.conftest import seed_migrated
from tests.test_dashboard import WAIT, gaze_env, login, services

pytest_plugins = ["nicegui.testing.user_plugin"]
__all__ = ["gaze_env"]  # the autouse fixture that gives main.py its temp settings


# ---------------------------------------------------------------- passwords, users, limits (no UI)


def test_scrypt_hashes_are_salted_and_verify() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct hors", first)
    assert not verify_password("x", "md5$nope") and not verify_password("x", "garbage")


@pytest.fixture
def users(tmp_path: Path) -> Users:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    seed_migrated(url)
    engine = make_engine(url)
    result = Users(engine)
    result.load()
    return result


def test_users_roles_and_last_admin(users: Users) -> None:
    password = users.ensure_first_admin()
    assert password and len(password) >= 12
    assert users.ensure_first_admin() is None  # only when there are no users at all
    assert users.verify("admin", password) is not None and users.verify("admin", "wrong-password") is None
    users.add("viewer1", "viewer-pass", VIEWER)
    assert users.role_of("viewer1") == VIEWER and users.verify("nobody", "whatever1") is None
    for bad in (lambda: users.add("viewer1", "another-pass"), lambda: users.add("x y", "long-enough"),
                lambda: users.add("short", "1234567"), lambda: users.add("r", "long-enough", "root"),
                lambda: users.remove("admin"), lambda: users.set_role("admin", VIEWER)):  # fmt: skip
        with pytest.raises(AuthError):
            bad()
    assert users.removal_refused("admin") == "The last admin cannot be removed."  # asked before confirming
    assert users.removal_refused("viewer1") is None
    users.set_role("viewer1", ADMIN)
    assert users.removal_refused("admin") is None
    users.remove("admin")  # no longer the last admin
    assert [u.username for u in users.list()] == ["viewer1"]
    users.set_password("viewer1", "new-password")
    assert users.verify("viewer1", "viewer-pass") is None and users.verify("viewer1", "new-password")


def test_the_running_app_follows_what_the_shell_changes(users: Users) -> None:
    """The shell's `main.py users …` is another process with its own `Users` on the same table:
    a user it adds can sign in to the running app at once, and one it removes or demotes loses
    that access when the app re-reads the table (its runtime does, every few seconds)."""
    shell = Users(users.engine)
    shell.load()
    shell.add("deputy", "deputy-pass", ADMIN)
    assert users.role_of("deputy") is None  # not re-read yet ...
    assert users.verify("deputy", "deputy-pass") is not None  # ... but the login reads the row
    assert users.role_of("deputy") == ADMIN
    shell.add("keeper", "keeper-pass", ADMIN)
    shell.set_role("deputy", VIEWER)
    assert users.load() == {"deputy": VIEWER, "keeper": ADMIN}  # what changed, for the open pages
    assert users.role_of("deputy") == VIEWER and users.role_of("keeper") == ADMIN
    users.set_role("deputy", ADMIN)  # a change made here is known here: not reported again
    assert users.load() == {}
    shell.remove("deputy")
    assert users.load() == {"deputy": None}
    assert users.role_of("deputy") is None and users.verify("deputy", "deputy-pass") is None


def test_login_limiter_counts_each_attempt_before_the_check() -> None:
    limiter = LoginLimiter(max_failures=5, lockout_s=60)
    assert [limiter.reserve("10.0.0.1", now=t) for t in range(4)] == [0.0] * 4
    assert [limiter.failed("10.0.0.1", now=4) for _ in range(4)] == [0.0] * 4  # four wrong passwords
    assert limiter.reserve("10.0.0.1", now=4) == 0  # the fifth may still be checked ...
    assert limiter.failed("10.0.0.1", now=5) == 59  # ... and, wrong too, starts the wait
    assert limiter.reserve("10.0.0.1", now=30) == 34 and limiter.reserve("10.0.0.2", now=30) == 0
    assert limiter.wait_s("10.0.0.1", now=65) == 0 and limiter.reserve("10.0.0.1", now=65) == 0
    # a burst: tries sent together are counted as they start, so only five are checked
    burst = [limiter.reserve("10.0.0.3", now=100) for _ in range(20)]
    assert burst.count(0.0) == 5 and all(wait == 60 for wait in burst[5:])
    limiter.reserve("10.0.0.4", now=0)
    limiter.succeeded("10.0.0.4")  # the right password takes its attempt back
    assert [limiter.reserve("10.0.0.4", now=t) for t in range(5)] == [0.0] * 5


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "/"),
        ("/users?x=1", "/users?x=1"),
        ("//evil.example/", "/"),
        ("http://evil.example/", "/"),
        ("https:evil.example", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
        ("/\r\nLocation: x", "/"),
    ],
)
def test_redirect_only_to_local_paths(target: str | None, expected: str) -> None:
    assert safe_redirect(target) == expected


def test_session_secret_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    secret = session_secret(tmp_path)
    path = tmp_path / "session_secret"
    assert len(secret) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert session_secret(tmp_path) == secret and stat.S_IMODE(path.stat().st_mode) == 0o600


# ---------------------------------------------------------------- through the running app


def raw_client(peer: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client without a session, connecting from `peer`."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, client=(peer, 40000)), base_url="http://test")


async def test_every_route_needs_a_login(user: User) -> None:
    await user.open("/login")
    open_paths = {"/login", "/healthz", "/api/module-heartbeat", "/api/modules", "/favicon.ico"}
    checked = []
    async with raw_client() as client:
        for route in app.routes:
            if not isinstance(route, Route | APIRoute) or route.path.startswith("/_nicegui") or "{" in route.path:
                continue
            for method in sorted((route.methods or set()) & {"GET", "POST"}):
                response = await client.request(method, route.path)
                checked.append((method, route.path, response.status_code))
                if route.path in open_paths:
                    assert response.status_code not in (401, 303), (method, route.path)
                elif route.path.startswith("/api/"):
                    assert response.status_code == 401, (method, route.path)
                    assert response.json() == {"error": "login required"}
                else:
                    assert response.status_code == 303, (method, route.path)
                    assert response.headers["location"].startswith("/login?redirect_to=")
    paths = {path for _, path, _ in checked}
    assert {"/", "/users", "/api/modules", "/api/live-sessions", "/login", "/healthz", "/api/module-heartbeat"} <= paths


async def test_logged_in_session_reaches_the_api(user: User) -> None:
    await login(user)
    response = await user.http_client.get("/api/modules")
    assert response.status_code == 200 and "sources" in response.json()


async def test_login_rate_limit_shows_the_wait(user: User) -> None:
    await asyncio.to_thread(services().users.add, "anna", "anna-password", ADMIN)
    await user.open("/login")
    for _ in range(5):
        user.find(marker="login-user").clear().type("anna")
        user.find(marker="login-password").clear().type("not-her-password")
        user.find(marker="login-submit").click()
        await asyncio.sleep(0.15)
    await user.should_see("Too many failed logins. Try again in 60 s.", retries=WAIT)
    user.find(marker="login-password").clear().type("anna-password")
    user.find(marker="login-submit").click()  # even the right password waits
    await user.should_see("Too many failed logins", retries=WAIT)
    assert user.back_history[-1].startswith("/login")


async def test_redirect_after_login_stays_on_this_site(user: User) -> None:
    await asyncio.to_thread(services().users.add, "anna", "anna-password", ADMIN)
    await user.open("/login?redirect_to=//evil.example/steal")
    user.find(marker="login-user").type("anna")
    user.find(marker="login-password").type("anna-password")
    user.find(marker="login-submit").click()
    await user.should_see("Live sessions", retries=WAIT)
    assert user.back_history[-1] == "/"


async def test_viewer_sees_the_board_but_cannot_change_anything(user: User) -> None:
    await login(user, "watcher", VIEWER)
    await user.should_see("watcher · viewer")
    await user.should_not_see(marker="limit-set")
    await user.should_not_see(marker="start-monitoring")
    await user.should_see(marker="monitoring-state")
    await user.open("/users")
    await user.should_see("Only an admin can manage users.")


async def test_every_action_checks_the_role_on_the_server(user: User) -> None:
    await login(user, "watcher", VIEWER)
    hub = app.state.hub
    viewer = Actions(services(), hub, Identity("watcher"))
    arguments = {
        "set_limit": ("cdn_math", 10),
        "remove_limit": ("cdn_math",),
        "acknowledge": (1,),
        "start_monitoring": (),
        "stop_monitoring": (),
        "add_user": ("mallory", "mallory-password", ADMIN),
        "set_password": ("tester", "hijacked-password"),
        "set_role": ("watcher", ADMIN),
        "remove_user": ("watcher",),
        "set_device_label": ("192.168.1.5", "Tablet 1"),
    }
    assert set(arguments) == set(MUTATING) - {"is_admin"}, "a new action needs a role test here"
    services().limits.set_limit("cdn_math", 30)
    with user:
        for name, args in arguments.items():
            with pytest.raises(NotAllowed):
                await getattr(viewer, name)(*args)
    assert services().limits.limits == {"cdn_math": 30}
    assert services().users.role_of("mallory") is None and services().users.role_of("watcher") == VIEWER
    assert not services().sources.running
    assert services().devices.all() == {}
    ghost = Actions(services(), hub, Identity("removed-meanwhile"))  # a page left open by a deleted user
    with user, pytest.raises(NotAllowed):
        await ghost.set_limit("cdn_math", 5)


async def test_heartbeat_route(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    await user.open("/login")
    store = services().recorder.store
    async with raw_client("192.168.1.50") as client:
        assert (
            await client.post("/api/module-heartbeat", params={"slug": "cdn_math", "user": "anna"})
        ).status_code == 204
        assert store.get("192.168.1.50", "anna") is not None
        bad = await client.post("/api/module-heartbeat", params={"slug": "cdn_math", "event": "explode"})
        assert bad.status_code == 400 and "event" in bad.json()["error"]
        assert (await client.post("/api/module-heartbeat", params={"event": "ping"})).status_code == 400
        spoofed = await client.post(
            "/api/module-heartbeat", params={"slug": "cdn_geo"}, headers={"X-Forwarded-For": "10.9.9.9"}
        )
        assert spoofed.status_code == 204
        assert store.get("10.9.9.9", "Guest") is None, "X-Forwarded-For from an untrusted peer is ignored"
        closed = await client.post(
            "/api/module-heartbeat", params={"slug": "cdn_math", "user": "anna", "event": "close"}
        )
        assert closed.status_code == 204 and store.get("192.168.1.50", "anna") is None
        preflight = await client.options("/api/module-heartbeat", headers={"Origin": "http://oc4d.cdn"})
        assert preflight.headers["access-control-allow-origin"] == "http://oc4d.cdn"
        other = await client.options("/api/module-heartbeat", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    async with raw_client("192.168.1.77") as client:
        codes = [
            (await client.post("/api/module-heartbeat", params={"slug": "cdn_math"})).status_code for _ in range(40)
        ]
        assert codes[0] == 204 and 429 in codes, "rate-limited per address"


async def test_heartbeat_trusts_a_configured_proxy(user: User) -> None:
    await user.open("/login")
    settings = services().settings
    object.__setattr__(settings, "trusted_proxies", "10.0.0.2")  # the proxy in front of us
    async with raw_client("10.0.0.2") as client:
        response = await client.post(
            "/api/module-heartbeat", params={"slug": "cdn_geo"}, headers={"X-Forwarded-For": "192.168.1.60"}
        )
    assert response.status_code == 204
    assert services().recorder.store.get("192.168.1.60", "Guest") is not None


async def test_healthz_codes(user: User) -> None:
    await user.open("/login")
    async with raw_client() as client:
        stopped = await client.get("/healthz")
        assert stopped.status_code == 503 and stopped.json()["reader"]["status"] == "stopped"
        services().recorder.reader_state.set("following")
        following = await client.get("/healthz")
        assert following.status_code == 200 and following.json()["database"]["ok"] is True
        assert set(following.json()) >= {"reader", "secondsSinceLastLine", "database", "catalog"}


async def test_healthz_reports_the_log_writers_and_never_a_password(user: User) -> None:
    await user.open("/login")
    monitor = services().recorder
    monitor.reader_state.set("following")
    async with raw_client() as client:
        healthy = await client.get("/healthz")
        assert healthy.status_code == 200
        assert healthy.json()["logs"] == {
            "sessions": {"ok": True, "error": None, "waiting": 0},
            "access": {"ok": True, "error": None, "waiting": 0},
        }
        monitor.access_log.status.ok, monitor.access_log.status.detail = False, "log directory /x is not writable"
        monitor.reader_state.set("following", "write failed: postgresql://gaze:hunter2@db/gaze (refused)")
        broken = await client.get("/healthz")
    assert broken.status_code == 503
    assert broken.json()["logs"]["access"] == {"ok": False, "error": "log directory /x is not writable", "waiting": 0}
    assert "hunter2" not in broken.text and "postgresql://gaze:***@db/gaze" in broken.json()["reader"]["detail"]


async def test_board_and_healthz_give_one_verdict_from_one_published_status(user: User) -> None:
    """The board's status and /healthz judge the recorder's latest published status with the same
    rule (gaze.status.health): stopped, following, a log writer failing, something set aside."""
    await user.open("/login")
    recorder, hub = services().recorder, app.state.hub
    with pytest.raises(dataclasses.FrozenInstanceError):
        recorder.status.write_error = "changed by a reader"  # type: ignore[misc]

    def set_aside() -> None:
        recorder.access_log.status.ok = True
        recorder.set_aside.count, recorder.set_aside.last_error = 1, "refused"
        recorder.publish()

    steps = [
        (lambda: None, 503),
        (lambda: recorder.reader_state.set("following"), 200),
        (lambda: (setattr(recorder.access_log.status, "ok", False), recorder.publish()), 503),
        (set_aside, 200),  # counted on the strip, the service still healthy
    ]
    async with raw_client() as client:
        for change, code in steps:
            change()
            hub.refresh_status()
            answer = await client.get("/healthz")
            assert answer.status_code == code and hub.status.healthy is (code == 200)
    assert hub.status.writer_problem and "1 could not be stored" in hub.status.writer


async def test_status_strip_never_shows_a_password(user: User) -> None:
    await user.open("/login")
    services().recorder.reader_state.set("restarting", "database: postgresql://gaze:hunter2@db/gaze refused", 0)
    hub = app.state.hub
    hub.refresh_status()
    assert "hunter2" not in hub.status.reader and "postgresql://gaze:***@db/gaze" in hub.status.reader
