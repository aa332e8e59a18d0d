"""Loads the vendored conformance cases (copied verbatim from shared/conformance)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "conformance"


def load(name: str) -> list[dict[str, Any]]:
    with (HERE / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def case_id(case: dict[str, Any]) -> str:
    return str(case.get("case") or case.get("path"))
