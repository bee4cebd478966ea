"""Task summaries keep the English text the API has always given, and carry their values."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain import summaries


def test_the_text_is_the_inbox_line_the_api_gives():
    total = Decimal("258.00")
    assert summaries.lines(1, 2, total).text == "1 line(s), 2 unit(s), total 258.00"
    assert summaries.review(1, 2, total, []).code == "lines"  # no call-back: a plain line
    risky = summaries.review(1, 2, total, ["new customer"])
    assert risky.text == "1 line(s), 2 unit(s), total 258.00; phone verification: new customer"
    assert risky.params["reasons"] == ["new customer"]
    assert summaries.short({"B": 1, "A": 2}).text == "short: A x2, B x1"
    assert summaries.restock_expected(datetime(2026, 12, 1, 9, 5)).params == {
        "eta": "2026-12-01 09:05"
    }
    assert summaries.refund_by_hand(total, "R1", "card closed").text == (
        "refund 258.00 by hand (R1): card closed"
    )
    assert summaries.feedback("complaint", "hotline", "JD1").text == (
        "complaint via hotline on order JD1"
    )
    assert summaries.feedback("praise", "email", None).code == "feedback"


def test_every_value_of_a_summary_is_text():
    made = summaries.review(3, 7, Decimal("1.50"), ["new customer", "amount 9 over 5"])
    for value in made.params.values():
        assert isinstance(value, str) or all(isinstance(v, str) for v in value)
