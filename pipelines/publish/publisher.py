"""Publish the last good build: a read-only copy of the marts, swapped in atomically,
Parquet files of every published table, and a manifest saying what was built when.

Readers (the cube, the HTTP API, BI tools) open the published copy. The pipeline's own file
stays free for the one DuckDB writer, and readers never see a half-built state. The copy
holds the marts and the mining tables, and in schema `ops` the landing audit and the
quarantine without the quarantined lines' text: raw and staging tables, which hold contact
data (phones, emails), stay in the pipeline's file.

    published/acrm.duckdb           the copy (chmod 444), replaced by rename
    published/parquet -> parquet-<build id>/<schema>/<table>.parquet   a symlink, replaced by
                                    rename; the previous build's folder is kept for readers
                                    still in it, older ones are removed
    published/build.json            build id, time, and rows per table, replaced by rename
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import duckdb

PUBLISHED_SCHEMAS = ("marts", "mining")
# operational bookkeeping readers may see: (published name, query over the warehouse)
OPS_TABLES = {
    "load_audit": "select * from raw._load_audit",
    "quarantine": "select source, partition_key, file, reason, count(*) as quarantined_rows, "
    "max(quarantined_at) as last_quarantined_at from raw._quarantine group by all",
}
MANIFEST = "build.json"
PARQUET_LINK = "parquet"
PARQUET_KEPT = 2  # this build's folder and the previous one


def _replace_atomically(write, target: Path, suffix: str) -> None:
    """Write through `write(temporary path)` beside `target`, then rename over it."""
    fd, tmp = tempfile.mkstemp(prefix=".acrm-", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)  # atomic: readers see the old file or the new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def published_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, table) of every table and view a reader gets, in a stable order."""
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in (select unnest($schemas)) order by 1, 2",
        {"schemas": list(PUBLISHED_SCHEMAS)},
    ).fetchall()


def _export_parquet(copy: Path, folder: Path) -> dict[str, int]:
    """Every published table of the copy as folder/<schema>/<table>.parquet; rows by name."""
    rows: dict[str, int] = {}
    with duckdb.connect(str(copy), read_only=True) as con:
        for schema, table in published_tables(con):
            (folder / schema).mkdir(parents=True, exist_ok=True)
            target = folder / schema / f"{table}.parquet"
            con.execute(
                f'copy (select * from "{schema}"."{table}") to '
                f"'{str(target).replace(chr(39), chr(39) * 2)}' (format parquet, compression zstd)"
            ).fetchall()
            rows[f"{schema}.{table}"] = con.execute(
                f'select count(*) from "{schema}"."{table}"'
            ).fetchall()[0][0]
    return rows


def _swap_parquet(published_dir: Path, build: str, folder: Path) -> None:
    link = published_dir / PARQUET_LINK
    tmp_link = published_dir / f".{PARQUET_LINK}-{build}.link"
    tmp_link.symlink_to(folder.name)
    os.replace(tmp_link, link)  # atomic: the link names the old folder or the new one
    builds = sorted(
        (p for p in published_dir.glob(f"{PARQUET_LINK}-*") if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
    )
    for old in builds[:-PARQUET_KEPT]:
        shutil.rmtree(old, ignore_errors=True)


def _write_copy(con: duckdb.DuckDBPyConnection, tmp: Path) -> None:
    """The published tables of the warehouse (open on `con`) into a new database at tmp."""
    tmp.unlink()  # DuckDB creates the file; an empty one is not a database
    path = str(tmp).replace("'", "''")
    con.execute(f"attach '{path}' as publication").fetchall()
    try:
        for schema, table in published_tables(con):
            con.execute(f'create schema if not exists publication."{schema}"').fetchall()
            con.execute(
                f'create table publication."{schema}"."{table}" as '
                f'select * from "{schema}"."{table}"'
            ).fetchall()
        con.execute("create schema publication.ops").fetchall()
        bookkeeping = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        for name, sql in OPS_TABLES.items():
            if f"_{name}" in bookkeeping:
                con.execute(f"create table publication.ops.{name} as {sql}").fetchall()
    finally:
        con.execute("detach publication").fetchall()
    os.chmod(tmp, 0o444)


def publish(warehouse: Path, published: Path) -> Path:
    """Copy the published tables of the warehouse beside `published`, export their Parquet
    files, then swap in the copy, the Parquet folder and the manifest, each by rename."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run the pipeline first")
    published.parent.mkdir(parents=True, exist_ok=True)
    built_at = dt.datetime.now(dt.UTC)
    build = f"{built_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    folder = published.parent / f"{PARQUET_LINK}-{build}"
    rows: dict[str, int] = {}

    def copy_and_export(tmp: Path) -> None:
        with duckdb.connect(str(warehouse)) as con:
            _write_copy(con, tmp)
        try:
            rows.update(_export_parquet(tmp, folder))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    _replace_atomically(copy_and_export, published, ".duckdb.tmp")
    _swap_parquet(published.parent, build, folder)
    manifest = {
        "build_id": build,
        "built_at": built_at.isoformat(timespec="seconds"),
        "warehouse": published.name,
        "parquet": f"{PARQUET_LINK}/",
        "tables": rows,
    }

    def write_manifest(tmp: Path) -> None:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        os.chmod(tmp, 0o444)

    _replace_atomically(write_manifest, published.parent / MANIFEST, ".json.tmp")
    return published


def read_manifest(published: Path) -> dict:
    """What the last publication holds (build.json beside the published copy)."""
    path = published.parent / MANIFEST
    if not path.exists():
        raise FileNotFoundError(
            f"no publication at {published.parent}: run `acrm run` (or `make demo`) first"
        )
    return json.loads(path.read_text())
