"""Classes that follow a bindable value: changed on the page only when the condition flips."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import binding, ui


def bind_classes(element: ui.element, source: Any, name: str, classes: str, when: Callable[[Any], bool] = bool) -> None:
    """`classes` on `element` while `when(source.name)` holds (NiceGUI's one-way binding, no polling)."""
    state = {"on": False}

    def apply(value: Any) -> Any:
        on = when(value)
        if on != state["on"]:
            state["on"] = on
            element.classes(add=classes) if on else element.classes(remove=classes)
        return value

    attribute = f"_bound_{name}"
    setattr(element, attribute, None)
    binding.bind_from(element, attribute, source, name, backward=apply)
