"""One module of routes per resource.

What a route can answer besides success is declared in the OpenAPI document (issue 17),
mostly without the route saying anything: `api/openapi.py` adds to every operation the
error answers that follow from what it is (401 and 403 where a token is needed, 400 and 413
where there is a body, 404 where the path names something, 422, 429 and 503 everywhere), all
with the one error body, `ErrorBody`.

What only the route knows, it declares with these, e.g.
`@router.post(..., responses=CONFLICT)` when it can refuse (409), or on the router:
`APIRouter(..., responses=CONFLICT)`.
"""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorBody


def error(description: str) -> dict[str, Any]:
    """An error answer's entry in `responses=`: the description, with the error body."""
    return {"model": ErrorBody, "description": description}


#: The action can be refused for where the order (or the case, the task) stands.
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: error(
        "Refused for where it stands now: `status` says where, `refusal` and "
        "`refusal_params` why; nothing was changed"
    )
}
#: Something the request names (not in the path) does not exist.
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: error("Something the request names does not exist")
}


def replayed(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    """A creation (201) sent again with the same body: 200 with the same answer, nothing
    done twice (another body under the same id is a 409)."""
    return {200: {"model": model, "description": "The same request again: nothing done twice"}}
