"""The raw layer as Hive-partitioned Parquet, readable by any engine without ACRM.

`<lake>/raw/<table>/day=<day>/data.parquet` for the file sources (a folder a day: the
warehouse's `_partition`; pyarrow and others skip folders that start with `_`),
`<lake>/raw/<table>/data.parquet` for the others (the CRM's tables, the audit and the
quarantine). Every file is written beside its place and renamed into it, so a reader
sees a partition's old file or its new one, never a part. The warehouse commits first:
a crash between the two leaves the lake's previous file, whole, until that day lands
again.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

PARTITION = "day"
FILE_NAME = "data.parquet"
OPTIONS = "format parquet, compression zstd"


def table_folder(lake: Path, table: str) -> Path:
    return lake / "raw" / table


def _replace(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)  # atomic on one file system: the staging is beside it


def write_days(
    con: duckdb.DuckDBPyConnection, lake: Path, table: str, relation: str, days: list[str]
) -> None:
    """The rows of `relation` (which has `_partition`) as one file per day; a day of
    `days` without rows loses its file (its files were withdrawn)."""
    relation = f"select * exclude (_partition), _partition as {PARTITION} from ({relation})"
    folder = table_folder(lake, table)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=folder) as staging:
        con.execute(
            f"copy ({relation}) to '{staging}' "
            f"({OPTIONS}, partition_by ({PARTITION}), filename_pattern 'part_{{i}}')"
        ).fetchall()
        for day in days:
            written = sorted(Path(staging, f"{PARTITION}={day}").glob("*.parquet"))
            target = folder / f"{PARTITION}={day}" / FILE_NAME
            if not written:
                target.unlink(missing_ok=True)
                if target.parent.exists() and not any(target.parent.iterdir()):
                    target.parent.rmdir()
                continue
            if len(written) > 1:  # one file a day, so that one rename replaces the day
                merged = Path(staging) / f"{day}.parquet"
                con.execute(
                    f"copy (select * from read_parquet(?)) to '{merged}' ({OPTIONS})",
                    [[str(p) for p in written]],
                ).fetchall()
                written = [merged]
            _replace(written[0], target)


def write_whole(con: duckdb.DuckDBPyConnection, lake: Path, table: str, relation: str) -> None:
    """A table without days as one file, replaced whole."""
    folder = table_folder(lake, table)
    folder.mkdir(parents=True, exist_ok=True)
    handle, staged = tempfile.mkstemp(prefix=".staging-", suffix=".parquet", dir=folder)
    os.close(handle)
    try:
        con.execute(f"copy ({relation}) to '{staged}' ({OPTIONS})").fetchall()
        _replace(Path(staged), folder / FILE_NAME)
    finally:
        Path(staged).unlink(missing_ok=True)


def days_in(lake: Path, table: str) -> list[str]:
    """The days the lake holds for a table."""
    folder = table_folder(lake, table)
    return sorted(p.name.split("=", 1)[1] for p in folder.glob(f"{PARTITION}=*") if p.is_dir())


# the column whose newest value moves whenever rows of a table are added or replaced
STAMPS = {"_load_audit": "finished_at", "_quarantine": "quarantined_at"}


def _signature(table: str) -> str:
    return f"count(*), max({STAMPS.get(table, '_loaded_at')})"


def changed_days(con: duckdb.DuckDBPyConnection, lake: Path, table: str) -> list[str]:
    """The days whose rows in the warehouse differ from the lake's file: another count of
    rows or another newest landing time (rows added, replaced or withdrawn)."""
    landed = {
        str(day): rest
        for day, *rest in con.execute(
            f"select _partition, {_signature(table)} from raw.{table} "
            "where _partition is not null group by 1"
        ).fetchall()
    }
    mirrored = {}
    if days_in(lake, table):
        pattern = str(table_folder(lake, table) / f"{PARTITION}=*" / FILE_NAME)
        mirrored = {
            str(day): rest
            for day, *rest in con.execute(
                f"select {PARTITION}, {_signature(table)} from read_parquet(?, "
                "hive_partitioning = true) group by 1",
                [pattern],
            ).fetchall()
        }
    return sorted(
        day for day in landed.keys() | mirrored.keys() if landed.get(day) != mirrored.get(day)
    )


def whole_unchanged(con: duckdb.DuckDBPyConnection, lake: Path, table: str) -> bool:
    """The lake's file of a table without days has the warehouse table's rows."""
    target = table_folder(lake, table) / FILE_NAME
    if not target.exists():
        return False
    ours = con.execute(f"select {_signature(table)} from raw.{table}").fetchall()
    return (
        ours
        == con.execute(f"select {_signature(table)} from read_parquet(?)", [str(target)]).fetchall()
    )


def mirror(con: duckdb.DuckDBPyConnection, lake: Path, table: str, by_day: bool) -> None:
    """The warehouse's raw table `table` in the lake, then the audit and the quarantine
    beside it. Only what changed is written: the days whose rows differ (for a table with
    `_partition`), or the whole table when it differs."""
    if by_day:
        days = changed_days(con, lake, table)
        if days:  # dates the warehouse wrote, 'YYYY-MM-DD': safe to inline
            listed = ", ".join(f"date '{day}'" for day in days)
            write_days(
                con, lake, table, f"select * from raw.{table} where _partition in ({listed})", days
            )
    elif not whole_unchanged(con, lake, table):
        write_whole(con, lake, table, f"select * from raw.{table}")
    mirror_bookkeeping(con, lake)


def mirror_bookkeeping(con: duckdb.DuckDBPyConnection, lake: Path) -> None:
    """The load audit and the quarantine, queryable from the lake too."""
    for table in STAMPS:
        if not whole_unchanged(con, lake, table):
            write_whole(con, lake, table, f"select * from raw.{table}")
