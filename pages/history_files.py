"""/history's downloads: the CSV of a range (DESIGN §4 rows, in the page's filters and sort) and the
daily `.zip` archives.

Plain routes behind the login wall (pages/access.py), so a link or `curl` with the cookie works.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import HTTPException
from fastapi.responses import FileResponse, StreamingResponse
from nicegui import app

from gaze.board import Names
from gaze.catalog import Catalog
from gaze.export import csv_rows
from gaze.history_filters import typed_filters
from gaze.history_url import HistoryQuery, order_by, resolve_range
from gaze.logs import ARCHIVE_NAME as ARCHIVE
from gaze.services import Services


def register(services: Services, names: Names) -> None:
    @app.get("/history/export.csv")
    def export_csv(
        range: str = "today",
        date_from: str | None = None,
        date_to: str | None = None,
        module: str | None = None,
        ip: str | None = None,
        device: str | None = None,
        user: str | None = None,
        sort: str = "",
    ) -> StreamingResponse:
        try:
            rng = resolve_range(range, date_from, date_to)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        filters, _ = typed_filters(module or "", device or ip or "", user or "", services.devices.all())
        labels = services.devices.all()
        q, _ = HistoryQuery.parse({"sort": sort})  # the table's sort; a bad one: its default
        order = session_order(services.catalog, labels, q.sort, q.descending)
        rows = csv_rows(services.engine, rng, filters, labels, names.module, order)
        filename = "modulegaze-sessions-" + re.sub(r"[^A-Za-z0-9-]+", "-", rng.label).strip("-").lower() + ".csv"
        return StreamingResponse(
            rows,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @app.get("/history/archives/{name}")
    def archive(name: str) -> FileResponse:
        path = services.settings.log_dir / name
        if not ARCHIVE.match(name) or not path.is_file():
            raise HTTPException(status_code=404, detail="no such archive")
        return FileResponse(path, media_type="application/zip", filename=name)


def session_order(catalog: Catalog, labels: dict[str, str], sort: str, descending: bool) -> tuple[Any, ...]:
    """The session table's ORDER BY, which the CSV download follows too: names sort as shown."""
    return order_by(sort, descending, labels, {m.slug: m.name for m in catalog.modules})
