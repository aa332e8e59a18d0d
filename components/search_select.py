"""A select's search, by what a person types (gaze.module_search: words in any order, prefixes, case
and accents, small typos), and Enter picks the one option that matches: the keyboard alone chooses
a module, in the limits form and on /history."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui
from nicegui.events import GenericEventArguments, ValueChangeEventArguments

from gaze.module_search import search


def _labels(select: ui.select) -> dict[str, str]:
    """The select's options as (key -> searchable text); a list's options are their own keys."""
    options = select.options
    return (
        {str(k): str(v) for k, v in options.items()} if isinstance(options, dict) else {str(o): str(o) for o in options}
    )


def _value(select: ui.select, key: str) -> object:
    return next(option for option in select.options if str(option) == key)


def enter_picks_single(select: ui.select, then: Callable[[], object] | None = None) -> None:
    """On Enter, when exactly one option matches what was typed, choose it, then call ``then``
    (e.g. focus the next field)."""
    typed = {"text": ""}

    def searched(event: GenericEventArguments) -> None:
        typed["text"] = event.args if isinstance(event.args, str) else ""

    def pick() -> None:
        if not typed["text"].strip():
            return
        found = search(typed["text"], _labels(select))
        if len(found) == 1:
            select.set_value(_value(select, found[0]))
            select.run_method("blur")
            if then is not None:
                then()

    select.on("input-value", searched)
    select.on("keydown.enter", pick)


class SearchSelect:
    """A select (with `use-input`) whose options are searched on the server as the admin types:
    the menu shows the matching options, best first ("maths" shows "Mathematics (CDN)"). The page
    gives it the whole list (`set_options`); Enter picks the one match."""

    def __init__(self, select: ui.select, then: Callable[[], object] | None = None) -> None:
        self.select = select
        self.all: dict[str, str] = _labels(select)
        self.typed = ""
        select.on("input-value", self._typed)
        select.on("popup-hide", lambda: self._typed(None))
        select.on_value_change(self._chosen)
        enter_picks_single(select, then)  # among the shown options: exactly the matches

    def set_options(self, options: dict[str, str]) -> None:
        """The whole list changed (a limit set, a module seen): show it, still searched; the chosen
        option stays chosen while it is in the list."""
        self.all = dict(options)
        self._show(keep=True)

    def _typed(self, event: GenericEventArguments | None) -> None:
        text = event.args if event is not None and isinstance(event.args, str) else ""
        if text != self.typed:
            self.typed = text
            self._show(keep=not text)

    def _chosen(self, event: ValueChangeEventArguments[object]) -> None:
        """An option was chosen: the next search starts from the whole list."""
        if event.value is not None and self.typed:
            self.typed = ""
            self._show(keep=True)

    def _show(self, *, keep: bool) -> None:
        value = self.select.value
        shown = {key: self.all[key] for key in search(self.typed, self.all)}
        if keep and value in self.all:
            shown.setdefault(value, self.all[value])
        # Typing a search that leaves the chosen option out is choosing anew.
        self.select.set_options(shown, value=value if value in shown else None)
