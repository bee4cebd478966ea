"""`oms products import FILE` and `oms products list`: the catalogue loaded before orders
arrive (P3.1; docs/ops.md "Release r3"), all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.settings import Settings
from tests.support.cli import oms, settings_in

KETTLE = {"sku": "SKU-KETTLE", "name": "kettle", "list_price": "129.00", "floor_price": "99.00"}
KNIFE = {
    "sku": "SKU-KNIFE",
    "name": "knife",
    "list_price": "199.00",
    "floor_price": "169.00",
    "restricted": True,
    "required_check": "age_verified",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_in(tmp_path)


def catalogue(settings: Settings, capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    capsys.readouterr()
    assert oms(settings, "products", "list") == 0
    return {p["sku"]: p for p in json.loads(capsys.readouterr().out)}


def test_a_catalogue_file_is_loaded_and_loading_it_again_replaces_it(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = tmp_path / "products.json"
    path.write_text(json.dumps([KETTLE, KNIFE]))
    assert oms(settings, "products", "import", str(path)) == 0
    assert "2/2 products loaded" in capsys.readouterr().err
    listed = catalogue(settings, capsys)
    assert listed["SKU-KNIFE"]["required_check"] == "age_verified"
    assert listed["SKU-KETTLE"]["kind"] == "goods"

    path.write_text(json.dumps([{**KETTLE, "list_price": "119.00"}]))
    assert oms(settings, "products", "import", str(path)) == 0
    listed = catalogue(settings, capsys)
    assert listed["SKU-KETTLE"]["list_price"] == "119.00" and "SKU-KNIFE" in listed


@pytest.mark.parametrize(
    "content",
    [
        [KETTLE, {**KNIFE, "floor_price": "500.00"}],  # a floor above the list price
        [KETTLE, KETTLE],  # the same sku twice
        {"sku": "SKU-KETTLE"},  # not a list
    ],
    ids=["invalid product", "repeated sku", "not a list"],
)
def test_a_faulty_file_loads_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], content
):
    path = tmp_path / "products.json"
    path.write_text(json.dumps(content))
    with pytest.raises(SystemExit) as refused:
        oms(settings, "products", "import", str(path))
    assert str(path) in str(refused.value)
    assert catalogue(settings, capsys) == {}
