"""Daily files (GA4: a file a day) landed in bulk: many days per statement and transaction.

The days of a batch are read in one DuckDB scan (lines.py), flattened in SQL, and checked
by the source's contract in one vectorised pass; the batch's days then replace their old
rows, quarantine and audit in one transaction. What is kept per file and day is what a
day-at-a-time landing kept: read = loaded + quarantined for every file, each rejected
line with its number, reason and text, and a day that cannot be read keeps its last
state (a required field missing from a file fails its day alone).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import polars as pl

from core.contracts import EXTRA, FILE, LINE, RAW, REASON
from pipelines.ingest import lake as lake_files
from pipelines.ingest.lines import load_lines
from pipelines.ingest.loader import (
    AUDIT,
    AUDIT_COLUMNS,
    QUARANTINE,
    RAW_SCHEMA,
    PartitionReport,
    audit,
    fault_point,
    insert_audit,
    now_utc,
    run_sql,
    transaction,
    write_table,
)

BATCH_BYTES = 16 * 2**20  # files on disk per batch: GA4 gzips ~10:1, ~160 MB of events
DAY = "__day"
DIGEST = "__line_md5"
LINES = "__lines"
FLAT = "__flat"


def unchanged_days(con, source, days: dict[str, list[Path]]) -> set[str]:
    """Days whose files are the ones their last good landing read (same names, sizes and
    modification times): landing them again would change nothing."""
    rows = con.execute(
        f"with attempts as (select partition_key, batch_id, status, row_number() over "
        f"(partition by partition_key order by finished_at desc) as attempt from {AUDIT} "
        "where source = $source), latest as (select * from attempts where attempt = 1 and "
        "status = 'loaded') "
        f"select a.partition_key, a.file, a.file_bytes, a.file_mtime_ns from {AUDIT} a "
        "join latest l using (partition_key, batch_id) where a.source = $source",
        {"source": source.name},
    ).fetchall()
    landed: dict[str, set] = {}
    for day, file, size, mtime in rows:
        landed.setdefault(day, set()).add((file, size, mtime))
    return {
        day
        for day, paths in days.items()
        if landed.get(day) == {(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in paths}
    }


def batches(days: dict[str, list[Path]], limit: int = BATCH_BYTES) -> Iterator[dict]:
    """The days in order, grouped so that a group's files add up to at most `limit` bytes
    (a bigger day is a group of its own)."""
    group, size = {}, 0
    for day in sorted(days):
        day_size = sum(p.stat().st_size for p in days[day])
        if group and size + day_size > limit:
            yield group
            group, size = {}, 0
        group[day], size = days[day], size + day_size
    if group:
        yield group


def land_days(
    con: duckdb.DuckDBPyConnection,
    source,
    days: dict[str, list[Path]],
    batch_id: str,
    progress: Callable[[int, int], None] = lambda rows, days: None,
    lake: Path | None = None,
) -> list[PartitionReport]:
    """Land the days that have files, in the warehouse and in the `lake` (lake.py) if
    given; `progress(rows, days)` after each batch."""
    reports = []
    for group in batches({d: p for d, p in days.items() if p}):
        done = land_batch(con, source, group, batch_id, lake)
        reports += done
        progress(sum(r.rows_read for r in done), len(group))
    return reports


def land_batch(con, source, days: dict, batch_id: str, lake: Path | None) -> list[PartitionReport]:
    started = now_utc()
    day_of = {p.name: day for day, paths in days.items() for p in paths}
    unreadable = load_lines(con, LINES, [p for paths in days.values() for p in paths])
    run_sql(con, f"create or replace temp table {FLAT} as {source.flatten_sql(LINES)}")
    run_sql(con, f"drop table {LINES}")  # FLAT keeps each line's text
    broken = unreadable | {  # file -> why it fails its day (the message names the file)
        file: f"{file}: required field(s) {', '.join(missing)} missing from every line. Fix "
        f"the export, or the contract of {source.name} in pipelines/ingest/sources.py"
        for file, missing in _files_missing_fields(con, source).items()
    }
    failed_days = sorted({day_of[f] for f in broken})
    reports = [
        _fail_day(con, batch_id, source, day, broken, day_of, started) for day in failed_days
    ]
    good = [d for d in days if d not in failed_days]
    if good:
        good_paths = {d: days[d] for d in good}
        reports += _land_good_days(con, source, good_paths, day_of, batch_id, started)
        if lake is not None:
            _write_lake(con, source, lake, good)
    run_sql(con, f"drop table if exists {LINES}; drop table if exists {FLAT}")
    return reports


def _files_missing_fields(con, source) -> dict[str, list[str]]:
    """Files with lines in which no line has one of the source's required fields."""
    counts = ", ".join(f"count({c}) as {c}" for c in source.required_columns)
    rows = con.execute(
        f"select {FILE}, {counts} from {FLAT} where __parse_error is null group by 1"
    ).fetchall()
    return {
        file: [c for c, n in zip(source.required_columns, found, strict=True) if not n]
        for file, *found in rows
        if not all(found)
    }


