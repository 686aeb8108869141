"""Publish the last good build: a read-only copy of the marts, swapped in atomically,
Parquet files of every published table, and a manifest saying what was built when.

Readers (the cube, the HTTP API, BI tools) open the published copy. The pipeline's own file
stays free for the one DuckDB writer, and readers never see a half-built state. The copy
holds the marts and the mining tables, and in schema `ops` the build (`ops.build`), the
landing audit and the quarantine. What could name a person is not published as it is:

- raw and staging tables, which hold contact data (phones, emails), stay in the pipeline's
  file, and so does each quarantined line's text;
- `customer_id` (the CRM's id) and `user_pseudo_id` (GA4's cookie id) are replaced by keyed
  hashes (HMAC-SHA256, the key from ACRM_PUBLISH_KEY or kept beside the warehouse), the
  same across builds, so they still join and count; the warehouse keeps the originals;
- quarantine reasons name the rule and the column, not the values (quoted parts are
  elided), and audit messages name files relative to the sources folder.

    published/acrm.duckdb           the copy (chmod 444), replaced by rename
    published/parquet -> parquet-<build id>/<schema>/<table>.parquet   a symlink, replaced by
                                    rename; each build's folder is written under a hidden
                                    name, synced, made read-only (444 files, 555 folders),
                                    then renamed, so a glob never sees a partial file; the
                                    newest ACRM_PUBLISHED_BUILDS folders are kept
    published/build.json            build id, time, and rows per table, replaced by rename
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import uuid
from pathlib import Path

import duckdb

from core.publication import BUILD_TABLE, MANIFEST, PARQUET_LINK
from core.settings import publish_key, published_builds

PUBLISHED_SCHEMAS = ("marts", "mining")
PSEUDONYMISED = ("customer_id", "user_pseudo_id")  # replaced by keyed hashes
ELIDED = "'\u2026'"  # a quoted value in a quarantine reason, as published
# operational bookkeeping readers may see: (published name, query over the warehouse)
OPS_TABLES = {
    "load_audit": "select * replace (replace(replace(message, $sources, ''), $warehouse, '') "
    "as message) from raw._load_audit",
    "quarantine": "select source, partition_key, file, regexp_replace(reason, "
    "'''[^'']*''', $elided, 'g') as reason, count(*) as quarantined_rows, "
    "max(quarantined_at) as last_quarantined_at from raw._quarantine group by all",
}
KEY_SUFFIX = ".publish-key"


def _replace_atomically(write, target: Path, suffix: str) -> None:
    """Write through `write(temporary path)` beside `target`, sync it, rename over it."""
    fd, tmp = tempfile.mkstemp(prefix=".acrm-", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        _sync(Path(tmp))
        os.replace(tmp, target)  # atomic: readers see the old file or the new one
        _sync(target.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sync(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def published_tables(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS
) -> list[tuple[str, str]]:
    """(schema, table) of every table and view a reader gets, in a stable order."""
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in (select unnest($schemas)) order by 1, 2",
        {"schemas": list(schemas)},
    ).fetchall()


def warehouse_key(warehouse: Path) -> bytes:
    """The hashing key: ACRM_PUBLISH_KEY, or one made once and kept beside the warehouse
    (mode 0600), so a customer's hash is the same in every build."""
    key = publish_key()
    if key:
        return key
    path = warehouse.with_name(warehouse.name + KEY_SUFFIX)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def hmac_sql(column: str, key: bytes) -> str:
    """HMAC-SHA256 of the column's text, in SQL, as hex: hmac.new(key, text, sha256)."""
    block = key if len(key) <= 64 else hashlib.sha256(key).digest()
    block = block.ljust(64, b"\0")
    inner = bytes(b ^ 0x36 for b in block).hex()
    outer = bytes(b ^ 0x5C for b in block).hex()
    return (
        f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || "
        f'encode(cast("{column}" as varchar)))))'
    )


def _columns(con, schema: str, table: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and "
            "table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def _copy_table(con, schema: str, table: str, key: bytes) -> int:
    """One published table into the copy, its pseudonymised columns hashed; its rows."""
    hashed = [c for c in _columns(con, schema, table) if c in PSEUDONYMISED]
    replace = (
        f" replace ({', '.join(f'{hmac_sql(c, key)} as {c}' for c in hashed)})" if hashed else ""
    )
    con.execute(f'create schema if not exists publication."{schema}"').fetchall()
    con.execute(
        f'create table publication."{schema}"."{table}" as '
        f'select *{replace} from "{schema}"."{table}"'
    ).fetchall()
    return con.execute(f'select count(*) from publication."{schema}"."{table}"').fetchall()[0][0]


def _write_ops(con, build: dict, sources: Path | None, warehouse: Path) -> None:
    """ops.build, and the audit and quarantine as readers may see them."""
    con.execute("create schema publication.ops").fetchall()
    con.execute(
        f"create table publication.{BUILD_TABLE} as select ?::varchar as build_id, "
        "?::varchar as built_at, ?::varchar as tables",
        [build["build_id"], build["built_at"], json.dumps(build["tables"])],
    ).fetchall()
    bookkeeping = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
    }
    values = {
        "sources": f"{sources}/" if sources else "\0",
        "warehouse": f"{warehouse.parent}/",
        "elided": ELIDED,
    }
    for name, sql in OPS_TABLES.items():
        if f"_{name}" in bookkeeping:
            params = {k: v for k, v in values.items() if f"${k}" in sql}
            con.execute(f"create table publication.ops.{name} as {sql}", params).fetchall()


