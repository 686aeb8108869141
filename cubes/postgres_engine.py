"""The cube on the PostgreSQL publication (`ACRM_PUBLISHED=postgresql://...`): the same
answers as the embedded engine, for an API server that sits beside a shared PostgreSQL
rather than beside the warehouse file.

One compiler for both: a query is compiled to DuckDB SQL as always, then translated to
PostgreSQL by sqlglot (DuckDB's division of integers, `nulls last`, strftime and the like
become PostgreSQL's). One thing sqlglot leaves as it is and PostgreSQL refuses: a FULL
JOIN on `is not distinct from` (PostgreSQL full-joins only on hashable or mergeable
equalities), which the cube uses to match cells whose level is null (a total, a missing
member). Such a condition becomes an equality of tagged text, `coalesce('v' || x::text,
'n')`, equal exactly when the values are equal or both null.

`PostgresConnection` offers the few calls the cube's other readers make of a DuckDB
connection (`execute(...).fetchall()`, `.df()`, `.to_arrow_table()`), translated the same
way, so the what-ifs, audiences and the build record read PostgreSQL unchanged.
"""

from __future__ import annotations

import functools

import pandas as pd
import psycopg
import pyarrow as pa
import sqlglot
from sqlglot import exp

from core.publication import BUILD_TABLE, safe_url
from cubes.duckdb_engine import Bounds, DuckDBEngine, ResultCache
from cubes.model import Cube
from cubes.query import TooSlowError

# PostgreSQL type oid -> the Arrow type DuckDB answers with for the same published column
ARROW_TYPES = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    700: pa.float32(),
    701: pa.float64(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}
NUMERIC = 1700


class PostgresPublicationError(RuntimeError):
    """The PostgreSQL publication cannot be read; the message says why and what to do."""


def _text_key(value: exp.Expression) -> exp.Expression:
    """The value as tagged text: equal for equal values, 'n' for null and only for null."""
    tagged = exp.DPipe(this=exp.Literal.string("v"), expression=exp.cast(value.copy(), "text"))
    return exp.Coalesce(this=tagged, expressions=[exp.Literal.string("n")])


def _hashable(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.NullSafeEQ):
        return exp.EQ(this=_text_key(node.this), expression=_text_key(node.expression))
    return node


def _hashable_full_joins(tree: exp.Expression) -> exp.Expression:
    """Every FULL JOIN's `is not distinct from` as an equality PostgreSQL can hash."""
    for join in tree.find_all(exp.Join):
        if join.side == "FULL" and join.args.get("on") is not None:
            join.set("on", join.args["on"].transform(_hashable))
    return tree


def _escape_percent(tree: exp.Expression) -> exp.Expression:
    """A literal % doubled: with parameters, psycopg reads a single % as a placeholder."""
    for literal in tree.find_all(exp.Literal):
        if literal.is_string and "%" in literal.this:
            literal.set("this", literal.this.replace("%", "%%"))
    return tree


@functools.lru_cache(maxsize=4096)
def to_postgres(sql: str, parameters: bool = False) -> str:
    """DuckDB SQL of ours as PostgreSQL's; `$name` and `?` parameters become psycopg's."""
    statements = []
    for tree in sqlglot.parse(sql, read="duckdb"):
        tree = _hashable_full_joins(tree)
        if parameters:
            tree = _escape_percent(tree)
        statements.append(tree.sql(dialect="postgres"))
    return "; ".join(statements)


def _arrow_type(column: psycopg.Column) -> pa.DataType:
    if column.type_code == NUMERIC:  # numeric(p, s) as DuckDB's DECIMAL; unbounded as double
        if column.precision is not None and column.precision <= 38:
            return pa.decimal128(column.precision, column.scale or 0)
        return pa.float64()
    return ARROW_TYPES.get(column.type_code, pa.string())


def _as_arrow(columns: list[psycopg.Column], rows: list[tuple]) -> pa.Table:
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    arrays = []
    for column, data in zip(columns, values, strict=True):
        kind = _arrow_type(column)
        if pa.types.is_floating(kind):  # numeric without precision arrives as Decimal
            data = [None if v is None else float(v) for v in data]
        elif kind == pa.string():  # text, and types DuckDB has no match for (uuid, json)
            data = [None if v is None else str(v) for v in data]
        arrays.append(pa.array(data, type=kind))
    return pa.Table.from_arrays(arrays, names=[c.name for c in columns])