def _fail_day(con, batch_id, source, day, broken, day_of, started) -> PartitionReport:
    message = "; ".join(why for file, why in sorted(broken.items()) if day_of[file] == day)
    audit(con, batch_id, source.name, day, None, 0, 0, 0, "failed", message, started)
    return PartitionReport(source.name, day, "failed", message=message)


def _read_frame(con, days: list[str], day_of: dict[str, str]) -> pl.DataFrame:
    files = [f for f, d in day_of.items() if d in days]
    frame = con.sql(  # the lines' text stays in DuckDB: a digest finds an identical line
        f"select * exclude (__drift, {RAW}), md5({RAW}) as {DIGEST} from {FLAT} "
        f"where {FILE} in ? order by {FILE}, {LINE}",
        params=[files],
    ).pl()
    return frame.with_columns(
        pl.col(FILE).replace_strict(day_of, return_dtype=pl.String).str.to_date().alias(DAY)
    )


def _split(source, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid typed rows, rejected lines with reasons): the contract over the whole batch,
    an identical line twice judged within its day."""
    contract = source.contract()
    key = tuple(DIGEST if k == RAW else k for k in contract.unique_key)
    contract = dataclasses.replace(contract, unique_key=(*key, DAY))
    objects = frame.filter(pl.col("__parse_error").is_null()).drop("__parse_error")
    valid, rejected = contract.split(objects)
    unparsed = frame.filter(pl.col("__parse_error").is_not_null()).select(
        LINE, FILE, pl.col("__parse_error").alias(REASON)
    )
    return valid.drop(DIGEST), pl.concat([rejected.select(LINE, FILE, REASON), unparsed])


def _counts(frame: pl.DataFrame, name: str) -> dict[str, int]:
    return dict(frame.group_by(FILE).len(name).iter_rows()) if frame.height else {}


def _land_good_days(con, source, day_paths, day_of, batch_id, started) -> list[PartitionReport]:
    days = list(day_paths)
    drift = sorted(
        r[0] for r in con.execute(f"select distinct unnest(__drift) from {FLAT}").fetchall()
    )
    frame = _read_frame(con, days, day_of)
    valid, rejected = _split(source, frame)
    read, loaded, quarantined = (
        _counts(frame, "n"),
        _counts(valid, "n"),
        _counts(rejected, "n"),
    )
    for file, n in read.items():
        if n != loaded.get(file, 0) + quarantined.get(file, 0):
            raise RuntimeError(  # a bug in landing, never in the data: stop loudly
                f"{file}: {n} rows read but {loaded.get(file, 0)} loaded and "
                f"{quarantined.get(file, 0)} quarantined"
            )
    counts = {"read": read, "loaded": loaded, "quarantined": quarantined}
    notes = _commit(con, source, day_paths, day_of, valid, rejected, batch_id, started, counts)
    return [
        PartitionReport(
            source.name,
            day,
            "loaded",
            rows_read=sum(n for f, n in read.items() if day_of[f] == day),
            rows_loaded=sum(n for f, n in loaded.items() if day_of[f] == day),
            rows_quarantined=sum(n for f, n in quarantined.items() if day_of[f] == day),
            message=notes.get(day, ""),
            drift=drift,
        )
        for day in days
    ]


def _write_lake(con, source, lake: Path, days: list[str]) -> None:
    """The days' landed rows with each event as exported (`_extra`, kept only here)."""
    columns = [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and "
            "table_name = ? and column_name <> ? order by ordinal_position",
            [RAW_SCHEMA, source.name, EXTRA],
        ).fetchall()
    ]
    relation = (
        f"select {', '.join(f'r.{c}' for c in columns)}, f.{RAW} as {EXTRA} "
        f"from {RAW_SCHEMA}.{source.name} r "
        f"join {FLAT} f on f.{FILE} = r._source_file and f.{LINE} = r.{LINE} "
        f"where r._partition::varchar in ({', '.join(repr(d) for d in days)})"
    )
    lake_files.write_days(con, lake, source.name, relation, days)


