"""The one way a page tells its user what an action did: a notification at the bottom of the
screen, one at a time. The newest replaces the one before (Quasar's Notify `group`: same place, no
pile, no overlap), green when done, red when refused or for an alert, grey for a plain note. An
alert has a slot of its own in the same place, so an action's message never hides it.

    tell(f"User {name} added")
    tell("A password needs at least 8 characters.", "refused")
"""

from __future__ import annotations

from typing import Final, Literal

from nicegui import ui

Kind = Literal["done", "refused", "alert", "note"]

PLACE: Final = "bottom"  # every message of every page stands here: one place, seen on a phone and a desk
GROUP = "module-gaze"  # one group: a new message takes the place of the one showing
# An over-limit alert is not what an action did: it keeps its own slot in the same place, above the
# action's message (stacked, never overlapping), and only a newer alert replaces it.
ALERT_GROUP = "module-gaze-alert"
_TYPES: dict[str, Literal["positive", "negative"] | None] = {
    "done": "positive",
    "refused": "negative",
    "alert": "negative",
    "note": None,
}
_SECONDS = {"done": 5, "refused": 10, "alert": 8, "note": 5}  # a reason why not, an alert: longer, and closable


def tell(text: str, kind: Kind = "done", *, seconds: int | None = None) -> None:
    """Show `text` in the page's one message place, instead of whatever message shows there now."""
    ui.notify(
        text,
        type=_TYPES[kind],
        position=PLACE,
        group=ALERT_GROUP if kind == "alert" else GROUP,
        badgeClass="hidden",  # Quasar counts replaced messages in a badge: not a number the admin needs
        timeout=(seconds or _SECONDS[kind]) * 1000,
        multi_line=len(text) > 60,
        # closable: Quasar's close button takes the theme's colour, unreadable on red; white reads
        actions=[{"label": "OK", "color": "white"}] if kind in ("refused", "alert") else [],
    )