class PostgresResult:
    """A statement's answer, read the ways the cube's readers read DuckDB's."""

    def __init__(self, columns: list[psycopg.Column] | None, rows: list[tuple]):
        self.columns, self.rows = columns or [], rows

    def fetchall(self) -> list[tuple]:
        return list(self.rows)

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def to_arrow_table(self) -> pa.Table:
        return _as_arrow(self.columns, self.rows)

    def df(self) -> pd.DataFrame:
        return self.to_arrow_table().to_pandas(date_as_object=False)


class PostgresConnection:
    """A read-only session on the PostgreSQL publication, taking DuckDB SQL of ours."""

    def __init__(self, url: str, statement_seconds: float | None = None):
        try:
            self.pg = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise PostgresPublicationError(
                f"cannot connect to the PostgreSQL publication at {safe_url(url)} "
                f"(ACRM_PUBLISHED): {exc}"
            ) from None
        self.pg.execute("set default_transaction_read_only = on")
        self.pg.execute("set timezone = 'UTC'")  # timestamps as DuckDB's: zone-free, UTC
        if statement_seconds:
            self.pg.execute(f"set statement_timeout = {int(statement_seconds * 1000)}")

    def execute(self, sql: str, parameters: dict | list | None = None) -> PostgresResult:
        cursor = self.pg.execute(to_postgres(sql, bool(parameters)), parameters or None)
        if cursor.description is None:
            return PostgresResult(None, [])
        return PostgresResult(cursor.description, cursor.fetchall())

    def close(self) -> None:
        self.pg.close()

    def __del__(self) -> None:  # an engine dropped without close(): no connection left open
        if getattr(self, "pg", None) is not None and not self.pg.closed:
            self.pg.close()


class PostgresEngine(DuckDBEngine):
    """The embedded engine's queries, members and readers, answered by PostgreSQL.

    A new build is known by `ops.build`'s id: read before each answer (the cache is emptied
    when it changes) and after it; an answer computed while a new build was swapped in is
    returned but not cached. `bounds.statement_seconds` becomes the session's
    statement_timeout; memory and threads are the server's own settings.
    """

    def __init__(
        self,
        cube: Cube,
        url: str,
        cache: ResultCache | None = None,
        bounds: Bounds | None = None,
    ):
        self.cube, self.url = cube, url
        self.cache = cache if cache is not None else ResultCache()
        self.bounds = bounds or Bounds()
        self._con: PostgresConnection | None = None  # type: ignore[assignment]
        self._build = None

    def _connection(self) -> PostgresConnection:  # type: ignore[override]
        if self._con is None or self._con.pg.closed:
            self._con = PostgresConnection(self.url, self.bounds.statement_seconds)
        build = (self._build_id(self._con),)
        if build != self._build:
            self.cache.clear()
            self._build = build
        return self._con

    @staticmethod
    def _build_id(con: PostgresConnection) -> str:
        try:
            rows = con.execute(f"select build_id from {BUILD_TABLE}").fetchall()
        except psycopg.errors.UndefinedTable:
            raise FileNotFoundError(
                "no publication in the PostgreSQL database (ACRM_PUBLISHED): run "
                "`acrm publish --to <url>` or set ACRM_PUBLISH_TO for `acrm run`"
            ) from None
        return rows[0][0]

    def _run(self, con, sql: str, parameters: dict | None = None) -> pa.Table:
        try:
            table = con.execute(sql, parameters).to_arrow_table()
        except psycopg.errors.QueryCanceled:
            raise TooSlowError(
                f"the query ran over {self.bounds.statement_seconds:g} s (ACRM_SERVE_TIMEOUT) and "
                "was stopped: filter it, or put fewer or coarser levels on rows and columns"
            ) from None
        if (self._build_id(con),) != self._build:  # swapped meanwhile: answer, not kept
            self._build = None
        return table

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
