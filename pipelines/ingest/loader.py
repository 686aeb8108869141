"""Write landed data into the warehouse's `raw` schema, one transaction per table."""

from __future__ import annotations

import datetime as dt
import uuid

import duckdb
import polars as pl
import pyarrow as pa

RAW_SCHEMA = "raw"


def replace_table(
    con: duckdb.DuckDBPyConnection, table: str, data: pa.Table | pl.DataFrame, source: str
) -> dict[str, object]:
    """Replace raw.<table> with `data` plus lineage columns, atomically.

    A failure anywhere rolls back, so readers see the previous table or the new one, never half.
    """
    arrow = data.to_arrow() if isinstance(data, pl.DataFrame) else data
    batch_id = str(uuid.uuid4())
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        con.register("incoming", arrow)
        con.execute(
            f'create or replace table {RAW_SCHEMA}."{table}" as '
            "select *, ? as _source, ? as _batch_id, ?::timestamp as _loaded_at from incoming",
            [source, batch_id, loaded_at],
        )
        con.unregister("incoming")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return {"rows": arrow.num_rows, "batch_id": batch_id, "loaded_at": loaded_at.isoformat()}
