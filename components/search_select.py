"""Enter in a select's search box picks the one option that matches what was typed: the keyboard
alone chooses a module, in the limits form and on /history."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui
from nicegui.events import GenericEventArguments


def enter_picks_single(select: ui.select, then: Callable[[], object] | None = None) -> None:
    """On Enter, when exactly one option's label contains the typed text (any case), choose it,
    then call ``then`` (e.g. focus the next field)."""
    typed = {"text": ""}

    def searched(event: GenericEventArguments) -> None:
        typed["text"] = event.args if isinstance(event.args, str) else ""

    def pick() -> None:
        needle = typed["text"].strip().casefold()
        if not needle:
            return
        options = select.options
        pairs = options.items() if isinstance(options, dict) else ((option, option) for option in options)
        matches = [value for value, label in pairs if needle in str(label).casefold()]
        if len(matches) == 1:
            select.set_value(matches[0])
            select.run_method("blur")
            if then is not None:
                then()

    select.on("input-value", searched)
    select.on("keydown.enter", pick)
