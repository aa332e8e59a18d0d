"""NiceGUI asks `inspect.signature` whether a change handler takes an argument each time it makes
an observable — three (classes, style, props) for every element it creates — and again for many
events. The answer for a bound method depends only on its function, so it is kept per function:
the board's first page build spent about a third of its CPU in `inspect.signature` (issue 21,
cProfile of `GET /`).

`cache_handler_signatures()` (main.serve, before any element is made) wraps NiceGUI's own
`helpers.expects_arguments`; anything that is not a bound method (a lambda, a partial, a plain
function whose defaults may differ per closure) is asked as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_CACHE: dict[Callable[..., Any], bool] = {}


def cache_handler_signatures() -> bool:
    """Wrap NiceGUI's `helpers.expects_arguments` once; False when NiceGUI has no such helper."""
    from nicegui import helpers

    original = getattr(helpers, "expects_arguments", None)
    if original is None or getattr(original, "_modulegaze_cached", False):
        return original is not None

    def expects_arguments(func: Callable[..., Any]) -> bool:
        function = getattr(func, "__func__", None)  # a bound method: its function and `self` bound
        if function is None or getattr(func, "__self__", None) is None:
            return bool(original(func))
        try:
            return _CACHE[function]
        except KeyError:
            _CACHE[function] = answer = bool(original(func))
            return answer

    expects_arguments._modulegaze_cached = True  # type: ignore[attr-defined]
    helpers.expects_arguments = expects_arguments
    return True
