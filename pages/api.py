"""Small JSON routes for operators (DESIGN §6): the catalog check and the health probe."""

from __future__ import annotations

import time

from fastapi.responses import JSONResponse
from nicegui import app

from gaze.services import Services


def register(services: Services) -> None:
    @app.get("/api/modules")
    def api_modules() -> JSONResponse:
        return JSONResponse(services.catalog.api_payload())

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        state = services.monitor.reader_state
        age = None if state.last_line_at is None else round(time.time() - state.last_line_at, 1)
        following = state.status == "following"
        body = {
            "reader": {"status": state.status, "detail": state.detail, "lines": state.lines, "errors": state.errors},
            "secondsSinceLastLine": age,
            "database": {"ok": services.db_ok, "error": services.db_error},
            "catalog": {
                "database": {"ok": services.catalog.db_status.ok, "error": services.catalog.db_status.error},
                "scan": {"ok": services.catalog.scan_status.ok, "error": services.catalog.scan_status.error},
                "modules": len(services.catalog.modules),
            },
            "demo": services.demo,
        }
        return JSONResponse(body, status_code=200 if following and services.db_ok else 503)
