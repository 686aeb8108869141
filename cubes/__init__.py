"""The OLAP cube: one engine-neutral model (cubes.acrm) and its engines."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cubes.acrm import ACRM_CUBE
from cubes.duckdb_engine import DuckDBEngine, compile_query
from cubes.model import Cube
from cubes.query import Query, QueryError, build_query


def default_cube() -> Cube:
    return ACRM_CUBE


class CubeSession:
    """The Python API: `CubeSession(path).query_names(["revenue"], ["channel.channel"])`."""

    def __init__(self, database: Path, cube: Cube = ACRM_CUBE):
        self.cube = cube
        self.engine = DuckDBEngine(cube, database)

    def query(self, query: Query) -> pa.Table:
        return self.engine.query(query)

    def query_names(
        self,
        measures: list[str],
        rows: list[str] | None = None,
        cols: list[str] | None = None,
        filters: list[str] | None = None,
        totals: bool = False,
    ) -> pa.Table:
        return self.query(build_query(self.cube, measures, rows, cols, filters, totals))


def open_engine(settings) -> CubeSession:
    return CubeSession(settings.published)


__all__ = [
    "ACRM_CUBE",
    "CubeSession",
    "Query",
    "QueryError",
    "build_query",
    "compile_query",
    "default_cube",
    "open_engine",
]
