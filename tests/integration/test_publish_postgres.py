"""Publication to a real PostgreSQL: the same numbers as the DuckDB copy, a swap that a
concurrent reader sees whole or not at all, a read-only role, and clear errors."""

import threading

import duckdb
import psycopg
import pytest

from core.publication import read_build
from core.settings import Settings
from pipelines.publish.postgresql import (
    SCHEMAS,
    PostgresPublishError,
    publish_postgresql,
    tables_of,
)
from pipelines.publish.publisher import publish
from tests.postgres_server import psql

NUMERIC = ("BIGINT", "INTEGER", "SMALLINT", "DOUBLE", "FLOAT", "HUGEINT", "DECIMAL")


@pytest.fixture(scope="module")
def database(postgres):
    url, port = postgres
    psql(port, "create database published")
    return url.rsplit("/", 1)[0] + "/published", port


def _small_build(folder, rows: int):
    """A published copy of a hand-built warehouse whose tables have `rows` rows."""
    warehouse = folder / "acrm.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create schema mining")
        for table in ("dim_a", "fct_b", "rpt_c"):
            con.execute(
                f"create table marts.{table} as select i as k, i * 0.1 as x, "
                f"'v' || i as label from range({rows}) as r(i)"
            )
        con.execute(f"create table mining.m as select i as k from range({rows // 2}) as r(i)")
    published = Settings.load(warehouse).published
    publish(warehouse, published)
    with duckdb.connect(str(published), read_only=True) as con:
        build = read_build(con)
        counts = {f"{s}.{t}": con.execute(f"select count(*) from {s}.{t}").fetchone()[0]
                  for s, t in tables_of(con)}  # fmt: skip
    return published, build["build_id"], counts


def test_every_published_table_arrives_with_the_same_numbers(built_warehouse, database) -> None:
    url, _ = database
    published = built_warehouse.published
    done = publish_postgresql(published, url)
    with duckdb.connect(str(published), read_only=True) as duck, psycopg.connect(url) as pg:
        assert done["build_id"] == read_build(duck)["build_id"]
        tables = tables_of(duck)
        assert len(tables) == done["tables"] and {s for s, _ in tables} == set(SCHEMAS)
        for schema, table in tables:
            columns = duck.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ?", [schema, table]
            ).fetchall()  # fmt: skip
            sums = [c for c, kind in columns if kind.split("(")[0] in NUMERIC]
            keys = [c for c, _ in columns if c.endswith("_key") or c.endswith("_id")]
            select = ", ".join(
                ["count(*)"] + [f'sum("{c}")' for c in sums]
                + [f'count(distinct "{c}")' for c in keys]
            )  # fmt: skip
            mine = duck.execute(f'select {select} from "{schema}"."{table}"').fetchone()
            theirs = pg.execute(f'select {select} from "{schema}"."{table}"').fetchone()
            assert theirs[0] == mine[0], f"{schema}.{table} rows"
            for name, a, b in zip(["rows", *sums, *keys], mine, theirs, strict=True):
                if a is None:
                    assert b is None, f"{schema}.{table}.{name}"
                else:
                    assert float(b) == pytest.approx(float(a), rel=1e-9), f"{schema}.{table}.{name}"


def test_a_concurrent_reader_sees_one_build_or_the_other(database, tmp_path_factory) -> None:
    url, _ = database
    builds = [_small_build(tmp_path_factory.mktemp(f"build{n}"), rows) for n, rows in
              enumerate((600, 900))]  # fmt: skip
    expected = {build_id: counts for _, build_id, counts in builds}
    publish_postgresql(builds[0][0], url)
    publishing, seen, problems, reads = threading.Event(), set(), [], [0]

    def reader() -> None:
        with psycopg.connect(url, autocommit=True) as pg:
            while publishing.is_set():
                for table in expected[builds[0][1]]:
                    try:
                        build_id, rows = pg.execute(
                            f"select (select build_id from ops.build), count(*) from {table}"
                        ).fetchone()
                    except psycopg.Error as exc:
                        problems.append(f"{table}: {exc}")
                        continue
                    seen.add(build_id)
                    reads[0] += 1
                    if rows != expected[build_id][table]:
                        problems.append(f"{table}: {rows} rows under build {build_id}")

    publishing.set()
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for published, _, _ in [builds[1], builds[0], builds[1]]:
            publish_postgresql(published, url)
    finally:
        publishing.clear()
        thread.join(timeout=60)
    assert problems == []
    assert seen == set(expected) and reads[0] > 20


def test_bi_logins_read_through_the_read_only_role(database) -> None:
    url, port = database
    psql(port, "create role bi login in role acrm_reader")
    bi = url.replace("postgres@", "bi@", 1)
    with psycopg.connect(bi) as pg:
        assert pg.execute("select count(*) from ops.build").fetchone()[0] == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pg.execute("delete from ops.build")


def test_an_unreachable_server_is_named_without_its_password(built_warehouse) -> None:
    with pytest.raises(PostgresPublishError, match="cannot connect to postgresql://someone@"):
        publish_postgresql(built_warehouse.published, "postgresql://someone:secret@127.0.0.1:1/x")
    with pytest.raises(PostgresPublishError, match="no published warehouse"):
        publish_postgresql(built_warehouse.published.with_name("nothing.duckdb"), "postgresql://x")


def test_acrm_publish_to_postgresql(built_warehouse, database) -> None:
    import json

    from typer.testing import CliRunner

    from acrm.cli import app

    url, _ = database
    warehouse = str(built_warehouse.warehouse)
    runner = CliRunner()
    command = ["publish", "--to", url, "--warehouse", warehouse, "--format", "json"]
    done = runner.invoke(app, command)
    assert done.exit_code == 0, done.output
    answer = json.loads(done.output[done.output.index("{") :])
    with psycopg.connect(url) as pg:
        assert pg.execute("select build_id from ops.build").fetchone()[0] == answer["build_id"]
    refused = runner.invoke(
        app, ["publish", "--to", "postgresql://u:secret@127.0.0.1:1/x", "--warehouse", warehouse]
    )
    assert refused.exit_code != 0 and "cannot connect" in refused.output
    assert "secret" not in refused.output
