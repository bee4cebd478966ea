"""`oms sim paid`: the demo plays the customer paying at the simulated provider, whose
captures are what a refund is paid back within (activities/payments.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from activities.payment_gateway import SimulatedPaymentGateway
from config.settings import Settings
from db.engine import Database
from tests.support.cli import oms, settings_in


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_in(tmp_path)


def captured(settings: Settings, transaction_id: str, order_id: str) -> Decimal | None:
    db = Database(settings.database_url)
    try:
        return SimulatedPaymentGateway(db).captured(transaction_id, order_id)
    finally:
        db.dispose()


def test_a_payment_is_captured_once_and_a_transaction_is_one_orders(
    settings: Settings, capsys: pytest.CaptureFixture[str]
):
    assert oms(settings, "sim", "paid", "JD1", "T1", "258.00") == 0
    assert "captured 258.00 for JD1" in capsys.readouterr().out
    assert captured(settings, "T1", "JD1") == Decimal("258.00")
    assert oms(settings, "sim", "paid", "JD1", "T1", "258.00") == 0  # again: the same fact
    # The same transaction for another order (or another sum) changes nothing.
    assert oms(settings, "sim", "paid", "JD2", "T1", "258.00") == 1
    assert "already captured otherwise" in capsys.readouterr().out
    assert captured(settings, "T1", "JD2") is None


@pytest.mark.parametrize("amount", ["abc", "0", "-5.00", "1.005", "NaN"])
def test_an_amount_that_is_no_money_is_refused(settings: Settings, amount: str):
    with pytest.raises(SystemExit):
        oms(settings, "sim", "paid", "JD1", "T1", amount)


def test_with_a_real_gateway_configured_nothing_is_recorded(
    settings: Settings, capsys: pytest.CaptureFixture[str]
):
    real = settings.model_copy(update={"payment_gateway": "provider.gateway:Gateway"})
    assert oms(real, "sim", "paid", "JD1", "T1", "258.00") == 2
    assert "not the simulated one" in capsys.readouterr().out
