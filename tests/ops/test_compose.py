"""The production deployment (temporal-docker/), checked statically: no Docker engine runs here.

The compose file parses; every image is pinned; the app's OMS_* variables are
settings that exist; Temporal's schema steps, shard count, namespace and search
attributes are all there; workers can be scaled; the app's commands exist.

And the engine is closed (docs/ops.md, "The engine closed (production)"): the frontend
publishes no port and nothing is published beyond 127.0.0.1; every Temporal client presents
its own leaf (mutual TLS, a client CA apart from the cluster's) and its own token; the server
authorizes every call from a JWT; the UI signs people in and decodes through the codec
server; each secret reaches only the services that use it, from the environment; the
certificate script is POSIX sh and keeps keys private (it runs here when openssl is there).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
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
    assert set(app_services) == {
        "certs",
        "oms-migrate",
        "oms-setup",
        "api",
        "worker",
        "worker-previous",
        "codec-server",
        "restore",
    }
    # The certs job runs a shell script in the app image (checked below); the rest run `oms`.
    assert app_services.pop("certs")["entrypoint"][-2] == "/scripts/make-certs.sh"
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
    # A versioned release drains as its own deployment version on the same task queue.
    queue = (
        PREVIOUS[-1].unversioned_task_queue or environment(all_services["worker"])["OMS_TASK_QUEUE"]
    )
    assert env["OMS_TASK_QUEUE"] == queue
    assert env["OMS_WORKER_PROMOTE"] == "false"
    pyproject = (DEPLOY.parent / "pyproject.toml").read_text()
    assert f'version = "{CURRENT.version}"' in pyproject
    dynamic = (DEPLOY / "dynamicconfig" / "production.yaml").read_text()
    assert "system.enableDeploymentVersions" in dynamic


def test_the_read_model_is_migrated_by_a_one_shot_job_before_the_api_and_workers(compose):
    """docs/ops.md, "Upgrading: the read model's migrations": one job runs `oms db upgrade`;
    the API, the workers and the setup job wait for it, and do not migrate themselves."""
    all_services = services(compose)
    migrate = all_services["oms-migrate"]
    assert command_words(migrate) == ["oms", "db", "upgrade"]
    assert migrate["image"] == f"oms-app:{CURRENT.version}"
    assert migrate["depends_on"]["postgresql"]["condition"] == "service_healthy"
    assert environment(migrate)["OMS_DATABASE_URL"].startswith("postgresql+psycopg2://")
    for name in ("oms-setup", "api", "worker"):
        waits = all_services[name]["depends_on"]["oms-migrate"]["condition"]
        assert waits == "service_completed_successfully", name
        assert environment(all_services[name])["OMS_MIGRATE_ON_START"] == "false", name
    assert Settings().migrate_on_start  # `oms up` (embedded) migrates by itself


# --- The engine closed (docs/ops.md, "The engine closed (production)") ----------------------

#: Started by ops by hand (`--profile ops`, `run --rm`): never restarted.
BY_HAND = {"admin-tools", "restore"}


def waited_for(compose: dict[str, Any]) -> set[str]:
    """The one-shot jobs: services another waits for to complete."""
    return {
        name
        for service in services(compose).values()
        for name, dependency in (service.get("depends_on") or {}).items()
        if isinstance(dependency, dict)
        and dependency.get("condition") == "service_completed_successfully"
    }


def test_the_restart_policy_is_oms_ups_for_each_kind_of_service(compose):
    """docs/ops.md, "When a process crashes": what runs until stopped is restarted on any exit
    (0 included), a one-shot job retries a failure and stays down once done, what ops start
    by hand never restarts."""
    one_shot = waited_for(compose)
    assert {"certs", "temporal-schema", "temporal-setup", "oms-migrate", "oms-setup"} <= one_shot
    for name, service in services(compose).items():
        restart = str(service.get("restart", "no"))
        if name in one_shot:
            # `unless-stopped` or `always` would start a finished job again, for ever.
            assert restart == "no" or re.fullmatch(r"on-failure:\d+", restart), (name, restart)
        elif name in BY_HAND:
            assert restart == "no", name
        else:
            assert restart == "unless-stopped", (name, restart)
    # What `oms up` supervises, and the servers, restart on their own.
    for name in ("api", "worker", "worker-previous", "codec-server", "temporal", "postgresql"):
        assert services(compose)[name]["restart"] == "unless-stopped", name
    assert 'docs/ops.md, "When a process crashes"' in COMPOSE.read_text()


SCRIPTS = DEPLOY / "scripts"
ENV_EXAMPLE = DEPLOY / ".env.example"
#: The role whose leaf (./certs/<role>) each service that talks to Temporal mounts.
LEAF_OF = {
    "temporal": "server",
    "temporal-setup": "admin",
    "admin-tools": "admin",
    "temporal-ui": "ui",
    "oms-setup": "api",
    "api": "api",
    "restore": "api",
    "worker": "worker",
    "worker-previous": "worker",
}
TEMPORAL_CLIENTS = set(LEAF_OF) - {"temporal"}


def mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read-only) of each volume, short syntax or long."""
    found = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            found.append(
                (str(volume.get("source")), volume["target"], bool(volume.get("read_only")))
            )
            continue
        if volume.startswith("${"):  # a source with a default holds a colon of its own
            end = volume.index("}") + 1
            source, rest = volume[:end], volume[end + 1 :]
        else:
            source, _, rest = volume.partition(":")
        target, _, mode = rest.partition(":")
        found.append((source, target, "ro" in mode.split(",")))
    return found


