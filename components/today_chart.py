"""The board's "today so far" mini-chart: minutes per module today, pushed by the hub."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from components.hub import Hub
from gaze.board import module_label
from gaze.services import Services


def _options(services: Services, points: list[tuple[str, float]]) -> dict[str, Any]:
    names = [module_label(services.catalog, slug)[0] for slug, _ in points]
    return {
        "animation": False,
        "grid": {"left": 150, "right": 20, "top": 10, "bottom": 25},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "value", "name": "min"},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": names,
            "axisLabel": {"width": 140, "overflow": "truncate"},
        },
        "series": [{"type": "bar", "data": [round(m, 1) for _, m in points], "itemStyle": {"color": "#1f6f8b"}}],
    }


class TodayChart:
    def __init__(self, services: Services, hub: Hub) -> None:
        self.services = services
        with ui.card().classes("w-full"):
            ui.label("Today so far (minutes per module)").classes("text-lg font-semibold")
            self.chart = ui.echart(_options(services, hub.today)).classes("w-full h-56").mark("today-chart")
        hub.today_changed.subscribe(self.update)

    def update(self, points: list[tuple[str, float]]) -> None:
        self.chart.options.clear()
        self.chart.options.update(_options(self.services, points))
        self.chart.update()
