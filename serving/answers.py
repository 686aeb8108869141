"""Answers as bytes: JSON and CSV made in the request's worker thread, not on the event loop,
so a big answer does not stall the server's other requests."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
from fastapi.responses import Response


def _plain(value: object) -> object:
    """A cell as JSON has it: dates as ISO text, decimals as numbers, NaN and ±inf as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


def json_response(body: dict, records: pa.Table | None = None) -> Response:
    """The answer as JSON bytes, made here (in the request's worker thread), not on the
    event loop: a big answer does not stall the server's other requests."""
    if records is not None:
        body["records"] = [{k: _plain(v) for k, v in row.items()} for row in records.to_pylist()]
    content = json.dumps(body, ensure_ascii=False, allow_nan=False, default=str)
    return Response(content.encode(), media_type="application/json")


def csv_response(table: pa.Table) -> Response:
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="acrm-cube.csv"'},
    )