def host_ips(service: dict[str, Any]) -> list[str | None]:
    """The host address each published port binds (None: every interface)."""
    found: list[str | None] = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            found.append(port.get("host_ip"))
            continue
        parts = str(port).rsplit(":", 2)
        found.append(parts[0] if len(parts) == 3 else None)
    return found


def strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*strings(k), *strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def interpolated(value: str) -> str | None:
    """The variable a value comes from (`${VAR}`, `${VAR:-x}`, `${VAR:?x}`), or None."""
    found = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}", value)
    return found.group(1) if found else None


def test_the_temporal_frontend_is_published_on_no_host_port(compose):
    server = services(compose)["temporal"]
    assert "ports" not in server
    assert server.get("network_mode") != "host"
    for name, service in services(compose).items():
        assert service.get("network_mode") in (None, "none"), f"{name} shares the host network"
        assert not any("7233" in str(port) for port in service.get("ports") or []), name


def test_no_service_publishes_a_port_beyond_the_loopback_interface(compose):
    published = {name: host_ips(s) for name, s in services(compose).items() if host_ips(s)}
    # The UI, the codec server (browsers call it) and the API: behind the TLS proxy.
    assert set(published) == {"temporal-ui", "codec-server", "api"}
    for name, ips in published.items():
        assert ips and all(ip == "127.0.0.1" for ip in ips), f"{name} is published on {ips}"


