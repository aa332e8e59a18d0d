"""Parts of a page built only when first needed (issue 21: the board's first HTML holds only what is
seen). A part hidden at first — a warning, a chip, a banner, a button — costs the server and the
browser an element each before the first row; here it is built when its state first asks for it,
in the place it would have had, and shown or hidden by a binding from then on (no polling).

    with ui.row():
        ui.label("always")
        shown_when(status, "writer_problem", lambda: ui.icon("error"))  # built the first time it is true
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from nicegui import binding, ui

E = TypeVar("E", bound=ui.element)
_ids = itertools.count()


class Deferred(Generic[E]):
    """A place in the current container kept for an element `build` makes on the first `get()`: it
    goes after what was in the container (or deferred into it) before, whatever was built meanwhile."""

    def __init__(self, build: Callable[[], E]) -> None:
        self._build = build
        self.parent = ui.context.slot.parent
        self._before = set(self.parent.default_slot.children)  # compared by identity: elements
        self._deferred_before: list[Deferred[Any]] = list(getattr(self.parent, "_deferred", []))
        self.parent._deferred = [*self._deferred_before, self]  # type: ignore[attr-defined]
        self.made: E | None = None
        self.building = False  # `build` binds to the state that asked for it: NiceGUI asks again

    def get(self) -> E:
        if self.made is None:
            earlier = self._before | {d.made for d in self._deferred_before if d.made is not None}
            index = sum(1 for child in self.parent.default_slot.children if child in earlier)
            self.building = True
            try:
                with self.parent:
                    made = self._build()
            finally:
                self.building = False
            if index != len(self.parent.default_slot.children) - 1:
                made.move(self.parent, target_index=index)
            self.made = made
        return self.made


def shown_when(source: Any, name: str, build: Callable[[], E], when: Callable[[Any], bool] = bool) -> Deferred[E]:
    """`build`'s element, built the first time `when(source.name)` holds, visible while it holds.
    The binding belongs to the container (removed with it), not to an element that may never be."""
    place = Deferred(build)

    def apply(value: Any) -> Any:
        on = when(value)
        if place.building:
            return value
        if on:
            place.get().set_visibility(True)
        elif place.made is not None:
            place.made.set_visibility(False)
        return value

    attribute = f"_shown_when_{next(_ids)}"
    setattr(place.parent, attribute, None)
    binding.bind_from(place.parent, attribute, source, name, backward=apply)
    return place
