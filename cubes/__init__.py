"""The OLAP cube: one engine-neutral model (cubes.acrm) and its engines."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pyarrow as pa

from core.settings import POSTGRES_SCHEMES
from cubes.acrm import ACRM_CUBE
from cubes.duckdb_engine import GROUPING_COLUMN, DuckDBEngine, ResultCache, compile_query
from cubes.model import Cube
from cubes.query import Query, QueryError, TopN, build_query, drill_down, drill_up

ResultFormat = Literal["arrow", "pandas", "polars"]


def default_cube() -> Cube:
    return ACRM_CUBE


def convert(table: pa.Table, as_: ResultFormat):
    """An Arrow result as Arrow, pandas or polars."""
    if as_ == "pandas":
        return table.to_pandas()
    if as_ == "polars":
        import polars as pl

        return pl.from_arrow(table)
    return table


class CubeSession:
    """The Python API.

    >>> cube = CubeSession(Settings.load().published)
    >>> cube.query_names(["revenue", "win_rate"], rows=["channel.channel"], as_="polars")
    """

    def __init__(self, database: Path | str, cube: Cube = ACRM_CUBE, engine=None):
        """`database`: the published DuckDB file, or a PostgreSQL publication's URL."""
        self.cube = cube
        if engine is None and isinstance(database, str) and database.startswith(POSTGRES_SCHEMES):
            from cubes.postgres_engine import PostgresEngine  # psycopg only when asked

            engine = PostgresEngine(cube, database)
        self.engine = engine if engine is not None else DuckDBEngine(cube, Path(database))

    def query(self, query: Query, as_: ResultFormat = "arrow"):
        return convert(self.engine.query(query), as_)

    def query_names(
        self,
        measures: list[str],
        rows: list[str] | None = None,
        cols: list[str] | None = None,
        filters: list[str] | None = None,
        totals: bool = False,
        top: TopN | None = None,
        as_: ResultFormat = "arrow",
    ):
        return self.query(build_query(self.cube, measures, rows, cols, filters, totals, top), as_)


def open_engine(settings, engine: str = "duckdb") -> CubeSession:
    """A session on the publication: the embedded engine on the DuckDB copy or on the
    PostgreSQL one (ACRM_PUBLISHED), or atoti (may raise
    cubes.atoti_engine.AtotiUnavailableError with the reason)."""
    if engine == "atoti":
        from cubes.atoti_engine import AtotiEngine

        return CubeSession(settings.published, engine=AtotiEngine(ACRM_CUBE, settings.published))
    return CubeSession(settings.published_source)


__all__ = [
    "ACRM_CUBE",
    "GROUPING_COLUMN",
    "CubeSession",
    "Query",
    "QueryError",
    "ResultCache",
    "TopN",
    "build_query",
    "compile_query",
    "convert",
    "default_cube",
    "drill_down",
    "drill_up",
    "open_engine",
]
