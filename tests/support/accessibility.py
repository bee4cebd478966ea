"""Written accessibility checks (no axe-core download): contrast, labels, keyboard, headings."""

from __future__ import annotations

import itertools
import re
from typing import Any


def _channel(value: float) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(rgb: tuple[float, float, float]) -> float:
    r, g, b = (_channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def parse_colour(value: str) -> tuple[float, float, float]:
    """#rrggbb or rgb()/rgba() as a browser reports it."""
    value = value.strip()
    if value.startswith("#"):
        return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))
    numbers = [float(n) for n in re.findall(r"[\d.]+", value)[:3]]
    return (numbers[0], numbers[1], numbers[2])


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2.1 contrast ratio of two colours."""
    a, b = luminance(parse_colour(foreground)), luminance(parse_colour(background))
    light, dark = max(a, b), min(a, b)
    return (light + 0.05) / (dark + 0.05)


# --- checks on a page rendered in the browser (Playwright) ------------------------------------

AUDIT = """
() => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const controls = [...document.querySelectorAll(
    "input:not([type=hidden]), select, textarea")].filter(visible);
  const unlabelled = controls
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                    && !el.getAttribute("aria-labelledby"))
    .map((el) => el.outerHTML.slice(0, 160));
  const nameless = [...document.querySelectorAll("button, a[href], summary")].filter(visible)
    .filter((el) => !(el.textContent.trim() || el.getAttribute("aria-label")))
    .map((el) => el.outerHTML.slice(0, 160));
  const positiveTabindex = [...document.querySelectorAll("[tabindex]")]
    .filter((el) => Number(el.getAttribute("tabindex")) > 0).map((el) => el.outerHTML.slice(0, 80));
  const clickables = [...document.querySelectorAll(
    "[onclick], div[role=button], span[role=button]")].map((el) => el.outerHTML.slice(0, 80));
  const backgroundOf = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && c !== "rgba(0, 0, 0, 0)" && c !== "transparent") return c;
    }
    return "rgb(255, 255, 255)";
  };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !visible(el)) continue;
    if (el.closest("option, title, desc, script, style")) continue;
    const s = getComputedStyle(el);
    const inSvg = el instanceof SVGElement;
    texts.push({
      text: node.textContent.trim().slice(0, 40),
      color: inSvg ? s.fill : s.color,
      background: inSvg ? "rgb(255, 255, 255)" : backgroundOf(el),
      size: parseFloat(s.fontSize),
      weight: Number(s.fontWeight) || 400,
    });
  }
  return {
    lang: document.documentElement.lang,
    title: document.title,
    h1: document.querySelectorAll("main h1").length,
    headings: [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
      .map((h) => Number(h.tagName[1])),
    main: document.querySelectorAll("main").length,
    unlabelled, nameless, positiveTabindex, clickables, texts,
  };
}
"""

MARK_FOCUSABLE = """
() => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const all = [...document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary")]
    .filter((el) => visible(el) && !el.disabled);
  const groups = {};
  let n = 0;
  for (const el of all) {
    // A group of radio buttons is one stop of the tab order (arrows move inside it).
    const key = el.type === "radio" ? "radio:" + el.form?.id + ":" + el.name : null;
    if (key && key in groups) { el.dataset.kb = groups[key]; continue; }
    el.dataset.kb = String(n);
    if (key) groups[key] = String(n);
    n += 1;
  }
  if (document.activeElement) document.activeElement.blur();
  return n;
}
"""


def required_ratio(size_px: float, weight: int) -> float:
    """WCAG 1.4.3: 3:1 for large text (24 px, or 18.66 px bold), else 4.5:1."""
    large = size_px >= 24 or (size_px >= 18.66 and weight >= 700)
    return 3.0 if large else 4.5


async def audit(page: Any) -> list[str]:
    """What a page gets wrong: labels, names, headings, language, tab order, contrast."""
    found = await page.evaluate(AUDIT)
    problems: list[str] = []
    if found["lang"] not in ("zh-CN", "en"):
        problems.append(f"lang is {found['lang']!r}")
    if found["h1"] != 1 or found["main"] != 1 or not found["title"].strip():
        problems.append(f"{found['h1']} h1, {found['main']} main, title {found['title']!r}")
    levels = found["headings"]
    for before, after in itertools.pairwise(levels):
        if after > before + 1:
            problems.append(f"heading level jumps from h{before} to h{after}")
    problems += [f"no label: {html}" for html in found["unlabelled"]]
    problems += [f"no name: {html}" for html in found["nameless"]]
    problems += [f"tabindex > 0: {html}" for html in found["positiveTabindex"]]
    problems += [f"not a button or link: {html}" for html in found["clickables"]]
    for text in found["texts"]:
        ratio = contrast(text["color"], text["background"])
        if ratio < required_ratio(text["size"], text["weight"]):
            problems.append(
                f"contrast {ratio:.2f} of {text['text']!r}: {text['color']} on {text['background']}"
            )
    problems += await keyboard_gaps(page)
    return problems


async def keyboard_gaps(page: Any) -> list[str]:
    """Tab through the page: every link, button and field must be reached.

    Chromium starts from where the last click was, so the walk goes round the page twice.
    """
    stops = await page.evaluate(MARK_FOCUSABLE)
    reached: set[str] = set()
    sequence: list[str | None] = []
    for _ in range(2 * stops + 5):
        await page.keyboard.press("Tab")
        stop = await page.evaluate("() => document.activeElement?.dataset?.kb ?? null")
        sequence.append(stop)
        if stop is not None:
            reached.add(stop)
        if len(reached) == stops:
            break
    missing = sorted(set(map(str, range(stops))) - reached, key=int)
    if not missing:
        return []
    names = await page.evaluate(
        "(ids) => ids.map((i) => document.querySelector(`[data-kb='${i}']`).outerHTML"
        ".slice(0, 100))",
        missing,
    )
    return [f"not reachable by keyboard: {name} (tab order: {sequence})" for name in names]
