"""The production deployment (temporal-docker/), checked statically: no Docker engine runs here.

The compose file parses; every image is pinned; the app's OMS_* variables are
settings that exist; Temporal's schema steps, shard count, namespace and search
attributes are all there; workers can be scaled; the app's commands exist.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.settings import Settings
from oms.cli import parser
from workflows import search_attributes as sa
from workflows.releases import CURRENT, PREVIOUS

DEPLOY = Path(__file__).resolve().parents[2] / "temporal-docker"
COMPOSE = DEPLOY / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def command_words(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def setting_exists(variable: str) -> bool:
    """OMS_X is Settings.x; OMS_POLICY__Y is Settings.policy.y (env_nested_delimiter)."""
    name = variable.removeprefix("OMS_").lower()
    top, _, nested = name.partition("__")
    if top not in Settings.model_fields:
        return False
    if not nested:
        return True
    annotation = Settings.model_fields[top].annotation
    return nested in getattr(annotation, "model_fields", {})


def test_the_stack_has_every_part_of_the_deployment(compose):
    assert set(services(compose)) >= {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-setup",
        "temporal-ui",
        "oms-setup",
        "api",
        "worker",
    }


def test_every_image_is_pinned_to_a_version(compose):
    for name, service in services(compose).items():
        image = service.get("image")
        assert image, f"{name} has no image"
        repository, _, tag = image.rpartition(":")
        assert repository and tag, f"{name}: {image} has no tag"
        assert tag != "latest" and "$" not in tag, f"{name}: {image} is not pinned"
        assert re.match(r"^\d+(\.\d+)+", tag), f"{name}: {image} is not a version"
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for base in re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE):
        assert re.search(r":\d+\.\d+\.\d+", base), f"the app's base image {base} is not pinned"


def test_temporal_server_and_admin_tools_run_the_same_version(compose):
    versions = {
        service["image"].rpartition(":")[2]
        for service in services(compose).values()
        if service["image"].startswith(("temporalio/server:", "temporalio/admin-tools:"))
    }
    assert len(versions) == 1


def test_the_apps_variables_are_all_settings_the_app_reads(compose):
    variables = set()
    for service in services(compose).values():
        variables |= {k for k in environment(service) if k.startswith("OMS_")}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        found = re.match(r"^\s*#?\s*(OMS_[A-Z0-9_]+)=", line)
        if found:
            variables.add(found.group(1))
    assert {"OMS_DATABASE_URL", "OMS_TEMPORAL_ADDRESS", "OMS_BACKUP_DIR"} <= variables
    # Compose-only knobs (volume paths) are not app settings: they never reach the app.
    compose_only = {"OMS_BACKUP_VOLUME"}
    unknown = sorted(v for v in variables - compose_only if not setting_exists(v))
    assert unknown == []
    assert environment(services(compose)["api"])["OMS_DATABASE_URL"].startswith(
        "postgresql+psycopg2://"
    )


def test_no_secret_is_written_into_the_deployment_files(compose):
    assert re.search(r"^POSTGRES_PASSWORD=\s*$", (DEPLOY / ".env.example").read_text(), re.M)
    for name, service in services(compose).items():
        for key, value in environment(service).items():
            if "PASSWORD" in key or "PWD" in key:
                assert value.startswith("${"), f"{name}.{key} is written in the file"


def test_temporals_schema_is_created_and_migrated_before_the_server_starts(compose):
    schema = services(compose)["temporal-schema"]
    assert schema["image"].startswith("temporalio/admin-tools:")
    script = (DEPLOY / "scripts" / Path(schema["entrypoint"][-1]).name).read_text()
    for database in ("temporal", "temporal_visibility"):
        assert re.search(rf"for database in .*\b{database}\b", script) or (
            f"--db {database} create" in script
        )
        assert f"--db {database} setup-schema -v 0.0" in script
    assert 'update-schema -d "$SCHEMA/temporal/versioned"' in script
    assert 'update-schema -d "$SCHEMA/visibility/versioned"' in script
    assert "SCHEMA=/etc/temporal/schema/postgresql/v12" in script
    server = services(compose)["temporal"]
    assert server["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"
    env = environment(server)
    assert env["DB"] == "postgres12"
    assert int(env["NUM_HISTORY_SHARDS"]) >= 1  # set explicitly: it can never change later
    assert (env["DBNAME"], env["VISIBILITY_DBNAME"]) == ("temporal", "temporal_visibility")


def test_the_namespace_and_every_search_attribute_are_created_with_their_types(compose):
    setup = services(compose)["temporal-setup"]
    script = (DEPLOY / "scripts" / Path(setup["entrypoint"][-1]).name).read_text()
    assert "temporal operator namespace create" in script
    created = dict(re.findall(r"^add (\w+) (\w+)$", script, re.MULTILINE))
    assert created == sa.CLI_TYPES
    assert services(compose)["oms-setup"]["depends_on"]["temporal-setup"]["condition"] == (
        "service_completed_successfully"
    )


def test_workers_scale_out_and_long_running_services_have_health_checks(compose):
    all_services = services(compose)
    worker = all_services["worker"]
    assert "container_name" not in worker and "ports" not in worker
    for name in ("postgresql", "temporal", "api", "worker"):
        assert all_services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert "/healthz" in " ".join(all_services["api"]["healthcheck"]["test"])
    assert environment(worker)["OMS_WORKER_METRICS_ADDRESS"].endswith(":9464")
    assert any(v.endswith(":/backups") for v in worker["volumes"])


def test_the_app_services_run_commands_the_oms_binary_has(compose):
    app_services = {
        name: service
        for name, service in services(compose).items()
        if service["image"].startswith("oms-app:")
    }
    assert set(app_services) == {"oms-setup", "api", "worker", "worker-previous"}
    for name, service in app_services.items():
        if name != "worker-previous":
            assert service["build"]["dockerfile"] == "temporal-docker/Dockerfile", name
        words = command_words(service)
        if words[:2] == ["sh", "-c"]:
            commands = [shlex.split(part) for part in words[2].split("&&")]
        else:
            commands = [words]
        for command in commands:
            assert command[0] == "oms", name
            parser().parse_args(command[1:])  # exits (fails the test) on an unknown command


def test_each_release_runs_its_own_image_and_the_previous_one_drains_on_its_queue(compose):
    """workflows/releases.py: this release's image carries its version; the previous
    release's workers run its image (profile `drain`) on its own task queue, and never
    make themselves current again."""
    all_services = services(compose)
    for name in ("oms-setup", "api", "worker"):
        assert all_services[name]["image"] == f"oms-app:{CURRENT.version}", name
    assert environment(all_services["worker"])["OMS_TASK_QUEUE"] == "oms-orders"
    previous = all_services["worker-previous"]
    assert previous["image"] == f"oms-app:{PREVIOUS[-1].version}"
    assert previous["profiles"] == ["drain"]
    env = environment(previous)
    assert env["OMS_TASK_QUEUE"] == PREVIOUS[-1].unversioned_task_queue
    assert env["OMS_WORKER_PROMOTE"] == "false"
    pyproject = (DEPLOY.parent / "pyproject.toml").read_text()
    assert f'version = "{CURRENT.version}"' in pyproject
    dynamic = (DEPLOY / "dynamicconfig" / "production.yaml").read_text()
    assert "system.enableDeploymentVersions" in dynamic
