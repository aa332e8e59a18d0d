"""The board's "today so far" chart: minutes per module today, pushed by the hub.

One definition with /history: the blue part is the ended sessions exactly as History › Today counts
them; the amber part is what the open sessions add so far (History counts them when they end).

The chart is drawn once the page is connected, not in the page's first build: ECharts is about 1 MB
of script, and a board whose first HTML holds an echart waits for it before it shows its first row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from components.charts import bar_series, minutes_bars, redraw
from components.hub import Hub
from components.theme import OPEN_COLOR
from gaze.board import TODAY_TOP, TodayPoint

ENDED, OPEN = "Ended (as History › Today)", "Open now, so far"


def today_options(points: list[TodayPoint] | None, module_name: Callable[[str], str]) -> dict[str, Any]:
    """`points` None: not read yet (the first seconds after start-up), so the chart says nothing."""
    known = points or []
    return minutes_bars(
        [module_name(slug) for slug, _, _ in known],
        [
            bar_series([e for _, e, _ in known], name=ENDED, stack="today"),
            bar_series([o for _, _, o in known], name=OPEN, stack="today", color=OPEN_COLOR),
        ],
        legend=True,
        empty="" if points is None else "No module time today yet.",
    )


class TodayChart:
    """`module_name`: what the chart calls a module slug. The board builds it once the page is
    connected (pages/dashboard.py), so the chart (ECharts: about 1 MB of script) does not hold back
    the first session row."""

    def __init__(self, hub: Hub, module_name: Callable[[str], str]) -> None:
        self.module_name = module_name
        self.points = hub.today
        self.chart: ui.echart | None = None
        with ui.card().classes("w-full"):
            ui.label(f"Today so far: minutes per module (top {TODAY_TOP})").classes("text-lg font-semibold")
            ui.label(
                "Blue: sessions that ended today, the same figure as History › Today. "
                "Amber: what the open sessions add so far; History counts them when they end."
            ).classes("text-xs text-gray-600").mark("today-definition")
            self.box = ui.element("div").classes("w-full h-64")  # the chart's place: nothing moves when it comes
        self._draw()
        hub.today_changed.subscribe(self.update)

    def _draw(self) -> None:
        if self.chart is None:  # on_connect runs again after a reconnect
            with self.box:
                # SVG: a few bars and words, sharp on any screen (and each word is an element a test can measure)
                self.chart = (
                    ui.echart(today_options(self.points, self.module_name), renderer="svg")
                    .classes("w-full h-full")
                    .mark("today-chart")
                )

    def update(self, points: list[TodayPoint]) -> None:
        self.points = points
        if self.chart is not None:
            redraw(self.chart, today_options(points, self.module_name))
