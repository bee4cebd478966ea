"""Reports as JSON or CSV (`?format=csv`): the same rows, the same columns, in both."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse, Response

from domain.reports import GroupBy, ReportFormat, ReportWindow


def table_response(
    name: str,
    window: ReportWindow,
    group_by: GroupBy,
    columns: Sequence[str],
    rows: list[dict[str, Any]],
    fmt: ReportFormat,
    extra: dict[str, Any] | None = None,
) -> Response:
    """JSON `{"report", "from", "to", "group_by", "columns", "rows", ...}`, or the rows as CSV."""
    if fmt is ReportFormat.CSV:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        filename = f"{name}-{window.first_day}-{window.last_day}.csv"
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    body = {
        "report": name,
        "from": window.first_day.isoformat(),
        "to": window.last_day.isoformat(),
        "group_by": group_by.value,
        "utc_offset_hours": window.utc_offset_hours,
        "columns": list(columns),
        "rows": rows,
        **(extra or {}),
    }
    return JSONResponse(body)
