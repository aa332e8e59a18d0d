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
from gaze.status import Status, health
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
        return heartbeat(services, request, slug, user, event)

    @app.get("/api/modules")
    def api_modules(request: Request) -> JSONResponse:  # open (the login wall lets it through); details signed in
        details = request_identity(request, services.users) is not None
        return JSONResponse(modules_payload(services.catalog, details=details))

    @app.get("/api/live-sessions")
    def api_live_sessions() -> JSONResponse:  # signed in, or the read token (checked by the login wall)
        now_ms = time.time_ns() // 1_000_000
        rows = live_sessions(
            services.recorder.sessions(), services.catalog, services.limits, services.devices.label, now_ms
        )
        return JSONResponse({"enabled": services.recorder.status.running, "demo": services.demo, "sessions": rows})

    @app.get("/healthz")
    async def healthz() -> Response:  # on the event loop: in-memory figures only, no wait for a worker thread
        status = services.recorder.status
        healthy = health(status, services.db_ok).healthy
        # Details quote exception texts: never a password from a database URL (gaze/hardening.py).
        body = redact(json.dumps(health_body(services, status)))
        return Response(body, status_code=200 if healthy else 503, media_type="application/json")


def heartbeat(services: Services, request: Request, slug: str | None, user: str | None, event: str | None) -> Response:
    """A module page's ping or close (gaze.heartbeat), from oc4d's pages in the learners' browsers."""
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
        services.recorder.heartbeat(address, beat.user, beat.slug, beat.event, time.time_ns() // 1_000_000)
    return Response(status_code=204, headers=headers)


def health_body(services: Services, status: Status) -> dict[str, object]:
    """/healthz's body: the recorder's published status, our database, the catalog and the uplink."""
    reader = status.reader
    age = None if reader.last_line_at is None else round(time.time() - reader.last_line_at, 1)
    logs = {
        name: {"ok": writer.ok, "error": writer.detail or None, "waiting": writer.waiting}
        for name, writer in status.writers
    }
    return {
        "reader": {
            "status": reader.status,
            "detail": reader.detail,
            "lines": reader.lines,
            "errors": reader.errors,
            "restarts": reader.restarts,
            "cursorGone": reader.cursor_gone,
        },
        "sessions": {
            "open": status.open_sessions,
            "droppedAtCapacity": status.dropped_at_capacity,
            **(status.counters or {}),
        },
        "secondsSinceLastLine": age,
        "database": {"ok": services.db_ok, "error": services.db_error},
        "saving": {"ok": status.write_error is None, "error": status.write_error},
        "setAside": {
            "count": status.set_aside.count,
            "lastError": status.set_aside.last_error or None,
            "dropped": status.set_aside.dropped,  # oldest items deleted to keep the table bounded
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


def _uplink(uplink: Uplink) -> dict[str, object]:
    """Last successful upload, queue, last error in words; fresh from the database (no secrets)."""
    uplink.refresh()
    return uplink.status.as_dict()
