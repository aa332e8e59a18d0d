"""ECharts options of /history's charts: minutes per module or per hour, a device's day as a timeline."""

from __future__ import annotations

from typing import Any


def bar_options(points: list[tuple[str, float]], *, horizontal: bool) -> dict[str, Any]:
    categories = [label for label, _ in points]
    values = [value for _, value in points]
    category_axis: dict[str, Any] = {"type": "category", "data": categories}
    value_axis: dict[str, Any] = {"type": "value", "name": "min"}
    if horizontal:
        category_axis |= {"inverse": True, "axisLabel": {"width": 140, "overflow": "truncate"}}
    return {
        "animation": False,
        "grid": {"left": 150 if horizontal else 40, "right": 20, "top": 20, "bottom": 30},
        "tooltip": {"trigger": "axis"},
        "xAxis": value_axis if horizontal else category_axis,
        "yAxis": category_axis if horizontal else value_axis,
        "series": [{"type": "bar", "data": values, "itemStyle": {"color": "#1f6f8b"}}],
    }


def timeline_options(segments: list[tuple[str, int, int, str]]) -> dict[str, Any]:
    """Each session as a thick line from its start to its end, one row per module."""
    modules = sorted({module for module, *_ in segments})
    series = [
        {
            "type": "line",
            "name": f"{module} ({user})",
            "data": [[start, module], [end, module]],
            "lineStyle": {"width": 14},
            "symbol": "none",
            "itemStyle": {"color": "#1f6f8b"},
        }
        for module, start, end, user in segments
    ]
    return {
        "animation": False,
        "grid": {"left": 150, "right": 20, "top": 20, "bottom": 30},
        "tooltip": {"trigger": "item"},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "category", "data": modules, "axisLabel": {"width": 140, "overflow": "truncate"}},
        "series": series,
    }
