"""Load landed rows into the warehouse's `raw` schema: one transaction per partition.

Every row read is accounted for: it is loaded, or it is in `raw._quarantine` with its file,
line, reason and raw content. `raw._load_audit` records each file's counts, and
read = loaded + quarantined is checked before anything commits.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from pipelines.ingest.contracts import EXTRA, FILE, LINE, RAW, REASON, ContractError
from pipelines.ingest.files import SourceError

if TYPE_CHECKING:  # sources.py builds on this module
    from pipelines.ingest.sources import FileSource

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
"""
FAULT_ENV = "ACRM_FAULT_INJECT"  # tests: "<point>:<table>" kills the process at that point


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list:
    """Execute and consume the result: DuckDB 2 refuses new work while one is pending."""
    return con.execute(sql, params or []).fetchall()


def fault_point(point: str, table: str) -> None:
    """Die like a crashed machine (SIGKILL) at a named point: the crash tests' hook."""
    if os.environ.get(FAULT_ENV) == f"{point}:{table}":
        os.kill(os.getpid(), signal.SIGKILL)


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


def load_file_partition(
    con: duckdb.DuckDBPyConnection, source: FileSource, partition: str, paths: list, batch_id: str
) -> PartitionReport:
    started = now_utc()
    table = f"{RAW_SCHEMA}.{source.name}"
    if not paths:
        audit(
            con,
            batch_id,
            source.name,
            partition,
            None,
            0,
            0,
            0,
            "no_files",
            "no file for this day (yet)",
            started,
        )
        return PartitionReport(source.name, partition, "no_files")
    contract = source.contract()
    batches, drift = [], set()
    try:
        for path in paths:
            batch = source.read(path)
            if batch.rows_read:
                present = [c for c in batch.rows.columns if c not in (LINE, RAW)]
                missing = [c for c in source.required_columns if c not in present]
                if missing:
                    raise ContractError(
                        f"{path}: required column(s) {', '.join(missing)} missing; found "
                        f"{', '.join(present)}. Fix the export, or the contract of "
                        f"{source.name} in pipelines/ingest/sources.py"
                    )
                unexpected = [c for c in present if c not in source.known_columns]
                drift.update(unexpected)
                rows = fold_extras(source.prepare(batch.rows), unexpected)
                batch.rows = rows.with_columns(pl.lit(path.name).alias(FILE))
            batches.append(batch)
    except (SourceError, ContractError, OSError) as exc:
        audit(con, batch_id, source.name, partition, None, 0, 0, 0, "failed", str(exc), started)
        return PartitionReport(source.name, partition, "failed", message=str(exc))

    # one contract pass over the day's files (duplicates are judged across them too)
    frames = [b.rows for b in batches if b.rows_read]
    rows = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    valid, rejected = contract.split(rows) if rows.height else (rows, rows)
    rejected_frames = (
        [rejected.select(LINE, RAW, REASON, pl.col(FILE).alias("file"))] if rejected.height else []
    )
    rejected_frames += [
        b.rejects.with_columns(pl.lit(b.file.name).alias("file"))
        for b in batches
        if b.rejects.height
    ]
    loaded_by_file = dict(valid.group_by(FILE).len().iter_rows()) if valid.height else {}
    rejected_by_file = {}
    for frame in rejected_frames:
        for name, count in frame.group_by("file").len().iter_rows():
            rejected_by_file[name] = rejected_by_file.get(name, 0) + count
    per_file = []
    for b in batches:
        loaded, quarantined = (
            loaded_by_file.get(b.file.name, 0),
            rejected_by_file.get(b.file.name, 0),
        )
        if b.rows_read != loaded + quarantined:
            raise RuntimeError(  # a bug in landing, never in the data: stop loudly
                f"{b.file}: {b.rows_read} rows read but {loaded} loaded and {quarantined} "
                "quarantined"
            )
        per_file.append((b.file.name, b.rows_read, loaded, quarantined))
    lineage = [
        pl.col(FILE).alias("_source_file"),
        pl.lit(dt.date.fromisoformat(partition)).alias("_partition"),
        pl.lit(batch_id).alias("_batch_id"),
        pl.lit(started).alias("_loaded_at"),
    ]
    loaded_frames = [valid.with_columns(lineage).drop(FILE)] if valid.height else []
    if not rejected_frames:
        rejected_frames = [
            pl.DataFrame(
                schema={LINE: pl.Int64, RAW: pl.String, REASON: pl.String, "file": pl.String}
            )
        ]

    quarantined = pl.concat(rejected_frames).select(
        pl.lit(batch_id).alias("batch_id"),
        pl.lit(source.name).alias("source"),
        pl.lit(partition).alias("partition_key"),
        "file",
        pl.col(LINE).alias("line_number"),
        pl.col(REASON).alias("reason"),
        pl.col(RAW).alias("raw_content"),
        pl.lit(started).alias("quarantined_at"),
    )
    run_sql(con, "begin transaction")
    try:
        if loaded_frames:
            frame = pl.concat(loaded_frames, how="diagonal_relaxed")
            write_table(con, table, frame)
        exists = con.execute(
            "select count(*) from information_schema.tables where "
            "table_schema = ? and table_name = ?",
            [RAW_SCHEMA, source.name],
        ).fetchall()[0][0]
        if exists:
            run_sql(con, f"delete from {table} where _partition = ?", [partition])
        fault_point("after_delete", source.name)
        if loaded_frames:
            run_sql(con, f"insert into {table} by name select * from incoming")
            con.unregister("incoming")
        run_sql(
            con,
            f"delete from {QUARANTINE} where source = ? and partition_key = ?",
            [source.name, partition],
        )
        if quarantined.height:
            con.register("rejected_rows", quarantined.to_arrow())
            run_sql(con, f"insert into {QUARANTINE} by name select * from rejected_rows")
            con.unregister("rejected_rows")
        note = source.audit_note(con, valid, partition) if valid.height else ""
        for file, read, loaded, rejected_count in per_file:
            audit(
                con,
                batch_id,
                source.name,
                partition,
                file,
                read,
                loaded,
                rejected_count,
                "loaded",
                note,
                started,
            )
        fault_point("before_commit", source.name)
        run_sql(con, "commit")
    except BaseException:
        run_sql(con, "rollback")
        raise
    return PartitionReport(
        source.name,
        partition,
        "loaded",
        rows_read=sum(f[1] for f in per_file),
        rows_loaded=sum(f[2] for f in per_file),
        rows_quarantined=sum(f[3] for f in per_file),
        message=note,
        drift=sorted(drift),
    )


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
    before=lambda frame: frame,
    after=lambda frame: frame,
    columns: dict | None = None,
) -> None:
    """The raw table with every column its contract gives (through the source's own steps
    before and after the contract), even before any file came: a company without this
    source gets empty staging and marts, not an error."""
    text = {c.name: pl.String for c in contract.columns} | {LINE: pl.Int64, RAW: pl.String}
    empty, _ = contract.split(before(pl.DataFrame(schema=text)))
    empty = after(empty)
    lineage = {k: v for k, v in (LINEAGE_TYPES | (columns or {})).items() if k not in empty.columns}
    empty = empty.with_columns(pl.lit(None, dtype).alias(col) for col, dtype in lineage.items())
    write_table(con, f"{RAW_SCHEMA}.{name}", empty)
    con.unregister("incoming")