def _write_copy(con, tmp: Path, build: dict, key: bytes, sources: Path | None, warehouse: Path):
    """The published tables of the warehouse (open on `con`) into a new database at tmp;
    their rows go into build["tables"]."""
    tmp.unlink()  # DuckDB creates the file; an empty one is not a database
    path = str(tmp).replace("'", "''")
    con.execute(f"attach '{path}' as publication").fetchall()
    try:
        for schema, table in published_tables(con):
            build["tables"][f"{schema}.{table}"] = _copy_table(con, schema, table, key)
        _write_ops(con, build, sources, warehouse)
    finally:
        con.execute("detach publication").fetchall()
    os.chmod(tmp, 0o444)


def _export_parquet(copy: Path, target: Path) -> None:
    """Every published table of the copy as <target>/<schema>/<table>.parquet: written under
    a hidden name, synced, made read-only, then renamed to `target` in one step."""
    staging = target.with_name(f".{target.name}.tmp")
    try:
        with duckdb.connect(str(copy), read_only=True) as con:
            for schema, table in published_tables(con):
                (staging / schema).mkdir(parents=True, exist_ok=True)
                file = str(staging / schema / f"{table}.parquet").replace("'", "''")
                con.execute(
                    f'copy (select * from "{schema}"."{table}") to '
                    f"'{file}' (format parquet, compression zstd)"
                ).fetchall()
        _seal(staging)
        os.rename(staging, target)
        _sync(target.parent)
    except BaseException:
        _remove(staging)
        raise


def _seal(folder: Path) -> None:
    """Sync every file and folder under `folder`, then make them read-only (444 / 555)."""
    for path in sorted(folder.rglob("*"), key=lambda p: -len(p.parts)):
        _sync(path)
        os.chmod(path, 0o555 if path.is_dir() else 0o444)
    _sync(folder)
    os.chmod(folder, 0o555)


def _remove(folder: Path) -> None:
    """Remove a build folder, read-only or not."""
    if not folder.exists():
        return
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o755)
    shutil.rmtree(folder, ignore_errors=True)


def _swap_parquet(published_dir: Path, build: str, folder: Path) -> None:
    link = published_dir / PARQUET_LINK
    tmp_link = published_dir / f".{PARQUET_LINK}-{build}.link"
    tmp_link.symlink_to(folder.name)
    os.replace(tmp_link, link)  # atomic: the link names the old folder or the new one
    _sync(published_dir)
    builds = sorted(
        (p for p in published_dir.glob(f"{PARQUET_LINK}-*") if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
    )
    for old in builds[: -published_builds()]:
        _remove(old)


def publish(warehouse: Path, published: Path, sources: Path | None = None) -> Path:
    """Copy the published tables of the warehouse beside `published`, export their Parquet
    files, then swap in the copy, the Parquet folder and the manifest, each by rename.
    `sources` (the sources folder) is cut from the audit's messages."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run the pipeline first")
    published.parent.mkdir(parents=True, exist_ok=True)
    built_at = dt.datetime.now(dt.UTC)
    build_id = f"{built_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    build = {"build_id": build_id, "built_at": built_at.isoformat(timespec="seconds"), "tables": {}}
    folder = published.parent / f"{PARQUET_LINK}-{build_id}"
    key = warehouse_key(warehouse)

    def copy_and_export(tmp: Path) -> None:
        with duckdb.connect(str(warehouse)) as con:
            _write_copy(con, tmp, build, key, sources, warehouse)
        _export_parquet(tmp, folder)

    try:
        _replace_atomically(copy_and_export, published, ".duckdb.tmp")
    except BaseException:
        _remove(folder)
        raise
    _swap_parquet(published.parent, build_id, folder)
    manifest = {
        "build_id": build_id,
        "built_at": build["built_at"],
        "warehouse": published.name,
        "parquet": f"{PARQUET_LINK}/",
        "tables": build["tables"],
    }

    def write_manifest(tmp: Path) -> None:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        os.chmod(tmp, 0o444)

    _replace_atomically(write_manifest, published.parent / MANIFEST, ".json.tmp")
    return published
