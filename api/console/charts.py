"""Charts as SVG drawn on the server: bars for counts, a line for amounts. No library.

Each chart is an image with a title and a description for screen readers
(`role="img"`, `aria-labelledby`); every bar or point carries its value in a
`<title>`, and the page prints the same figures as a table beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 16, 40
#: Colours of the console's palette (static/console.css): ink on white, and the accent.
INK = "#1f2933"
GRID = "#d5dbe1"
ACCENT = "#1d5fa7"
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Point:
    label: str  # the period, as the viewer reads it
    value: float
    shown: str  # the value, as the viewer reads it


def _nice_max(value: float) -> float:
    """A round number at or above the largest value (2 at least), for the top of the scale.

    Its half, the middle line, is a whole number too: a count never reads "2.5 orders".
    """
    if value <= 2:
        return 2.0
    step = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 4, 6, 8, 10):
        if value <= step * factor:
            return float(step * factor)
    return float(step * 10)


def _frame(chart_id: str, title: str, description: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>'
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _axes(points: Sequence[Point], top: float, scale: Callable[[float], str]) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for fraction in (0.0, 0.5, 1.0):
        shown = scale(top * fraction)
        y = TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{escape(shown)}</text>'
        )
    every = max(1, -(-len(points) // MAX_X_LABELS))
    for i, point in enumerate(points):
        if i % every:
            continue
        x = _x(i, len(points))
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" '
            f'font-size="12" fill="{INK}">{escape(point.label)}</text>'
        )
    return parts


def _x(i: int, n: int) -> float:
    slot = (WIDTH - LEFT - RIGHT) / max(n, 1)
    return LEFT + slot * (i + 0.5)


def _y(value: float, top: float) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return TOP + plot_h * (1 - max(value, 0) / top)


def bar_chart(
    chart_id: str,
    points: Sequence[Point],
    *,
    title: str,
    description: str,
    scale: Callable[[float], str],
) -> Markup:
    top = _nice_max(max((p.value for p in points), default=0))
    slot = (WIDTH - LEFT - RIGHT) / max(len(points), 1)
    bar_w = max(2.0, slot * 0.7)
    body = _axes(points, top, scale)
    for i, point in enumerate(points):
        y = _y(point.value, top)
        body.append(
            f'<rect class="bar" x="{_x(i, len(points)) - bar_w / 2:.1f}" y="{y:.1f}" '
            f'width="{bar_w:.1f}" height="{HEIGHT - BOTTOM - y:.1f}" fill="{ACCENT}">'
            f"<title>{escape(point.label)}: {escape(point.shown)}</title></rect>"
        )
    return _frame(chart_id, title, description, body)


def line_chart(
    chart_id: str,
    points: Sequence[Point],
    *,
    title: str,
    description: str,
    scale: Callable[[float], str],
) -> Markup:
    top = _nice_max(max((p.value for p in points), default=0))
    body = _axes(points, top, scale)
    coords = [(_x(i, len(points)), _y(p.value, top)) for i, p in enumerate(points)]
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2.5"/>')
    for (x, y), point in zip(coords, points, strict=True):
        body.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{ACCENT}">'
            f"<title>{escape(point.label)}: {escape(point.shown)}</title></circle>"
        )
    return _frame(chart_id, title, description, body)
