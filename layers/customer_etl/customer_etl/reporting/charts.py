"""Chart geometry for the reports: horizontal bar charts and a line chart, as plain numbers
that `templates/charts.html.j2` draws as inline SVG.

Our own few lines rather than a plotting library: a report must open offline as one file,
and matplotlib or plotly would add tens of megabytes to the Lambda layer for two shapes.
Geometry here, markup in the template: every label is escaped by Jinja2 where it is drawn.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

WIDTH = 640
LABEL_WIDTH = 200
VALUE_WIDTH = 90
ROW_HEIGHT = 22
BAR_HEIGHT = 16
GROUPED_BAR_HEIGHT = 11
LABEL_CHARACTERS = 30
LINE_HEIGHT = 220
LINE_MARGIN_LEFT = 70
LINE_MARGIN_BOTTOM = 30
LINE_MARGIN_TOP = 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    """Which series the bar belongs to: its colour (CSS class `s<series>`)."""
    title: str
    """The tooltip: category, series and value in full."""


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: Literal["start", "middle", "end"] = "start"
    title: str = ""
    """The full text of a shortened label."""


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str
    flagged: bool


@dataclass(frozen=True)
class Chart:
    """What one chart draws; `empty` charts say "no data" instead."""

    kind: Literal["bar", "line"]
    title: str
    width: int
    height: int
    legend: tuple[str, ...] = ()
    bars: tuple[Bar, ...] = ()
    labels: tuple[Label, ...] = ()
    line: str = ""
    """A polyline's `points` attribute."""
    points: tuple[Point, ...] = ()

    @property
    def empty(self) -> bool:
        """No category or value at all (a chart of zeros is not empty: it shows them)."""
        return not self.labels


def number(value: float, unit: str = "") -> str:
    """A value as a report shows it: whole numbers with thousands separators, others with
    two decimals at most."""
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")
    return f"{text} {unit}".strip()


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    stacked: bool = False,
    unit: str = "",
) -> Chart:
    """One row per category; several series are stacked end to end (parts of a whole) or
    grouped one under the other (figures side by side). Zero values draw no bar."""
    names = list(series)
    columns = [list(series[name]) for name in names]
    if not categories or not names:
        return Chart(kind="bar", title=title, width=WIDTH, height=ROW_HEIGHT * 2)
    totals = [
        sum(column[row] for column in columns) if stacked else max(c[row] for c in columns)
        for row in range(len(categories))
    ]
    scale = (WIDTH - LABEL_WIDTH - VALUE_WIDTH) / (max(totals) or 1)
    grouped = len(names) > 1 and not stacked
    block = GROUPED_BAR_HEIGHT * len(names) + 8 if grouped else ROW_HEIGHT
    bars: list[Bar] = []
    labels: list[Label] = []
    for row, category in enumerate(categories):
        top = row * block + 4
        labels.append(_category_label(category, top + block / 2))
        left = float(LABEL_WIDTH)
        for index, (name, column) in enumerate(zip(names, columns, strict=True)):
            value = column[row]
            width = value * scale
            y = top + index * GROUPED_BAR_HEIGHT if grouped else top + 1
            height = GROUPED_BAR_HEIGHT - 1 if grouped else BAR_HEIGHT
            tooltip = f"{category}: {number(value, unit)}"
            if len(names) > 1:
                tooltip = f"{category}, {name}: {number(value, unit)}"
            if value > 0:
                bars.append(Bar(left, y, round(width, 2), height, index, tooltip))
            if stacked:
                left += width
            elif grouped:
                labels.append(Label(LABEL_WIDTH + width + 4, y + height - 1, number(value, unit)))
        if not grouped:
            end = LABEL_WIDTH + totals[row] * scale
            labels.append(Label(end + 4, top + BAR_HEIGHT - 2, number(totals[row], unit)))
    legend = tuple(names) if len(names) > 1 else ()
    height = block * len(categories) + 8
    return Chart("bar", title, WIDTH, height, legend, tuple(bars), tuple(labels))


def line_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    flagged: Collection[int] = (),
    unit: str = "",
) -> Chart:
    """Values in order, joined by a line; the points at `flagged` positions are marked."""
    if not values:
        return Chart(kind="line", title=title, width=WIDTH, height=ROW_HEIGHT * 2)
    top = max(values) or 1.0
    plot_width = WIDTH - LINE_MARGIN_LEFT - 20
    plot_height = LINE_HEIGHT - LINE_MARGIN_TOP - LINE_MARGIN_BOTTOM
    step = plot_width / max(len(values) - 1, 1)
    points = [
        Point(
            round(LINE_MARGIN_LEFT + index * step, 2),
            round(LINE_MARGIN_TOP + plot_height * (1 - value / top), 2),
            f"{label}: {number(value, unit)}",
            index in flagged,
        )
        for index, (label, value) in enumerate(zip(labels, values, strict=True))
    ]
    baseline = LINE_MARGIN_TOP + plot_height
    axis = [
        Label(LINE_MARGIN_LEFT - 6, LINE_MARGIN_TOP + 8, number(top, unit), "end"),
        Label(LINE_MARGIN_LEFT - 6, baseline, number(0, unit), "end"),
        Label(LINE_MARGIN_LEFT, baseline + 18, labels[0], "start"),
    ]
    if len(labels) > 1:
        axis.append(Label(points[-1].x, baseline + 18, labels[-1], "end"))
    line = " ".join(f"{point.x},{point.y}" for point in points)
    return Chart("line", title, WIDTH, LINE_HEIGHT, (), (), tuple(axis), line, tuple(points))


def _category_label(text: str, middle: float) -> Label:
    shown = text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1] + "…"
    return Label(LABEL_WIDTH - 6, middle + 4, shown, "end", title=text)
