"""Answers as bytes: JSON and CSV made in the request's worker thread, not on the event loop,
so a big answer does not stall the server's other requests."""

from __future__ import annotations

import io
import json

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
from fastapi.responses import Response


def records_json(table: pa.Table) -> str:
    """The rows as a JSON array of objects, written by polars (natively, without holding the
    interpreter): dates as ISO text, decimals as numbers, NaN and infinities as null."""
    frame = pl.from_arrow(table)
    frame = frame.with_columns(
        pl.col(pl.Decimal).cast(pl.Float64),
        pl.col(pl.Datetime).dt.strftime("%Y-%m-%dT%H:%M:%S%.f"),
    )
    return frame.write_json()


def json_response(body: dict, records: pa.Table | None = None) -> Response:
    """The answer as JSON bytes, made here (in the request's worker thread), not on the
    event loop: a big answer does not stall the server's other requests."""
    content = json.dumps(body, ensure_ascii=False, allow_nan=False)
    if records is not None:
        content = f'{content[:-1]}, "records": {records_json(records)}}}'
    return Response(content.encode(), media_type="application/json")


def csv_response(table: pa.Table) -> Response:
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="acrm-cube.csv"'},
    )
