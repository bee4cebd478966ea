"""The Helm values of the capacity model (temporal-docker/helm/), checked statically: no
cluster runs here. They parse, keep the compose file's versions, shard count and dynamic
config, keep secrets out, and are the ones docs/performance.md sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "temporal-docker"
VALUES = DEPLOY / "helm" / "values-1m-orders-per-day.yaml"
PERFORMANCE = DEPLOY.parent / "docs" / "performance.md"


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    loaded = yaml.safe_load(VALUES.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return dict(loaded["services"])


def tag(image: str) -> str:
    return image.rsplit(":", 1)[1]


def test_the_values_run_the_compose_files_temporal(values, compose):
    assert values["server"]["image"]["tag"] == tag(compose["temporal"]["image"])
    assert values["admintools"]["image"]["tag"] == tag(compose["temporal-schema"]["image"])
    assert values["web"]["image"]["tag"] == tag(compose["temporal-ui"]["image"])
    shards = int(compose["temporal"]["environment"]["NUM_HISTORY_SHARDS"])
    assert values["server"]["config"]["numHistoryShards"] == shards
    production = yaml.safe_load((DEPLOY / "dynamicconfig" / "production.yaml").read_text())
    assert values["server"]["dynamicConfig"] == production


def test_both_stores_are_postgresql_with_passwords_from_secrets(values):
    persistence = values["server"]["config"]["persistence"]
    for store in ("default", "visibility"):
        sql = persistence[store]["sql"]
        assert persistence[store]["driver"] == "sql"
        assert sql["driver"] == "postgres12"
        assert sql["existingSecret"]
        assert "password" not in sql
    assert "password" not in VALUES.read_text().lower().replace("existingsecret", "")


def test_every_temporal_service_is_sized(values):
    for service in ("frontend", "history", "matching", "worker"):
        sized = values["server"][service]
        assert sized["replicaCount"] >= 1, service
        assert sized["resources"]["requests"]["cpu"], service
        assert sized["resources"]["limits"]["memory"], service


def test_the_capacity_model_names_these_values():
    text = PERFORMANCE.read_text()
    assert "## Capacity model (issue 17)" in text
    assert f"temporal-docker/helm/{VALUES.name}" in text
