"""Publish the last good build: a read-only copy of the warehouse, swapped in atomically.

Readers (the cube, BI tools) open the published copy. The pipeline's own file stays free for
the one DuckDB writer, and readers never see a half-built state.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import duckdb


def publish(warehouse: Path, published: Path) -> Path:
    """Checkpoint the warehouse, copy it beside `published`, then rename over it."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run the pipeline first")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("checkpoint").fetchall()
    published.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".acrm-", suffix=".duckdb.tmp", dir=published.parent)
    os.close(fd)
    try:
        shutil.copyfile(warehouse, tmp)
        os.chmod(tmp, 0o444)
        os.replace(tmp, published)  # atomic: readers see the old file or the new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return published
