"""The bodies of the operators' JSON routes that need more than one line (DESIGN §6).

- `live_sessions`: GET /api/live-sessions — the open sessions as the board shows them;
- `modules_payload`: GET /api/modules — the catalog, with the sources' error details only for a
  signed-in user (an exception text can name the database host).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gaze.board import CatalogLike, row_view
from gaze.catalog import Catalog
from gaze.limits import Limits
from gaze.sessions import OpenSession

HIDDEN = "details for signed-in users"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def live_sessions(
    sessions: list[OpenSession],
    catalog: CatalogLike,
    limits: Limits,
    labels: Callable[[str], str | None],
    now_ms: int,
) -> list[dict[str, Any]]:
    """Longest on module first. Upstream's keys (ip, username, displayName, module, startTime,
    lastActivity, duration) and the board's (moduleName, device, seconds, idle, limit, over-limit)."""
    out = []
    for session in sorted(sessions, key=lambda s: (s.start_ms, s.ip, s.user)):
        view = row_view(session, catalog, labels)
        limit = limits.limit_for(session.module)
        seconds = max(0, (now_ms - session.start_ms) // 1000)
        out.append(
            {
                "ip": session.ip,
                "username": session.user,
                "displayName": view.name,
                "device": labels(session.ip),
                "module": session.module,
                "moduleName": view.module_name,
                "startTime": _iso(session.start_ms),
                "lastActivity": _iso(session.last_ms),
                "duration": seconds,
                "seconds": seconds,
                "idleSeconds": max(0, (now_ms - session.last_ms) // 1000),
                "limitMinutes": limit,
                "overLimit": limits.over_limit(session, now_ms),
            }
        )
    return out


def modules_payload(catalog: Catalog, *, details: bool) -> dict[str, Any]:
    """GET /api/modules: the full payload for a signed-in user; for anyone else the same with the
    sources' error texts, searched folders and warnings replaced by a note."""
    body = catalog.api_payload()
    if details:
        return body
    for source in body["sources"].values():
        if source.get("error"):
            source["error"] = HIDDEN
        if "rootsTried" in source:
            source["rootsTried"] = []
            source["root"] = None
    if body["warnings"]:
        body["warnings"] = [f"{len(body['warnings'])} warnings: {HIDDEN}"]
    return body
