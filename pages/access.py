"""Who may see what: the login wall in front of every page and API route.

Open without a session: the login page, NiceGUI's own assets, `/healthz`, the oc4d heartbeat and
the module catalog `/api/modules` (upload scripts read names there without credentials; error
details of its sources only for a signed-in user). `/api/live-sessions` also admits a script that
sends `Authorization: Bearer <MODULEGAZE_READ_TOKEN>`. Pages redirect to `/login?redirect_to=…`;
`/api/*` answers 401 (never a redirect).
"""

from __future__ import annotations

import hmac
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from nicegui import app
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from components.actions import Actions, Identity
from components.hub import Hub
from gaze.auth import Users
from gaze.services import Services
from pages.security import has_browser_session

OPEN_PATHS = frozenset({"/login", "/healthz", "/api/module-heartbeat", "/api/modules", "/favicon.ico"})
TOKEN_PATHS = frozenset({"/api/live-sessions"})  # also for a script holding the read token
OPEN_PREFIXES = ("/_nicegui/", "/assets/")  # NiceGUI's scripts, our stylesheet (components/stylesheet.py)


def signed_in(users: Users) -> Identity | None:
    """The identity of this request's session, if it names a user that still exists."""
    username = app.storage.user.get("username")
    if not isinstance(username, str) or users.role_of(username) is None:
        return None
    return Identity(username)


def request_identity(request: Request, users: Users) -> Identity | None:
    """`signed_in` for a route that also answers cookieless clients (they have no browser storage)."""
    return signed_in(users) if has_browser_session(request) else None


def read_token_ok(request: Request, token: str | None) -> bool:
    """Whether the request carries `Authorization: Bearer <token>` (constant-time compare)."""
    if not token:
        return False
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())


def page_actions(services: Services, hub: Hub) -> Actions | None:
    """What the signed-in user may do on a page; None sends the page to `to_login()` (the login wall
    already stops strangers — this catches a user removed between the wall and the page)."""
    identity = signed_in(services.users)
    return None if identity is None else Actions(services, hub, identity, app.storage.user)


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def install(services: Services) -> None:
    class LoginWall(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            path = request.url.path
            if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
                return await call_next(request)
            # A cookieless request to a JSON route has no browser storage (pages/security.py).
            if request_identity(request, services.users) is not None:
                return await call_next(request)
            if path in TOKEN_PATHS and read_token_ok(request, services.settings.read_token):
                return await call_next(request)
            if path.startswith("/api/"):
                return JSONResponse({"error": "login required"}, status_code=401)
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?redirect_to={quote(target, safe='')}", status_code=303)

    app.add_middleware(LoginWall)