def _quarantine_rows(source, rejected, day_of, batch_id, started) -> pl.DataFrame:
    return rejected.select(
        pl.lit(batch_id).alias("batch_id"),
        pl.lit(source.name).alias("source"),
        pl.col(FILE).replace_strict(day_of, return_dtype=pl.String).alias("partition_key"),
        pl.col(FILE).alias("file"),
        pl.col(LINE).alias("line_number"),
        pl.col(REASON).alias("reason"),
        pl.lit(started).alias("quarantined_at"),
    )


def _commit(con, source, day_paths, day_of, valid, rejected, batch_id, started, counts):
    """Replace the days' rows and quarantine, audit every file with its `counts` (read,
    loaded, quarantined): all or nothing. Returns the source's audit note per day."""
    table = f"{RAW_SCHEMA}.{source.name}"
    days = list(day_paths)
    rows = valid.rename({FILE: "_source_file", DAY: "_partition"}).with_columns(
        pl.lit(batch_id).alias("_batch_id"), pl.lit(started).alias("_loaded_at")
    )
    read, loaded, quarantined = counts["read"], counts["loaded"], counts["quarantined"]
    with transaction(con, source.name):
        write_table(con, table, rows)
        run_sql(con, f"delete from {table} where _partition::varchar in ?", [days])
        fault_point("after_delete", source.name)
        run_sql(con, f"insert into {table} by name select * from incoming")
        con.unregister("incoming")
        run_sql(
            con,
            f"delete from {QUARANTINE} where source = ? and partition_key in ?",
            [source.name, days],
        )
        con.register(
            "rejected_rows",
            _quarantine_rows(source, rejected, day_of, batch_id, started).to_arrow(),
        )
        run_sql(
            con,
            f"insert into {QUARANTINE} by name select r.*, f.{RAW} as raw_content "
            f"from rejected_rows r join {FLAT} f on f.{FILE} = r.file and f.{LINE} = "
            "r.line_number",
        )
        con.unregister("rejected_rows")
        notes = source.audit_notes(con, days)
        stats = {p.name: p.stat() for paths in day_paths.values() for p in paths}
        insert_audit(
            con,
            [
                (
                    batch_id,
                    source.name,
                    day,
                    file,
                    read.get(file, 0),
                    loaded.get(file, 0),
                    quarantined.get(file, 0),
                    "loaded",
                    notes.get(day, ""),
                    started,
                    now_utc(),
                    day,
                    stats[file].st_size,
                    stats[file].st_mtime_ns,
                )
                for file, day in sorted(day_of.items())
                if day in days
            ],
            (*AUDIT_COLUMNS, "file_bytes", "file_mtime_ns"),
        )
    return notes


def ensure_table(con: duckdb.DuckDBPyConnection, source) -> None:
    """The raw table with every column the source lands, before any file came: a company
    without this source gets empty staging and marts, not an error."""
    run_sql(
        con,
        f"create or replace temp table {LINES} ({FILE} varchar, {LINE} bigint, {RAW} varchar)",
    )
    frame = con.sql(
        f"select * exclude (__drift, __parse_error) from ({source.flatten_sql(LINES)})"
    ).pl()
    valid, _ = source.contract().split(frame.with_columns(pl.lit(None, pl.Date).alias(DAY)))
    rows = valid.rename({FILE: "_source_file", DAY: "_partition"}).with_columns(
        pl.lit(None, pl.String).alias("_batch_id"),
        pl.lit(None, pl.Datetime("us")).alias("_loaded_at"),
    )
    write_table(con, f"{RAW_SCHEMA}.{source.name}", rows)
    con.unregister("incoming")
    run_sql(con, f"drop table {LINES}")
