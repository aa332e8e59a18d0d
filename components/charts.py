"""ECharts options of every chart, so that they read alike: minutes as bars (the board's today so
far, a learner's range in a device's day, /history's modules and hours) and sessions on a timeline
(a device's day on the board and on /history). Minutes to one decimal; blue is ended time, amber
what open sessions add."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from nicegui import ui

from components.theme import OPEN_COLOR, PRIMARY

ENDED_COLOR = PRIMARY
LABEL_WIDTH = 100  # px of a category axis' names (modules), truncated beyond
NARROW_PX = 480  # a chart narrower than this (a phone) stacks its legend's entries, above the grid


class Segment(NamedTuple):
    """One session on a timeline: its row (the module), its span and the words its tooltip shows."""

    row: str
    start_ms: int
    end_ms: int
    name: str
    is_open: bool = False


def _names_axis(names: list[str], label_width: int, **extra: Any) -> dict[str, Any]:
    return {"type": "category", "data": names, "axisLabel": {"width": label_width, "overflow": "truncate"}, **extra}


def _grid(left: int, *, legend: bool = False) -> dict[str, int]:
    return {"left": left, "right": 20, "top": 30 if legend else 20, "bottom": 30}


def bar_series(
    minutes: Sequence[float], *, color: str = ENDED_COLOR, name: str | None = None, stack: str | None = None
) -> dict[str, Any]:
    """One series of minutes; `stack` puts series with the same value end to end."""
    series: dict[str, Any] = {"type": "bar", "data": [round(m, 1) for m in minutes], "itemStyle": {"color": color}}
    if name is not None:
        series["name"] = name
    if stack is not None:
        series["stack"] = stack
    return series


def minutes_bars(
    categories: list[str],
    series: list[dict[str, Any]],
    *,
    horizontal: bool = True,
    label_width: int = LABEL_WIDTH,
    legend: bool = False,
    empty: str = "No minutes to show yet.",
) -> dict[str, Any]:
    """Bars of minutes: horizontal, one bar per name, the first on top (modules); or upright (hours).
    With no minutes at all the chart says `empty` in its middle instead of showing bare axes ("": a
    chart waiting for its first data says nothing)."""
    value_axis: dict[str, Any] = {"type": "value", "name": "min"}
    if horizontal:
        x_axis, y_axis = value_axis, _names_axis(categories, label_width, inverse=True)
        left = label_width + 10
    else:
        x_axis, y_axis, left = {"type": "category", "data": categories}, value_axis, 40
    options: dict[str, Any] = {
        "animation": False,
        "grid": _grid(left, legend=legend),
        "tooltip": {"trigger": "axis"},
        "xAxis": x_axis,
        "yAxis": y_axis,
        "series": series,
    }
    # Every key is set either way: ECharts merges a redraw into what it shows (same series count),
    # so an axis hidden or a title shown by an empty result would stay through the next one.
    nothing = bool(empty) and not any(value for one in series for value in one["data"])
    x_axis["show"] = y_axis["show"] = not nothing  # empty: the words alone, no lines through them
    options["title"] = {
        "show": nothing,
        "text": empty if nothing else "",
        "left": "center",
        "top": "middle",
        "textStyle": {"fontSize": 13, "fontWeight": "normal", "color": "#4b5563"},
    }
    if legend:
        options["legend"] = {"top": 0, "left": 0, "textStyle": {"fontSize": 11}}
        return _legend_fits(options)
    return options


def _legend_fits(options: dict[str, Any]) -> dict[str, Any]:
    """On a narrow chart a one-line legend would wrap over the first bar's name: there its entries
    stand one under the other and the grid starts below them (an ECharts media query, so the same
    options fit a phone and a desk, and a turned phone)."""
    narrow = {"legend": {"orient": "vertical", "itemGap": 4}, "grid": {"top": 50}}
    return {"baseOption": options, "media": [{"query": {"maxWidth": NARROW_PX}, "option": narrow}]}


def timeline(segments: list[Segment], *, label_width: int = LABEL_WIDTH) -> dict[str, Any]:
    """Each session as a thick line from its start to its end, one row per module (sorted by name)."""
    return {
        "animation": False,
        "grid": _grid(label_width + 10),
        "tooltip": {"trigger": "item"},
        # A time axis takes about 6 ticks whatever its width: on a phone the times would overlap.
        "xAxis": {"type": "time", "axisLabel": {"hideOverlap": True}},
        "yAxis": _names_axis(sorted({s.row for s in segments}), label_width),
        "series": [
            {
                "type": "line",
                "name": s.name,
                "data": [[s.start_ms, s.row], [s.end_ms, s.row]],
                "lineStyle": {"width": 12},
                "symbol": "none",
                "itemStyle": {"color": OPEN_COLOR if s.is_open else ENDED_COLOR},
            }
            for s in segments
        ],
    }


def redraw(chart: ui.echart, options: dict[str, Any]) -> None:
    """Replace everything `chart` shows (one update to the browser)."""
    chart.options.clear()
    chart.options.update(options)
    chart.update()
