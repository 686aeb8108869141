"""What a publication is, for its readers: the manifest beside the published copy and the
build record inside it. The publisher (pipelines/publish) writes them; the server, the
report and the CLI read them here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb

MANIFEST = "build.json"  # build id, time, rows per table: beside the copy
PARQUET_LINK = "parquet"  # published/parquet -> parquet-<build id>/
BUILD_TABLE = "ops.build"  # build_id, built_at, tables (JSON rows per table): in the copy


def read_build(con: duckdb.DuckDBPyConnection) -> dict:
    """The build a published copy holds (ops.build), as the manifest names it."""
    build_id, built_at, tables = con.execute(
        f"select build_id, built_at, tables from {BUILD_TABLE}"
    ).fetchall()[0]
    return {"build_id": build_id, "built_at": built_at, "tables": json.loads(tables)}


def read_manifest(published: Path) -> dict:
    """What the last publication holds (build.json beside the published copy)."""
    path = published.parent / MANIFEST
    if not path.exists():
        raise FileNotFoundError(
            f"no publication at {published.parent}: run `acrm run` (or `make demo`) first"
        )
    return json.loads(path.read_text())


def safe_url(url: str) -> str:
    """A database URL or connection string without its password, for messages and logs."""
    return re.sub(r"password=\S+", "password=***", re.sub(r"://([^:/@]+):[^@]*@", r"://\1@", url))
