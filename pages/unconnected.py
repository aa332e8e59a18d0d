"""Pages whose browser never connects: a few per address, freed within seconds (issue 18 item 2).

NiceGUI keeps every page it serves (a `Client`: its elements, the request, an outbox task) until the
browser's websocket connects, and one that never connects for 60 s (`Client.prune_instances`, every
10 s). Anyone who can reach `/login` could so make the app hold about 100 KB a request: 4,500 plain
`GET /login` grew RSS by 220 MB, still held after NiceGUI had freed them (bench/cookieless.py).

- A page whose browser has not connected `UNCONNECTED_SECONDS` after it was served is deleted.
- At most `UNCONNECTED_PER_ADDRESS` unconnected pages per client address (`request_address`, the
  login limiter's) and `UNCONNECTED_TOTAL` in all: serving one more deletes the oldest (of that
  address first).

A browser that connects after its page was deleted reloads it (NiceGUI's answer to a failed
handshake), so a slow phone sees its page a second time rather than a dead one.
"""

from __future__ import annotations

import time
from collections import Counter

from nicegui import Client, app
from starlette.types import ASGIApp, Receive, Scope, Send

from gaze.config import Settings
from gaze.runtime import Runtime
from pages.security import request_address

UNCONNECTED_SECONDS = 10.0
UNCONNECTED_PER_ADDRESS = 8
UNCONNECTED_TOTAL = 64
SWEEP_S = 1.0
PAGE_SCOPE_KEY = "nicegui_page_path"  # NiceGUI marks the request of every page it builds (client.py)


class UnconnectedPages:
    """Which pages' browsers have connected (NiceGUI's connect and delete hooks), and the two rules."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._connected: set[str] = set()
        self.deleted = 0  # pages deleted here (for tests and operators' tooling)

    def on_connect(self, client: Client) -> None:
        self._connected.add(client.id)

    def on_delete(self, client: Client) -> None:
        self._connected.discard(client.id)

    def waiting(self) -> list[Client]:
        """The pages served whose browser never connected, oldest first (one whose socket is in its
        handshake is connected: NiceGUI calls the connect hooks at the end of it)."""
        return [
            c
            for c in list(Client.instances.values())
            if c.id not in self._connected and not c.has_socket_connection and not c.is_deleted
        ]

    def address(self, client: Client) -> str:
        try:
            request = client.request
        except RuntimeError:  # a client NiceGUI made without a request
            return ""
        return request_address(request, self.settings) or ""

    def limit(self) -> None:
        """After a page was served: delete the oldest unconnected pages beyond the two caps."""
        waiting = self.waiting()
        if len(waiting) <= min(UNCONNECTED_PER_ADDRESS, UNCONNECTED_TOTAL):
            return
        per_address = Counter(self.address(c) for c in waiting)
        kept = []
        for client in waiting:
            address = self.address(client)
            if per_address[address] > UNCONNECTED_PER_ADDRESS:
                per_address[address] -= 1
                self._delete(client)
            else:
                kept.append(client)
        for client in kept[: max(0, len(kept) - UNCONNECTED_TOTAL)]:
            self._delete(client)

    def expire(self) -> None:
        """Delete the pages whose browser has not connected within `UNCONNECTED_SECONDS`."""
        oldest = time.time() - UNCONNECTED_SECONDS
        for client in self.waiting():
            if client.created <= oldest:
                self._delete(client)

    def _delete(self, client: Client) -> None:
        if not client.is_deleted:
            client.delete()
            self.deleted += 1


class LimitUnconnected:
    """Pure ASGI middleware: after a response that built a page, `UnconnectedPages.limit()`."""

    def __init__(self, app: ASGIApp, pages: UnconnectedPages) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and PAGE_SCOPE_KEY in scope:
                self.pages.limit()


def install(settings: Settings, runtime: Runtime) -> UnconnectedPages:
    """Before `ui.run`: the hooks, the middleware and the sweep on the runtime's clock."""
    pages = UnconnectedPages(settings)
    app.on_connect(pages.on_connect)
    app.on_delete(pages.on_delete)
    app.add_middleware(LimitUnconnected, pages=pages)
    runtime.every(SWEEP_S, pages.expire, "unconnected-pages")
    return pages
