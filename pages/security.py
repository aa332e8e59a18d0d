"""HTTP hardening around NiceGUI's app: who the client is, frame headers, no state for strangers.

- `request_address`: the one way a route or page learns the client's address — the TCP peer, and
  `X-Forwarded-For` only when that peer is one of `MODULEGAZE_TRUSTED_PROXIES`. (uvicorn's own
  proxy-header rewriting is switched off in `main.py`, so the peer really is the peer.)
- `SecurityHeaders`: `X-Frame-Options: DENY` and `Content-Security-Policy: frame-ancestors 'none'`
  on every response (no page of ours may be framed: clickjacking of the admin's buttons).
- `StatelessOpenRoutes`: NiceGUI gives every request without a session cookie a new browser id and
  a per-browser storage object (about 1 KB each, for every oc4d heartbeat and every health probe).
  A request without a cookie to a JSON route (`/api/…`, `/healthz`, the heartbeat) or the favicon now
  passes through without either; pages (the login page above all) keep NiceGUI's behaviour.
"""

from __future__ import annotations

from nicegui import storage
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


def request_address(request: HTTPConnection, settings: Settings) -> str | None:
    """The client's address for rate limits and heartbeats (None when the peer is not an IP)."""
    peer = request.client.host if request.client else ""
    return client_address(peer, request.headers.get("x-forwarded-for"), settings.trusted_proxy_networks)


def has_browser_session(request: HTTPConnection) -> bool:
    """Does this request belong to a browser NiceGUI already knows (its session cookie names an id)?"""
    return "id" in request.session


def is_stateless(path: str) -> bool:
    return path in STATELESS_PATHS or path.startswith(STATELESS_PREFIXES)


class StatelessOpenRoutes(storage.RequestTrackingMiddleware):
    """NiceGUI's request tracking, except that a cookieless request to a JSON route gets no browser
    id, no session cookie and no per-browser storage."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if not has_browser_session(request) and is_stateless(request.url.path):
            return await call_next(request)
        return await super().dispatch(request, call_next)


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
