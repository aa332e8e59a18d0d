"""HTTP hardening around NiceGUI's app: who the client is, frame headers, no state for strangers.

- `request_address`: the one way a route or page learns the client's address — the TCP peer, and
  `X-Forwarded-For` only when that peer is one of `MODULEGAZE_TRUSTED_PROXIES`. (uvicorn's own
  proxy-header rewriting is switched off in `main.py`, so the peer really is the peer.)
- `SecurityHeaders`: `X-Frame-Options: DENY` and `Content-Security-Policy: frame-ancestors 'none'`
  on every response (no page of ours may be framed: clickjacking of the admin's buttons).
- `StatelessOpenRoutes`: NiceGUI gives every request without a session cookie a new browser id and
  a per-browser storage object (about 1 KB each, for every oc4d heartbeat and every health probe).
  A request without a cookie to a JSON route (`/api/…`, `/healthz`, the heartbeat) or the favicon now
  passes through without either. Any other request of a browser that has no storage (the login page
  above all, open to every phone on the Wi-Fi, and what that page loads with the cookie it was given)
  gets an id and its cookie but no storage: `keep_browser()` makes it when that browser signs in
  (issue 18: 3,000 anonymous page loads held about 1,500 storages). A browser has storage once it
  signed in, in memory or, after NiceGUI freed it or the app restarted, in its file.
"""

from __future__ import annotations

import uuid

from nicegui import app, storage
from starlette.datastructures import MutableHeaders
from starlette.middleware.base import RequestResponseEndpoint
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gaze.config import Settings
from gaze.heartbeat import client_address

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
STATELESS_PATHS = frozenset({"/healthz", "/api/module-heartbeat", "/favicon.ico"})
STATELESS_PREFIXES = ("/api/",)
NEW_BROWSER = "modulegaze.new_browser"  # request scope key: this browser has no per-browser storage


def request_address(request: HTTPConnection, settings: Settings) -> str | None:
    """The client's address for rate limits and heartbeats (None when the peer is not an IP)."""
    peer = request.client.host if request.client else ""
    return client_address(peer, request.headers.get("x-forwarded-for"), settings.trusted_proxy_networks)


def has_browser_session(request: HTTPConnection) -> bool:
    """Does this request belong to a browser NiceGUI knows (its cookie names an id with storage)?"""
    return "id" in request.session and not request.scope.get(NEW_BROWSER, False)


def has_storage(session_id: str) -> bool:
    """Has NiceGUI per-browser storage for this id, in memory or in its file (NiceGUI's naming)?"""
    if session_id in app.storage._users or storage.Storage.redis_url:
        return True  # with Redis (not used here) NiceGUI's own tracking decides
    return (storage.Storage.path / f"storage-{storage.USER_PREFIX}{session_id}.json").exists()


async def keep_browser(request: HTTPConnection) -> None:
    """The per-browser storage (`app.storage.user`) of a browser that had none, made when it is
    first needed: when that browser signs in. (NiceGUI makes it in its request tracking, which
    `StatelessOpenRoutes` skips for such browsers; the two calls are NiceGUI's own.)"""
    session_id = request.session["id"]
    if session_id not in app.storage._users:
        await app.storage._create_user_storage(session_id)


def is_stateless(path: str) -> bool:
    return path in STATELESS_PATHS or path.startswith(STATELESS_PREFIXES)


class StatelessOpenRoutes(storage.RequestTrackingMiddleware):
    """NiceGUI's request tracking for a browser with storage. A request without a session cookie to
    a JSON route gets no browser id, no session cookie and no storage; any other request of a browser
    without storage gets an id (a new one, or its cookie's) but no storage."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        cookie = "id" in request.session
        if cookie and has_storage(request.session["id"]):
            return await super().dispatch(request, call_next)
        if not cookie and is_stateless(request.url.path):
            return await call_next(request)
        if not cookie:
            request.session["id"] = str(uuid.uuid4())
        request.scope[NEW_BROWSER] = True
        storage.request_contextvar.set(request)  # as NiceGUI's tracking does, less the storage
        request.state.responded = False
        response = await call_next(request)
        request.state.responded = True
        return response


class SecurityHeaders:
    """Pure ASGI middleware adding `SECURITY_HEADERS` to every HTTP response (kept if already set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install() -> None:
    """Before `ui.run`: our request tracking in place of NiceGUI's (it is added when the server
    starts, by name from `nicegui.storage`), and the header middleware."""
    from nicegui import app

    storage.RequestTrackingMiddleware = StatelessOpenRoutes  # type: ignore[misc]
    app.add_middleware(SecurityHeaders)
