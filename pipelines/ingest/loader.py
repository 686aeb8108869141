"""Load landed rows into the warehouse's `raw` schema: one transaction per partition.

Every row read is accounted for: it is loaded, or it is in `raw._quarantine` with its file,
line, reason and raw content. `raw._load_audit` records each file's counts, and
read = loaded + quarantined is checked before anything commits.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import polars as pl

from core.contracts import EXTRA, LINE, RAW

RAW_SCHEMA = "raw"
AUDIT = f"{RAW_SCHEMA}._load_audit"
QUARANTINE = f"{RAW_SCHEMA}._quarantine"
BOOKKEEPING_DDL = f"""
create schema if not exists {RAW_SCHEMA};
create table if not exists {AUDIT} (
    batch_id varchar, source varchar, partition_key varchar, file varchar,
    rows_read bigint, rows_loaded bigint, rows_quarantined bigint,
    status varchar, message varchar, started_at timestamp, finished_at timestamp,
    rows_unchanged bigint  -- CRM versions read again that were already landed
);
create table if not exists {QUARANTINE} (
    batch_id varchar, source varchar, partition_key varchar, file varchar,
    line_number bigint, reason varchar, raw_content varchar, quarantined_at timestamp
);
-- a file stream's rows (streams.py) and what a load attempt was about: a day or a file
alter table {QUARANTINE} add column if not exists stream varchar;
alter table {AUDIT} add column if not exists unit varchar;
-- a daily file's size and modification time when it landed: an unchanged day is skipped
alter table {AUDIT} add column if not exists file_bytes bigint;
alter table {AUDIT} add column if not exists file_mtime_ns bigint;
"""
FAULT_ENV = "ACRM_FAULT_INJECT"  # tests: "<point>:<table>" kills the process at that point


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list:
    """Execute and consume the result: DuckDB 2 refuses new work while one is pending."""
    return con.execute(sql, params or []).fetchall()


def fault_point(point: str, table: str) -> None:
    """Die like a crashed machine (SIGKILL) at a named point: the crash tests' hook."""
    if os.environ.get(FAULT_ENV) == f"{point}:{table}":
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, source: str) -> Iterator[None]:
    """All or nothing; the crash tests' `before_commit` point is just before the commit."""
    run_sql(con, "begin transaction")
    try:
        yield
        fault_point("before_commit", source)
        run_sql(con, "commit")
    except BaseException:
        run_sql(con, "rollback")
        raise


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[None]:
    """`frame` visible to SQL as `name` for the block."""
    con.register(name, frame.to_arrow())
    try:
        yield
    finally:
        con.unregister(name)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class PartitionReport:
    source: str
    partition: str
    status: str  # loaded | failed | no_files
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str = ""
    drift: list[str] = field(default_factory=list)
    transient: bool = False  # worth retrying: the source did not answer


def ensure_bookkeeping(con: duckdb.DuckDBPyConnection) -> None:
    run_sql(con, BOOKKEEPING_DDL)


def audit(
    con,
    batch_id,
    source,
    partition,
    file,
    read,
    loaded,
    quarantined,
    status,
    message,
    started,
    unchanged=0,
) -> None:
    run_sql(
        con,
        f"insert into {AUDIT} (batch_id, source, partition_key, file, rows_read, rows_loaded, "
        "rows_quarantined, status, message, started_at, finished_at, rows_unchanged, unit) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch_id,
            source,
            partition,
            file,
            read,
            loaded,
            quarantined,
            status,
            message,
            started,
            now_utc(),
            unchanged,
            partition,  # a day, or the CRM's table ("full")
        ],
    )


AUDIT_COLUMNS = (
    "batch_id",
    "source",
    "partition_key",
    "file",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "status",
    "message",
    "started_at",
    "finished_at",
    "unit",
)


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Rows into a table by column name, in one statement."""
    if frame.height:
        con.register("__rows", frame.to_arrow())
        try:
            run_sql(con, f"insert into {table} by name select * from __rows")
        finally:
            con.unregister("__rows")


def insert_audit(
    con: duckdb.DuckDBPyConnection, rows: list[tuple], columns: tuple = AUDIT_COLUMNS
) -> None:
    """Audit rows, tuples in `columns`' order, in one statement."""
    types = {
        "rows_read": pl.Int64,
        "rows_loaded": pl.Int64,
        "rows_quarantined": pl.Int64,
        "started_at": pl.Datetime("us"),
        "finished_at": pl.Datetime("us"),
        "file_bytes": pl.Int64,
        "file_mtime_ns": pl.Int64,
    }
    frame = pl.DataFrame(rows, schema={c: types.get(c, pl.String) for c in columns}, orient="row")
    insert_frame(con, AUDIT, frame)


def fold_extras(rows: pl.DataFrame, extras: list[str]) -> pl.DataFrame:
    """Columns the contract does not know, kept as one JSON column (schema drift)."""
    if EXTRA in rows.columns:
        return rows
    if not extras:
        return rows.with_columns(pl.lit(None, pl.String).alias(EXTRA))
    return rows.with_columns(pl.struct(extras).struct.json_encode().alias(EXTRA)).drop(extras)


def write_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Create the table on first load; add columns that a later load brings."""
    con.register("incoming", frame.to_arrow())
    run_sql(con, f"create table if not exists {table} as select * from incoming where false")
    existing = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and "
            "table_name = ?",
            table.split("."),
        ).fetchall()
    }
    for name, dtype in zip(frame.columns, con.sql("select * from incoming").types, strict=True):
        if name not in existing:
            run_sql(con, f'alter table {table} add column "{name}" {dtype}')


LINEAGE_TYPES = {
    "_line_number": pl.Int64,
    "_extra": pl.String,
    "_source_file": pl.String,
    "_partition": pl.Date,
    "_batch_id": pl.String,
    "_loaded_at": pl.Datetime("us"),
}


def ensure_raw_table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    contract,
    after=lambda frame: frame,
    columns: dict | None = None,
) -> None:
    """The raw table with every column its contract gives (through the source's own step
    after the contract), even before any file came: a company without this source gets
    empty staging and marts, not an error."""
    text = {c.name: pl.String for c in contract.columns} | {LINE: pl.Int64, RAW: pl.String}
    empty, _ = contract.split(pl.DataFrame(schema=text))
    empty = after(empty)
    lineage = {k: v for k, v in (LINEAGE_TYPES | (columns or {})).items() if k not in empty.columns}
    empty = empty.with_columns(pl.lit(None, dtype).alias(col) for col, dtype in lineage.items())
    write_table(con, f"{RAW_SCHEMA}.{name}", empty)
    con.unregister("incoming")