def test_the_server_requires_client_certificates_on_the_frontend_and_between_its_services(
    compose,
):
    env = environment(services(compose)["temporal"])
    assert env["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] == "true"
    for key in (
        "TEMPORAL_TLS_SERVER_CA_CERT",
        "TEMPORAL_TLS_SERVER_CERT",
        "TEMPORAL_TLS_SERVER_KEY",
        "TEMPORAL_TLS_FRONTEND_CERT",
        "TEMPORAL_TLS_FRONTEND_KEY",
        # Both: the server's config template lists CLIENT2 too and refuses an empty CA path.
        "TEMPORAL_TLS_CLIENT1_CA_CERT",
        "TEMPORAL_TLS_CLIENT2_CA_CERT",
    ):
        assert env.get(key, "").startswith("/etc/tls/"), key
    assert env["TEMPORAL_TLS_INTERNODE_SERVER_NAME"] == "temporal"
    assert env["TEMPORAL_TLS_FRONTEND_SERVER_NAME"] == "temporal"
    # The internal frontend trusts whoever passes internode TLS completely: client leaves
    # are signed by another CA than the one the server's services accept each other by.
    assert env["TEMPORAL_TLS_SERVER_CA_CERT"] != env["TEMPORAL_TLS_CLIENT1_CA_CERT"]


def test_every_service_that_talks_to_temporal_presents_its_own_leaf(compose):
    all_services = services(compose)
    clients = {
        name
        for name, service in all_services.items()
        if {"OMS_TEMPORAL_ADDRESS", "TEMPORAL_ADDRESS"} & set(environment(service))
    }
    assert clients == TEMPORAL_CLIENTS
    for name in clients:
        env = environment(all_services[name])
        prefix = "OMS_TEMPORAL_TLS_" if "OMS_TEMPORAL_ADDRESS" in env else "TEMPORAL_TLS_"
        for part in ("CA", "CERT", "KEY"):
            assert env.get(prefix + part, "").startswith("/etc/tls/"), f"{name}: {prefix}{part}"
        assert env[prefix + "SERVER_NAME"] == "temporal", name
        assert env.get("OMS_TEMPORAL_ADDRESS", env.get("TEMPORAL_ADDRESS")) == "temporal:7233"
    ui = environment(all_services["temporal-ui"])
    assert ui["TEMPORAL_TLS_ENABLE_HOST_VERIFICATION"] == "true"
    # The python clients read these settings (workers/client.py tls_config).
    assert {"OMS_TEMPORAL_TLS_CA", "OMS_TEMPORAL_TLS_CERT", "OMS_TEMPORAL_TLS_KEY"} <= {
        f"OMS_{field.upper()}" for field in Settings.model_fields
    }


def test_each_service_mounts_its_own_leaf_read_only_and_no_ca_key(compose):
    for name, service in services(compose).items():
        certs = [(s, t, ro) for s, t, ro in mounts(service) if s.rstrip("/").startswith("./certs")]
        if name == "certs":
            assert certs == [("./certs", "/certs", False)]
            continue
        if name not in LEAF_OF:
            assert certs == [], f"{name} needs no certificate"
            continue
        assert certs == [(f"./certs/{LEAF_OF[name]}", "/etc/tls", True)], name


def test_the_server_authorizes_every_call_from_the_callers_jwt(compose):
    env = environment(services(compose)["temporal"])
    assert env["TEMPORAL_AUTH_AUTHORIZER"] == "default"
    assert env["TEMPORAL_AUTH_CLAIM_MAPPER"] == "default"
    assert interpolated(env["TEMPORAL_JWT_KEY_SOURCE1"]) == "OIDC_JWKS_URL"
    assert env["TEMPORAL_JWT_PERMISSIONS_CLAIM"] == "permissions"
    # The system workers go through the internal frontend, which the 1.30 image starts only
    # when TEMPORAL_SERVICES names it.
    assert env["USE_INTERNAL_FRONTEND"] == "true"
    started = set(env["TEMPORAL_SERVICES"].split(","))
    assert started == {"frontend", "internal-frontend", "history", "matching", "worker"}


def test_each_temporal_client_sends_the_token_of_its_own_service_account(compose):
    all_services = services(compose)
    tokens = {
        name: environment(all_services[name]).get("OMS_TEMPORAL_API_KEY")
        or environment(all_services[name]).get("TEMPORAL_API_KEY")
        for name in TEMPORAL_CLIENTS
    }
    assert {name: interpolated(token) if token else None for name, token in tokens.items()} == {
        "api": "API_TEMPORAL_TOKEN",
        "oms-setup": "API_TEMPORAL_TOKEN",
        "restore": "API_TEMPORAL_TOKEN",
        "worker": "WORKER_TEMPORAL_TOKEN",
        "worker-previous": "WORKER_TEMPORAL_TOKEN",
        "temporal-setup": "SETUP_TEMPORAL_TOKEN",
        # People: each operator brings their own token; the UI forwards the user's.
        "admin-tools": None,
        "temporal-ui": None,
    }


def test_the_ui_signs_people_in_and_decodes_through_the_codec_server(compose):
    env = environment(services(compose)["temporal-ui"])
    assert env["TEMPORAL_AUTH_ENABLED"] == "true"
    for key, variable in {
        "TEMPORAL_AUTH_PROVIDER_URL": "OIDC_ISSUER",
        "TEMPORAL_AUTH_CLIENT_ID": "TEMPORAL_UI_OIDC_CLIENT_ID",
        "TEMPORAL_AUTH_CLIENT_SECRET": "TEMPORAL_UI_OIDC_CLIENT_SECRET",
        "TEMPORAL_CODEC_ENDPOINT": "CODEC_PUBLIC_URL",
    }.items():
        assert interpolated(env[key]) == variable, key
    assert env["TEMPORAL_AUTH_CALLBACK_URL"].endswith("/auth/sso/callback")
    assert env["TEMPORAL_AUTH_SCOPES"] == "openid,profile,email"
    assert env["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    # Decided, not defaulted: writes stay for ops, the server's authorizer refuses the rest.
    assert env["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "false"
    assert env["TEMPORAL_START_WORKFLOW_DISABLED"] == "true"
    assert (
        env["TEMPORAL_CORS_ORIGINS"] == environment(services(compose)["api"])["OMS_TEMPORAL_UI_URL"]
    )


def test_the_codec_server_checks_oidc_tokens_and_never_talks_to_temporal(compose):
    service = services(compose)["codec-server"]
    assert command_words(service) == ["oms", "codec-server"]
    env = environment(service)
    assert {key: interpolated(env[key]) for key in env if key.startswith("OMS_CODEC_OIDC_")} == {
        "OMS_CODEC_OIDC_JWKS": "OIDC_JWKS_URL",
        "OMS_CODEC_OIDC_ISSUER": "OIDC_ISSUER",
        "OMS_CODEC_OIDC_AUDIENCE": "OIDC_CODEC_AUDIENCE",
        "OMS_CODEC_OIDC_DEPARTMENT_CLAIM": None,
    }
    assert env["OMS_CODEC_OIDC_DEPARTMENT_CLAIM"] == "oms_department"
    assert env["OMS_CODEC_SERVER_HOST"] == "0.0.0.0"
    assert interpolated(env["OMS_CODEC_KEYS"]) == "OMS_CODEC_KEYS"
    assert interpolated(env["OMS_CODEC_ACTIVE_KEY"]) == "OMS_CODEC_ACTIVE_KEY"
    assert not any(key.startswith("OMS_TEMPORAL_") and key != "OMS_TEMPORAL_UI_URL" for key in env)
    port = Settings.model_fields["codec_server_port"].default
    assert service["ports"] == [f"127.0.0.1:{port}:{port}"]


def test_only_the_api_holds_the_key_that_signs_commands(compose):
    all_services = services(compose)
    signers = {n for n, s in all_services.items() if "OMS_COMMAND_SIGNING_KEY" in environment(s)}
    assert signers == {"api"}
    for name in ("worker", "worker-previous"):
        env = environment(all_services[name])
        assert interpolated(env["OMS_COMMAND_KEYS"]) == "OMS_COMMAND_KEYS", name
    verifiers = {n for n, s in all_services.items() if "OMS_COMMAND_KEYS" in environment(s)}
    assert verifiers == {"worker", "worker-previous"}


def test_each_secret_reaches_only_the_services_that_use_it(compose):
    def holders(key: str) -> set[str]:
        return {n for n, s in services(compose).items() if key in environment(s)}

    assert holders("OMS_CODEC_KEYS") == {
        "oms-setup",
        "api",
        "worker",
        "worker-previous",
        "codec-server",
    }
    assert holders("OMS_BACKUP_KEYS") == {"worker", "worker-previous", "restore"}
    assert holders("OMS_CUSTOMER_REF_KEY") == {"api", "worker", "worker-previous"}
    assert holders("TEMPORAL_AUTH_CLIENT_SECRET") == {"temporal-ui"}


def test_the_revocation_log_is_shared_by_the_api_and_restore_away_from_the_backups(compose):
    all_services = services(compose)
    logs = {
        name: environment(all_services[name]).get("OMS_REVOCATION_LOG")
        for name in ("api", "restore")
    }
    assert len(set(logs.values())) == 1
    log = Path(logs["api"] or "")
    for name in ("api", "restore"):
        volumes = {target: source for source, target, _ in mounts(all_services[name])}
        holding = [t for t in volumes if log.is_relative_to(t)]
        assert holding, f"{name}: the revocation log is on no volume"
        assert volumes[holding[0]] == "revocations", f"{name}: not the named volume"
        assert not log.is_relative_to(environment(all_services[name]).get("OMS_BACKUP_DIR", "/x"))
    assert "revocations" in compose["volumes"]
    restore = all_services["restore"]
    assert ("/backups", True) in {(t, ro) for _, t, ro in mounts(restore)}
    assert restore["profiles"] == ["restore"]
    assert environment(restore)["OMS_API_HOST"] == "api"  # it checks the API is stopped


def test_secrets_come_from_the_environment_and_the_example_holds_none(compose):
    secret = re.compile(r"(KEY|KEYS|SECRET|TOKEN|PASSWORD|PWD)$")
    for name, service in services(compose).items():
        for key, value in environment(service).items():
            # File paths (the TLS leaf) and switches (PASS_ACCESS_TOKEN) hold no secret.
            if secret.search(key) and not value.startswith("/etc/tls/") and value != "true":
                assert interpolated(value), f"{name}.{key} is written in the file"
    example = ENV_EXAMPLE.read_text()
    for variable in (
        "POSTGRES_PASSWORD",
        "TEMPORAL_UI_OIDC_CLIENT_SECRET",
        "API_TEMPORAL_TOKEN",
        "WORKER_TEMPORAL_TOKEN",
        "SETUP_TEMPORAL_TOKEN",
        "OMS_CODEC_KEYS",
        "OMS_COMMAND_SIGNING_KEY",
        "OMS_COMMAND_KEYS",
        "OMS_CUSTOMER_REF_KEY",
        "OMS_BACKUP_KEYS",
    ):
        assert re.search(rf"^{variable}=$", example, re.M), (
            f"{variable} is not an empty placeholder"
        )


def test_every_variable_the_compose_file_uses_is_in_the_env_example(compose):
    used = set()
    for value in strings(compose):
        # `$${X}` is a literal `${X}` for the container's shell, not compose's.
        used |= set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", value))
    listed = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    assert used - listed == set()
    assert {"OIDC_JWKS_URL", "OIDC_ISSUER", "API_TEMPORAL_TOKEN", "OMS_CODEC_KEYS"} <= used


def test_the_certificates_are_made_by_a_posix_script_that_keeps_keys_private(compose):
    script = SCRIPTS / "make-certs.sh"
    text = script.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert re.search(r"^set -eu$", text, re.M)
    assert re.search(r"^umask 077$", text, re.M)
    assert 'chmod 600 "$1"' in text and 'chmod 600 "$dir/tls.key"' in text
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for bashism in ("[[", "function ", "local ", "$'", "<<<", "${!", "declare ", "pipefail"):
        assert bashism not in code, f"not POSIX sh: {bashism}"
    certs = services(compose)["certs"]
    assert certs["entrypoint"] == ["/bin/sh", "/scripts/make-certs.sh", "/certs"]
    assert certs["user"] == "0:0"  # to hand each key to the uid of its container
    assert certs["network_mode"] == "none"
    for name in LEAF_OF:
        depends = services(compose)[name].get("depends_on", {})
        assert depends.get("certs", {}).get("condition") == "service_completed_successfully", name
    ignored = (DEPLOY / ".gitignore").read_text().split()
    assert "/certs/" in ignored


def test_the_setup_script_connects_with_the_admin_leaf_and_a_token():
    text = (SCRIPTS / "create-namespace.sh").read_text()
    for variable in (
        "TEMPORAL_TLS_CA",
        "TEMPORAL_TLS_CERT",
        "TEMPORAL_TLS_KEY",
        "TEMPORAL_TLS_SERVER_NAME",
        "TEMPORAL_API_KEY",
    ):
        assert f'"${{{variable}:?' in text, f"{variable} is not required"
    # The temporal CLI's newer names too, whichever version the image ships.
    for newer in ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_PATH"):
        assert f"export {newer}=" in text


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_the_certificate_script_makes_two_cas_and_private_leaves_once(tmp_path):
    out = tmp_path / "certs"
    env = {**os.environ, "CERTS_TEMPORAL_UID": str(os.getuid())}
    env |= {"CERTS_UI_UID": str(os.getuid()), "CERTS_APP_UID": str(os.getuid())}

    def run(**extra: str) -> str:
        done = subprocess.run(
            ["sh", str(SCRIPTS / "make-certs.sh"), str(out)],
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    first = run()
    assert first.count("issued ") == 5
    for role in ("server", "api", "worker", "ui", "admin"):
        folder = out / role
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, role
        assert stat.S_IMODE((folder / "tls.key").stat().st_mode) == 0o600, role
        assert (folder / "ca.pem").read_bytes() == (out / "cluster-ca" / "ca.pem").read_bytes()
    for ca in ("cluster-ca", "client-ca"):
        assert stat.S_IMODE((out / ca / "ca.key").stat().st_mode) == 0o600

    def verifies(ca: str, role: str) -> bool:
        check = ["openssl", "verify", "-CAfile", str(out / ca / "ca.pem")]
        return (
            subprocess.run([*check, str(out / role / "tls.crt")], capture_output=True).returncode
            == 0
        )

    assert verifies("cluster-ca", "server") and not verifies("client-ca", "server")
    for role in ("api", "worker", "ui", "admin"):
        assert verifies("client-ca", role) and not verifies("cluster-ca", role), role
    server = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(out / "server" / "tls.crt")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:temporal" in server
    assert "TLS Web Server Authentication" in server and "TLS Web Client Authentication" in server
    assert run().count("issued ") == 0  # only what is missing
    assert run(ROTATE="leaves").count("issued ") == 5
    # A leaked client key: a new client CA, under which the client leaves are reissued.
    old_client_ca = (out / "client-ca" / "ca.pem").read_bytes()
    rotated = run(ROTATE="clients")
    assert "issued " in rotated and f"{out / 'server'}/tls.crt" not in rotated
    assert rotated.count("issued ") == 4
    assert (out / "server" / "client-ca.pem").read_bytes() != old_client_ca
