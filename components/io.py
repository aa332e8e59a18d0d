"""Blocking work from a page or the hub, off the event loop: NiceGUI's `run.io_bound` with the
result it promises.

NiceGUI 3 answers None instead of the result when the app is shutting down (a shape its own
docs call interim: NiceGUI 4 raises CancelledError there). `io_bound` raises that now, so a
caller never mistakes a cancelled call for a result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

from nicegui import app, run

P = ParamSpec("P")
R = TypeVar("R")


async def io_bound(callback: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    result = await run.io_bound(callback, *args, **kwargs)
    if result is None and app.is_stopping:
        raise asyncio.CancelledError("the app is shutting down")
    return cast(R, result)
