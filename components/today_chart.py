"""The board's "today so far" chart: minutes per module today, pushed by the hub.

One definition with /history: the blue part is the ended sessions exactly as History › Today counts
them; the amber part is what the open sessions add so far (History counts them when they end).

The chart is drawn once the page is connected, not in the page's first build: ECharts is about 1 MB
of script, and a board whose first HTML holds an echart waits for it before it shows its first row.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from components.hub import Hub, TodayPoint
from gaze.board import module_label
from gaze.services import Services

ENDED, OPEN = "Ended (as History › Today)", "Open now, so far"


def _options(services: Services, points: list[TodayPoint]) -> dict[str, Any]:
    names = [module_label(services.catalog, slug)[0] for slug, _, _ in points]
    return {
        "animation": False,
        "grid": {"left": 110, "right": 20, "top": 30, "bottom": 25},
        "legend": {"top": 0, "left": 0, "textStyle": {"fontSize": 11}},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "value", "name": "min"},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": names,
            "axisLabel": {"width": 100, "overflow": "truncate"},
        },
        "series": [
            {
                "name": ENDED,
                "type": "bar",
                "stack": "today",
                "data": [round(e, 1) for _, e, _ in points],
                "itemStyle": {"color": "#1f6f8b"},
            },
            {
                "name": OPEN,
                "type": "bar",
                "stack": "today",
                "data": [round(o, 1) for _, _, o in points],
                "itemStyle": {"color": "#d97706"},
            },
        ],
    }


class TodayChart:
    def __init__(self, services: Services, hub: Hub) -> None:
        self.services = services
        self.points = hub.today
        self.chart: ui.echart | None = None
        with ui.card().classes("w-full"):
            ui.label("Today so far: minutes per module").classes("text-lg font-semibold")
            ui.label(
                "Blue: sessions that ended today, the same figure as History › Today. "
                "Amber: what the open sessions add so far; History counts them when they end."
            ).classes("text-xs text-gray-600").mark("today-definition")
            self.box = ui.element("div").classes("w-full h-64")  # the chart's place: nothing moves when it comes
        client = ui.context.client
        if client.has_socket_connection:
            self._draw()
        else:
            client.on_connect(self._draw)
        hub.today_changed.subscribe(self.update)

    def _draw(self) -> None:
        if self.chart is None:  # on_connect runs again after a reconnect
            with self.box:
                self.chart = (
                    ui.echart(_options(self.services, self.points)).classes("w-full h-full").mark("today-chart")
                )

    def update(self, points: list[TodayPoint]) -> None:
        self.points = points
        if self.chart is None:
            return
        self.chart.options.clear()
        self.chart.options.update(_options(self.services, points))
        self.chart.update()
