"""The layout keeps its shape (architecture.md, "Layout"): imports point one way, the
workflows stay thin, and the sandbox passes nothing through but the pure domain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from workers.worker import PASSTHROUGH

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "workflows", "activities", "workers", "api", "db", "oms", "audit", "bench")
PACKAGES += ("config",)


def imported(package: str) -> dict[str, set[str]]:
    """Each module of the package, with the top-level names it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "may_import"),
    [
        ("domain", {"domain"}),
        ("workflows", {"domain", "workflows"}),
        # config (settings and keys) imports only domain: the read model finds its backup
        # keys and revocation log there, the activities their settings.
        ("db", {"domain", "db", "config"}),
        ("activities", {"domain", "db", "activities", "config"}),
        ("config", {"domain", "config"}),
    ],
)
def test_imports_point_one_way(package: str, may_import: set[str]):
    wrong = {
        module: sorted(names & set(PACKAGES) - may_import)
        for module, names in imported(package).items()
        if names & set(PACKAGES) - may_import
    }
    assert wrong == {}


def test_no_workflow_or_domain_module_imports_the_database_or_an_activity():
    for package in ("domain", "workflows"):
        for module, names in imported(package).items():
            assert not names & {"db", "sqlalchemy", "activities", "psycopg2"}, module


def test_nothing_but_the_app_and_the_cli_imports_the_api():
    importers = {
        module
        for package in PACKAGES
        if package not in ("api", "oms")
        for module, names in imported(package).items()
        if "api" in names
    }
    assert importers == set()


def test_the_sandbox_passes_through_only_pure_modules():
    # cryptography: its Rust core must not be initialised a second time in a sandbox (it
    # checks command signatures, deterministically: workers/worker.py). opentelemetry: the
    # tracing interceptor's workflow side and the worker share one context and one tracer
    # (as Temporal's own OpenTelemetry plugin passes it through; workers/tracing.py).
    assert set(PASSTHROUGH) == {
        "domain",
        "pydantic",
        "pydantic_core",
        "cryptography",
        "opentelemetry",
    }


def test_the_order_workflow_stays_a_thin_shell():
    source = (ROOT / "workflows" / "order.py").read_text()
    assert len(source.splitlines()) <= 500
    long = [
        f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in (ROOT / "workflows").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 40
    ]
    assert long == []
