"""/history's device's day: the sessions of a clicked row's device on that row's day, on a timeline,
in a dialog — opened where the admin is looking, whatever the page is scrolled to.

Not the board's dialog (components/device_day.py): that one draws a live device's today, with its
open session; a /history row may be of any past day."""

from __future__ import annotations

from nicegui import ui

from components.charts import Segment, redraw, timeline
from components.frame import icon_button, name_dialog


class HistoryDay:
    """One dialog per page, filled for the row that was clicked (Escape or the close button shut it)."""

    def __init__(self, label_width: int) -> None:
        self.label_width = label_width
        with ui.dialog() as self.dialog, ui.card().classes("w-full max-w-3xl").mark("history-day"):
            with ui.row().classes("w-full items-center flex-nowrap"):
                self.title = ui.label("").classes("text-lg font-semibold min-w-0").mark("history-day-title")
                ui.space()
                icon_button("close", "Close the device's day", self.dialog.close)
            name_dialog(self.dialog, self.title)  # named by its title, as every dialog
            self.empty = ui.label("").classes("text-sm text-gray-600").mark("timeline-empty")
            # SVG as on the board's dialog: a few bars and times, sharp on any screen
            self.timeline = (
                ui.echart(timeline([], label_width=label_width), renderer="svg").classes("w-full h-64").mark("timeline")
            )

    def show(self, title: str, segments: list[Segment], empty: str) -> None:
        """Open with `segments` on the timeline, or the words `empty` when there are none."""
        self.title.set_text(title)
        self.empty.set_text(empty)
        self.empty.set_visibility(not segments)
        self.timeline.set_visibility(bool(segments))
        redraw(self.timeline, timeline(segments, label_width=self.label_width))
        self.dialog.open()
