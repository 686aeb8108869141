"""Publication to PostgreSQL, for BI tools and analysts on a shared server.

The published DuckDB copy (marts, mining, ops) is loaded into staging schemas
(`marts__acrm_next`...), checked (every table's row count equals the copy's), granted to
the read-only role, and swapped in by renaming schemas in one transaction: a reader's
statement sees the old build or the new one, never half of each. The old schemas are
dropped afterwards, each attempt with a short lock timeout so that a reader still on the
old build is never made to wait or deadlock; what cannot be dropped yet goes at the next
publish.

Data moves as CSV: DuckDB writes each table (in C++), psycopg streams it into COPY. CSV
keeps NULL (an empty field) apart from the empty string (""), and DuckDB writes doubles
in their shortest round-trip form, so the numbers arrive bit for bit.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from core.publication import read_build, safe_url
from pipelines.publish.publisher import PUBLISHED_SCHEMAS, published_tables

SCHEMAS = (*PUBLISHED_SCHEMAS, "ops")
NEXT, OLD = "__acrm_next", "__acrm_old"
READER_ROLE = "acrm_reader"  # NOLOGIN: grant it to each BI tool's login
CHUNK = 1 << 20  # bytes streamed into COPY at a time
DROP_ATTEMPTS, DROP_LOCK_TIMEOUT = 20, "200ms"
# DuckDB type (its first word) -> PostgreSQL type; anything else travels as text
TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIME": "time",
    "INTERVAL": "interval",
    "VARCHAR": "text",
    "UUID": "uuid",
    "JSON": "jsonb",
}


class PostgresPublishError(RuntimeError):
    """The publication could not be loaded or checked; the serving build is unchanged."""


def pg_type(duckdb_type: str) -> str:
    """The PostgreSQL column type for a DuckDB one (DECIMAL keeps its precision)."""
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric")
    return TYPES.get(duckdb_type, "text")


def tables_of(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, table) of everything published, ops included."""
    return published_tables(con, SCHEMAS)


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def _export(con, schema: str, table: str, columns, folder: Path) -> tuple[Path, int]:
    """The table as CSV (types PostgreSQL has no match for cast to text), and its rows."""
    select = ", ".join(
        f'"{name}"' if pg_type(kind) != "text" or kind == "VARCHAR" else f'"{name}"::varchar'
        for name, kind in columns
    )
    path = folder / f"{schema}.{table}.csv"
    con.execute(
        f'copy (select {select} from "{schema}"."{table}") to \'{path}\' (format csv, header)'
    )
    rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0]
    return path, rows


def _load(pg: psycopg.Connection, schema: str, table: str, columns, csv: Path) -> None:
    """Create the table in the staging schema and stream the CSV into it."""
    target = sql.Identifier(schema + NEXT, table)
    pg.execute(
        sql.SQL("create table {} ({})").format(
            target,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(pg_type(kind)))
                for name, kind in columns
            ),
        )
    )
    copy = sql.SQL("copy {} from stdin (format csv, header true)").format(target)
    with pg.cursor().copy(copy) as sink, open(csv, "rb") as source:
        while chunk := source.read(CHUNK):
            sink.write(chunk)


def _stage(pg: psycopg.Connection, duck, tables, progress) -> dict[tuple[str, str], int]:
    """Every table loaded into the staging schemas in one transaction: their row counts."""
    counts = {}
    with pg.transaction(), tempfile.TemporaryDirectory(prefix="acrm-pg-publish-") as tmp:
        for schema in SCHEMAS:
            for name in (schema + NEXT, schema + OLD):
                pg.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))
            pg.execute(sql.SQL("create schema {}").format(sql.Identifier(schema + NEXT)))
        for i, (schema, table) in enumerate(tables, 1):
            columns = _columns(duck, schema, table)
            csv, counts[(schema, table)] = _export(duck, schema, table, columns, Path(tmp))
            _load(pg, schema, table, columns, csv)
            csv.unlink()
            progress(f"  {i}/{len(tables)} {schema}.{table}: {counts[(schema, table)]:,} rows")
    return counts


def _check(pg: psycopg.Connection, counts: dict[tuple[str, str], int]) -> None:
    """Every staged table holds as many rows as the published copy's."""
    wrong = []
    for (schema, table), expected in counts.items():
        found = pg.execute(
            sql.SQL("select count(*) from {}").format(sql.Identifier(schema + NEXT, table))
        ).fetchone()[0]
        if found != expected:
            wrong.append(f"{schema}.{table}: {found} rows staged, {expected} published")
    if wrong:
        raise PostgresPublishError(
            "the staged build does not match the publication; nothing was swapped:\n  "
            + "\n  ".join(wrong)
        )


def _grant(pg: psycopg.Connection, role: str) -> None:
    """The read-only role (made if missing) may read the staged schemas, nothing more."""
    with pg.transaction():
        exists = pg.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
        if not exists:
            pg.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        for schema in SCHEMAS:
            staged, who = sql.Identifier(schema + NEXT), sql.Identifier(role)
            pg.execute(sql.SQL("grant usage on schema {} to {}").format(staged, who))
            pg.execute(sql.SQL("grant select on all tables in schema {} to {}").format(staged, who))


def _swap(pg: psycopg.Connection) -> None:
    """The staged schemas take the published names in one transaction."""
    with pg.transaction():
        present = {
            name
            for (name,) in pg.execute(
                "select nspname from pg_namespace where nspname = any(%s)", [list(SCHEMAS)]
            ).fetchall()
        }
        for schema in SCHEMAS:
            if schema in present:
                pg.execute(
                    sql.SQL("alter schema {} rename to {}").format(
                        sql.Identifier(schema), sql.Identifier(schema + OLD)
                    )
                )
            pg.execute(
                sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(schema + NEXT), sql.Identifier(schema)
                )
            )


def _drop_old(pg: psycopg.Connection) -> bool:
    """Drop the previous build's schemas, giving way to readers still on it; True if gone."""
    for attempt in range(DROP_ATTEMPTS):
        try:
            with pg.transaction():
                pg.execute(sql.SQL("set local lock_timeout = {}").format(DROP_LOCK_TIMEOUT))
                for schema in SCHEMAS:
                    pg.execute(
                        sql.SQL("drop schema if exists {} cascade").format(
                            sql.Identifier(schema + OLD)
                        )
                    )
            return True
        except psycopg.errors.LockNotAvailable:
            time.sleep(0.05 * (attempt + 1))
    return False


def publish_postgresql(
    published: Path,
    url: str,
    progress: Callable[[str], None] = lambda _: None,
    reader_role: str = READER_ROLE,
) -> dict:
    """Publish the DuckDB copy at `published` into the PostgreSQL database at `url`."""
    if not published.exists():
        raise PostgresPublishError(f"no published warehouse at {published}: run `acrm run` first")
    try:
        pg = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise PostgresPublishError(f"cannot connect to {safe_url(url)}: {exc}") from None
    with duckdb.connect(str(published), read_only=True) as duck, pg:
        build = read_build(duck)
        tables = tables_of(duck)
        progress(f"loading build {build['build_id']} into {safe_url(url)}: {len(tables)} tables")
        counts = _stage(pg, duck, tables, progress)
        _check(pg, counts)
        _grant(pg, reader_role)
        _swap(pg)
        dropped = _drop_old(pg)
    progress(f"swapped in build {build['build_id']}")
    return {
        "build_id": build["build_id"],
        "tables": len(counts),
        "rows": sum(counts.values()),
        "reader_role": reader_role,
        "previous_build_dropped": dropped,
    }
