"""Contrast of the console's palette: every text colour of the stylesheet on every background
it can be drawn on, at 4.5:1 at least (WCAG 2.1 AA); the charts' ink and bars too.

The browser tests measure the rendered pages as well (tests/console/test_browser.py)."""

from __future__ import annotations

import re

from api.console import charts
from api.console.render import STATIC
from tests.support.accessibility import contrast

CSS = (STATIC / "console.css").read_text()
VARIABLES = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", CSS))
RULES = re.findall(r"([^{}]+)\{([^{}]*)\}", re.sub(r"/\*.*?\*/", "", CSS, flags=re.S))


def colour(value: str) -> str | None:
    value = value.strip()
    found = re.fullmatch(r"var\(--([\w-]+)\)", value)
    if found:
        return VARIABLES[found.group(1)]
    return value if re.fullmatch(r"#[0-9a-fA-F]{6}", value) else None


def declarations(body: str) -> dict[str, str]:
    return {
        name.strip(): value.strip()
        for name, value in (d.split(":", 1) for d in body.split(";") if ":" in d)
    }


def pairs() -> list[tuple[str, str, str]]:
    """(selector, text colour, background) for every combination the stylesheet allows."""
    own: list[tuple[str, str, str]] = []
    loose: list[tuple[str, str]] = []
    surfaces: set[str] = set()
    for selector, body in RULES:
        decl = declarations(body)
        text = colour(decl.get("color", ""))
        back = colour(decl.get("background", decl.get("background-color", "")))
        if back and text in (None, VARIABLES["ink"]):
            surfaces.add(back)  # a container: other text may be drawn on it
        if text and back:
            own.append((selector.strip(), text, back))
        elif text:
            loose.append((selector.strip(), text))
    # Text without a background of its own may sit on any surface of the page (a card, a
    # table head, an overdue row...); a button or badge brings its own and is checked above.
    return own + [(sel, text, back) for sel, text in loose for back in sorted(surfaces)]


def test_every_text_colour_reads_on_every_background_it_can_meet():
    checked = pairs()
    assert len(checked) > 30
    poor = [
        (sel, fg, bg, round(contrast(fg, bg), 2))
        for sel, fg, bg in checked
        if contrast(fg, bg) < 4.5
    ]
    assert poor == []


def test_focus_is_always_visible():
    assert re.search(r":focus-visible\s*\{[^}]*outline:\s*3px solid", CSS)
    assert contrast(VARIABLES["focus"], VARIABLES["bg"]) >= 3


def test_the_charts_ink_and_bars_read_on_their_white_ground():
    assert contrast(charts.INK, "#ffffff") >= 4.5
    assert contrast(charts.ACCENT, "#ffffff") >= 3  # graphics: 3:1 (WCAG 1.4.11)
    assert VARIABLES["ink"] == charts.INK and VARIABLES["accent"] == charts.ACCENT


def test_the_contrast_formula_matches_known_values():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48
    assert contrast("#ffffff", "#ffffff") == 1.0
