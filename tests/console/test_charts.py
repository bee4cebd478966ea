"""The dashboard's charts: SVG drawn on the server, readable by screen readers."""

from __future__ import annotations

from xml.etree import ElementTree

from api.console.charts import Point, _nice_max, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_a_bar_chart_has_a_bar_per_period_with_its_value_and_a_title_and_description():
    points = [Point(f"11月{d}日", v, f"{v} 单") for d, v in ((1, 3), (2, 0), (3, 7))]
    svg = ElementTree.fromstring(
        str(bar_chart("c", points, title="订单量", description="每天的订单数", scale=str))
    )
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c-title c-desc"
    assert svg.find(f"{SVG}title").text == "订单量"
    bars = svg.findall(f"{SVG}rect[@class='bar']")
    assert [b.find(f"{SVG}title").text for b in bars] == [
        "11月1日: 3 单",
        "11月2日: 0 单",
        "11月3日: 7 单",
    ]
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == 0 and heights[2] > heights[0] > 0
    assert heights[0] / heights[2] == 3 / 7
    axis = [t.text for t in svg.findall(f"{SVG}text")][:3]
    assert axis == ["0.0", "4.0", "8.0"]  # the scale tops at 8, its middle at 4


def test_a_line_chart_has_a_point_per_period_and_escapes_its_labels():
    points = [Point("<b>", 10.0, "¥10.00"), Point("b", 20.0, "¥20.00")]
    markup = str(line_chart("r", points, title="收入 & 退款", description="d", scale=str))
    assert "<b>" not in markup and "&lt;b&gt;" in markup and "收入 &amp; 退款" in markup
    svg = ElementTree.fromstring(markup)
    assert len(svg.findall(f"{SVG}circle")) == 2
    assert svg.find(f"{SVG}polyline") is not None


def test_the_scale_tops_at_a_round_number_whose_half_is_whole():
    assert [_nice_max(v) for v in (0, 1, 3, 5, 7, 52, 130, 2598)] == [2, 2, 4, 6, 8, 60, 200, 4000]
    assert all(_nice_max(v) / 2 == int(_nice_max(v) / 2) for v in range(0, 5000, 7))
