"""Malformed socket.io messages from a page's script: refused quietly (issue 18 item 3).

Every visitor of the login page holds a socket to NiceGUI, and NiceGUI's handlers for what a page's
script sends (`handshake`, `event`, `javascript_response`, `ack`, `log`, and the connection's own
query) take its shape on trust: a message they could not read raised, and its traceback (about 13
lines) went to the journal — 300 `socket.emit('event', …)` with bad arguments wrote 4,000 lines.

`install()` wraps each of those handlers (python-socketio's `sio.on`, nothing else of NiceGUI is
changed): a message that is not one mapping naming a client is refused before NiceGUI sees it, one
that NiceGUI's handler cannot read is refused where it fails (NiceGUI reads a message before acting
on it; our own event handlers' errors never get here, NiceGUI logs those itself). A frame that is no
socket.io packet at all fails inside engineio, which logs a "handler error" traceback:
`EngineioErrors` counts those instead. Refusals are counted and logged as one warning, with the
count, at most `REFUSAL_LINES_PER_MINUTE` a minute (`PerMinute`, the browser log channel's limit).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import socketio  # type: ignore[import-untyped]  # no type information (NiceGUI depends on it)
from nicegui import core

from gaze.hardening import PerMinute
from gaze.runtime import Runtime

log = logging.getLogger(__name__)

BROWSER_EVENTS = ("handshake", "event", "javascript_response", "ack", "log")  # each: (sid, {client_id, …})
CONNECT = "connect"  # (sid, environ, auth): the implicit handshake reads the socket's query
REFUSAL_LINES_PER_MINUTE = 1
REPORT_S = 15.0  # refusals not yet reported are logged from the runtime's clock (still one line a minute)
ENGINEIO_LOGGER = "engineio.server"


class SocketGuard:
    """Counts refused messages and reports them: one warning a minute at most."""

    def __init__(self, per_minute: int = REFUSAL_LINES_PER_MINUTE) -> None:
        self._lines = PerMinute(per_minute)
        self.refused = 0  # since start (for tests and operators' tooling)
        self._unreported = 0
        self._last = ""

    def refuse(self, what: str) -> None:
        self.refused += 1
        self._unreported += 1
        self._last = what
        self.report()

    def report(self) -> None:
        if self._unreported and self._lines.allow():
            log.warning(
                "refused %d malformed websocket message(s) from browsers (the last: %s); "
                "counted here, one line a minute at most",
                self._unreported,
                self._last,
            )
            self._unreported = 0

    def guard(self, event: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """`handler` for socket.io `event`, refusing what it cannot read instead of raising."""

        def refused(sid: str, reason: str) -> Any:
            self.refuse(f"{event!r} from {peer(sid)}: {reason}")
            if event == CONNECT:
                raise socketio.exceptions.ConnectionRefusedError("Implicit handshake failed")
            return False if event == "handshake" else None

        if inspect.iscoroutinefunction(handler):

            async def guarded_async(sid: str, *args: Any) -> Any:
                if not well_formed(event, args):
                    return refused(sid, "not a client's message")
                try:
                    return await handler(sid, *args)
                except socketio.exceptions.ConnectionRefusedError:
                    raise  # NiceGUI's own refusal of a connection
                except Exception as exc:
                    return refused(sid, type(exc).__name__)

            return guarded_async

        def guarded(sid: str, *args: Any) -> Any:
            if not well_formed(event, args):
                return refused(sid, "not a client's message")
            try:
                return handler(sid, *args)
            except Exception as exc:
                return refused(sid, type(exc).__name__)

        return guarded


def well_formed(event: str, args: tuple[Any, ...]) -> bool:
    """A page's script sends one mapping naming its client (NiceGUI's `client_id`)."""
    if event == CONNECT:
        return True  # built by the server from the socket's request
    return len(args) == 1 and isinstance(args[0], dict) and isinstance(args[0].get("client_id"), str)


def peer(sid: str) -> str:
    """The socket's TCP peer, for the log (never text the browser chose)."""
    try:
        environ = core.sio.get_environ(sid) or {}
    except Exception:
        return "?"
    client = environ.get("asgi.scope", {}).get("client")
    return str(client[0]) if client else "?"


class EngineioErrors(logging.Filter):
    """On engineio's logger: a handler's traceback (a frame that is no socket.io packet) is counted
    as a refusal instead of written. engineio's other messages pass."""

    def __init__(self, guard: SocketGuard) -> None:
        super().__init__()
        self.guard = guard

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).endswith("handler error"):
            exc = record.exc_info[1]
            self.guard.refuse(f"a frame that is no socket.io message: {type(exc).__name__}")
            return False
        return True


def install(runtime: Runtime) -> SocketGuard:
    """Wrap NiceGUI's socket.io handlers (registered when nicegui was imported) and filter engineio's log."""
    guard = SocketGuard()
    handlers = core.sio.handlers.get("/", {})
    for event in (CONNECT, *BROWSER_EVENTS):
        handler = handlers.get(event)
        if handler is not None:
            core.sio.on(event, guard.guard(event, handler))
    logging.getLogger(ENGINEIO_LOGGER).addFilter(EngineioErrors(guard))
    runtime.every(REPORT_S, guard.report, "socket-refusals")
    return guard
