"""The API's OpenAPI document, made to tell the truth (issue 17).

FastAPI writes what each route declares. What an operation can answer because of what it
is, this module adds to every operation, new ones included, when the document is made:

- 401 and 403 where a staff token is needed (`api/roles.py`: every rule but the public
  ones), which `api/deps.py`'s `authorize` answers before the route runs;
- 422 with the body `api/errors.py` really sends (`ErrorBody`: `detail`, `field`,
  `errors`), in place of FastAPI's `HTTPValidationError`: for an invalid parameter or body,
  and on every operation for a query parameter it does not declare (`api/deps.py`);
- 400 (a body that is not readable JSON) and 413 (over `OMS_MAX_BODY_BYTES`) where there
  is a body; 404 where the path names something;
- 429 (rate limits, with Retry-After) and 503 (database or Temporal unavailable)
  everywhere.

All of them carry `ErrorBody`. What only a route knows (409 refusals, a 404 for something
the body names) it declares itself with `responses=` (api/routes/__init__.py); a status a
route declares is kept as it is, and one declared with a description alone gets the error
body too.

Public operations (`/healthz`, `/metrics`, the carriers' signed callbacks) say so with
`security: []` and a note; `/metrics` asks for its own bearer token (`MetricsToken`) when
`OMS_METRICS_TOKEN` is set. `tests/contract/` runs schemathesis with all its checks
against this document, and checks these rules on every operation.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

from api.roles import rule_for
from api.schemas import ErrorBody

ERROR_BODY = "ErrorBody"
ERROR_REF = f"#/components/schemas/{ERROR_BODY}"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
#: FastAPI's own 422 body, which this API never sends (api/errors.py sends ErrorBody).
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
METRICS_SCHEME = "MetricsToken"

RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 1},
}

#: The error answers this module adds, and when (see the module's docstring).
DESCRIPTIONS: dict[str, str] = {
    "400": "The body could not be read (it is not UTF-8 JSON)",
    "401": "No bearer token, or one that is unknown, expired or revoked",
    "403": "This token's department may not do this (docs/roles.md)",
    "404": "What the path names does not exist (or is not this department's to see)",
    "413": "The body is over the size limit (OMS_MAX_BODY_BYTES)",
    "422": "A parameter or the body is not valid, or a query parameter is not one of this "
    "operation's: `field` names it, `errors` lists them all",
    "429": "Too many requests for this token (or, without one, this address); see Retry-After",
    "503": "The database or the order service is unavailable: nothing was done; try again",
}


def error_response(status: str, description: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status, "Not done"),
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if status == "429":
        response["headers"] = {"Retry-After": {**RETRY_AFTER, "required": True}}
    elif status == "503":
        response["headers"] = {"Retry-After": RETRY_AFTER}
    return response


def expected_errors(path: str, operation: dict[str, Any], public: bool) -> list[str]:
    """The error statuses an operation can answer because of what it is."""
    statuses = ["422", "429", "503"]  # 422: a query parameter it does not declare, too
    if not public:
        statuses += ["401", "403"]
    if "requestBody" in operation:
        statuses += ["400", "413"]
    if "{" in path:
        statuses.append("404")
    return sorted(statuses)


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == f"#/components/schemas/{FASTAPI_VALIDATION[0]}")


def _hoist_defs(node: Any, schemas: dict[str, Any]) -> None:
    """Schemas written with a model's own `$defs` (a route's `openapi_extra`) point at
    `#/$defs/...`, which nothing resolves inside a document: their definitions move to
    `components/schemas` and the references follow."""
    if isinstance(node, dict):
        defs = node.pop("$defs", None)
        if defs:
            for name, definition in defs.items():
                _hoist_defs(definition, schemas)
                known = schemas.setdefault(name, definition)
                if known != definition:
                    raise ValueError(f"two different schemas are both called {name}")
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
        for value in node.values():
            _hoist_defs(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist_defs(value, schemas)


def _refers_to(node: Any, name: str) -> bool:
    ref = f"#/components/schemas/{name}"
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_refers_to(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_refers_to(v, name) for v in node)
    return False


def truthful(document: dict[str, Any], *, metrics_token: bool) -> dict[str, Any]:
    """The document FastAPI made, with every operation's error answers and security."""
    document = copy.deepcopy(document)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    if ERROR_BODY not in schemas:  # no route named it in its own `responses=`
        error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        _hoist_defs(error_schema, schemas)
        schemas[ERROR_BODY] = error_schema
    schemes = components.setdefault("securitySchemes", {})
    if metrics_token:
        schemes[METRICS_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "the metrics token (OMS_METRICS_TOKEN), for Prometheus",
        }

    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            rule = rule_for(method, path)
            public = rule is not None and rule.public
            responses = operation.setdefault("responses", {})
            if public:
                note = f"No staff token: public on purpose ({rule.why})." if rule else ""
                if path == "/metrics" and metrics_token:
                    operation["security"] = [{METRICS_SCHEME: []}]
                    responses.setdefault("401", error_response("401", "No or wrong metrics token"))
                else:
                    operation["security"] = []
                described = operation.get("description", "")
                operation["description"] = f"{described}\n\n{note}".strip()
            for status in expected_errors(path, operation, public):
                known = responses.get(status)
                if known is None or (status == "422" and _is_fastapi_validation(known)):
                    responses[status] = error_response(status)
            for status, response in responses.items():
                # A route's own error answer named by its description alone has the error body.
                if status.startswith(("4", "5")) and "content" not in response:
                    response.update(error_response(status, response.get("description")))
    _hoist_defs(document.get("paths", {}), schemas)
    for name in FASTAPI_VALIDATION:  # HTTPValidationError first: it uses ValidationError
        if name in schemas and not _refers_to(document, name):
            del schemas[name]
    return document


def install(app: FastAPI) -> None:
    """Serve the truthful document at /openapi.json (made once, on first request)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            made = generate()  # FastAPI's, which it also keeps in app.openapi_schema
            token = bool(getattr(app.state, "metrics_token", ""))
            app.openapi_schema = truthful(made, metrics_token=token)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
