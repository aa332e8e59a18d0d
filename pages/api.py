"""Small JSON routes for operators (DESIGN §6): the catalog check, the live sessions and the health probe."""

from __future__ import annotations

import ipaddress
import json
import time

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from nicegui import app

from gaze.hardening import redact
from gaze.heartbeat import HeartbeatError, RateLimiter, parse_heartbeat
from gaze.liveapi import live_sessions, modules_payload
from gaze.services import Services
from gaze.uplink import Uplink
from pages.access import request_identity
from pages.security import request_address

HEARTBEAT_RATE = RateLimiter(rate=2.0, burst=30)  # per client address


def _cors(request: Request, oc4d_origin: str) -> dict[str, str]:
    """CORS headers for oc4d's pages (they send the heartbeat from the browser), none for others."""
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") == oc4d_origin:
        return {
            "Access-Control-Allow-Origin": oc4d_origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        }
    return {"Vary": "Origin"}


def register(services: Services) -> None:
    @app.options("/api/module-heartbeat")
    def heartbeat_preflight(request: Request) -> Response:
        return Response(status_code=204, headers=_cors(request, services.settings.oc4d_origin))

    @app.post("/api/module-heartbeat")
    def module_heartbeat(
        request: Request, slug: str | None = None, user: str | None = None, event: str | None = None
    ) -> Response:
        headers = _cors(request, services.settings.oc4d_origin)
        settings = services.settings
        address = request_address(request, settings)
        if address is None:
            return JSONResponse({"error": "unknown client address"}, status_code=400, headers=headers)
        if not HEARTBEAT_RATE.allow(address):
            return JSONResponse({"error": "too many requests"}, status_code=429, headers=headers)
        try:
            beat = parse_heartbeat(slug, user, event)
        except HeartbeatError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400, headers=headers)
        if settings.include_loopback or not ipaddress.ip_address(address).is_loopback:
            services.monitor.heartbeat(address, beat.user, beat.slug, beat.event, time.time_ns() // 1_000_000)
        return Response(status_code=204, headers=headers)

    @app.get("/api/modules")
    def api_modules(request: Request) -> JSONResponse:  # open (the login wall lets it through); details signed in
        details = request_identity(request, services.users) is not None
        return JSONResponse(modules_payload(services.catalog, details=details))

    @app.get("/api/live-sessions")
    def api_live_sessions() -> JSONResponse:  # signed in, or the read token (checked by the login wall)
        monitor = services.monitor
        now_ms = time.time_ns() // 1_000_000
        rows = live_sessions(
            monitor.store.sessions(), services.catalog, services.limits, services.devices.label, now_ms
        )
        return JSONResponse({"enabled": monitor.running, "demo": services.demo, "sessions": rows})

    @app.get("/healthz")
    def healthz() -> Response:
        monitor = services.monitor
        state = monitor.reader_state
        age = None if state.last_line_at is None else round(time.time() - state.last_line_at, 1)
        following = state.status == "following"
        writers = (("sessions", monitor.sessions_log), ("access", monitor.access_log))
        logs = {
            name: {"ok": writer.status.ok, "error": writer.status.detail or None, "waiting": writer.status.waiting}
            for name, writer in writers
        }
        body = {
            "reader": {
                "status": state.status,
                "detail": state.detail,
                "lines": state.lines,
                "errors": state.errors,
                "restarts": state.restarts,
                "cursorGone": state.cursor_gone,
            },
            "sessions": {
                "open": len(services.monitor.store),
                "droppedAtCapacity": services.monitor.store.dropped,
                **services.monitor.ingestor.counters.as_dict(),
            },
            "secondsSinceLastLine": age,
            "database": {"ok": services.db_ok, "error": services.db_error},
            "saving": {"ok": monitor.write_error is None, "error": monitor.write_error},
            "setAside": {
                "count": monitor.set_aside.count,
                "lastError": monitor.set_aside.last_error or None,
                "dropped": monitor.set_aside.dropped,  # oldest items deleted to keep the table bounded
            },
            "catalog": {
                "database": {"ok": services.catalog.db_status.ok, "error": services.catalog.db_status.error},
                "scan": {"ok": services.catalog.scan_status.ok, "error": services.catalog.scan_status.error},
                "modules": len(services.catalog.modules),
            },
            "logs": logs,
            "demo": services.demo,
            "uplink": None if services.uplink is None else _uplink(services.uplink),
        }
        healthy = (
            following
            and services.db_ok
            and monitor.write_error is None
            and all(writer.status.ok for _, writer in writers)
        )
        # Details quote exception texts: never a password from a database URL (gaze/hardening.py).
        return Response(redact(json.dumps(body)), status_code=200 if healthy else 503, media_type="application/json")


def _uplink(uplink: Uplink) -> dict[str, object]:
    """Last successful upload, queue, last error in words; fresh from the database (no secrets)."""
    uplink.refresh()
    return uplink.status.as_dict()
