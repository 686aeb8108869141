"""The publication: a read-only copy of the marts (no contact data), Parquet per table and a
manifest, swapped in atomically; BI tools read it through SQLAlchemy while a run writes."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from core.publication import read_manifest
from core.settings import Settings

ACRM = str(Path(sys.executable).with_name("acrm"))


@pytest.fixture(scope="module")
def published(built_warehouse):
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        yield con


def test_the_copy_holds_marts_mining_and_ops_only_and_no_contact_data(
    built_warehouse, published
) -> None:
    found = published.execute("select distinct schema_name from duckdb_tables()").fetchall()
    schemas = {schema for (schema,) in found}
    assert schemas == {"marts", "mining", "ops"}
    # no contact column, and no value that looks like an email address or a phone number
    # (GA4's user_pseudo_id, a pseudonymous cookie id, stays: it counts distinct visitors)
    columns = published.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR'"
    ).fetchall()
    assert not [c for c in columns if any(w in c[2] for w in ("phone", "email", "raw_content"))]
    looks_personal = []
    for schema, table, column in columns:
        found = published.execute(
            f'select count(*) from {schema}.{table} where regexp_matches("{column}", '
            r"'^[^@\s]+@[^@\s]+\.[a-z]+$') or (regexp_matches("
            f'"{column}", \'^[+]?[0-9 ()-]+$\') and length(regexp_replace("{column}", '
            "'[^0-9]', '', 'g')) >= 10)"
        ).fetchall()[0][0]
        if found:
            looks_personal.append((schema, table, column, found))
    assert looks_personal == []
    with duckdb.connect(str(built_warehouse.warehouse), read_only=True) as con:
        quarantined = con.execute("select count(*) from raw._quarantine").fetchall()[0][0]
    shown = published.execute(
        "select coalesce(sum(quarantined_rows), 0) from ops.quarantine"
    ).fetchall()[0][0]
    assert shown == quarantined
    assert not os.access(built_warehouse.published, os.W_OK) or os.geteuid() == 0
    assert built_warehouse.published.stat().st_mode & 0o222 == 0  # chmod 444


def test_every_published_table_has_a_parquet_file_with_its_rows(built_warehouse, published):
    manifest = read_manifest(built_warehouse.published)
    folder = built_warehouse.published.parent / manifest["parquet"]
    tables = {
        f"{s}.{t}"
        for s, t in published.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name <> 'ops'"
        ).fetchall()
    }
    assert set(manifest["tables"]) == tables
    for name, rows in manifest["tables"].items():
        schema, table = name.split(".")
        path = folder / schema / f"{table}.parquet"
        counted = duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()[0][0]
        assert counted == rows == published.execute(f"select count(*) from {name}").fetchall()[0][0]


def test_bi_tools_read_every_mart_through_sqlalchemy_while_a_run_writes(
    built_warehouse, small_sources: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse" / "acrm.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(built_warehouse.warehouse, warehouse)
    shutil.copytree(built_warehouse.published.parent, warehouse.parent / "published", symlinks=True)
    settings = Settings.load(warehouse, small_sources)
    before = read_manifest(settings.published)["build_id"]
    url = f"duckdb:///{settings.published}"
    engine = sa.create_engine(url, connect_args={"read_only": True}, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        marts = sorted(sa.inspect(connection).get_table_names(schema="marts"))
    assert len(marts) > 30

    log = tmp_path / "run.log"
    env = {**os.environ, "ACRM_WAREHOUSE": str(warehouse), "ACRM_SOURCES": str(small_sources)}
    with open(log, "w") as sink:
        run = subprocess.Popen([ACRM, "run"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    rounds_during_run, failures, builds_seen = 0, [], set()
    deadline = time.monotonic() + 900
    try:
        while run.poll() is None and time.monotonic() < deadline:
            try:
                with engine.connect() as connection:  # a new connection sees the newest copy
                    for table in marts:
                        connection.execute(sa.text(f"select * from marts.{table} limit 5")).all()
                        connection.execute(sa.text(f"select count(*) from marts.{table}")).one()
                builds_seen.add(read_manifest(settings.published)["build_id"])
            except Exception as exc:  # every failure is reported below, none is expected
                failures.append(repr(exc))
            if run.poll() is None:
                rounds_during_run += 1
    finally:
        if run.poll() is None:
            run.kill()
    assert run.wait() == 0, log.read_text()[-3000:]
    assert failures == []
    assert rounds_during_run >= 3
    after = read_manifest(settings.published)["build_id"]
    assert after != before and before in builds_seen
    with engine.connect() as connection:
        revenue = connection.execute(sa.text("select sum(revenue) from marts.fct_orders")).scalar()
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        assert float(revenue) == pytest.approx(
            float(con.execute("select sum(revenue) from marts.fct_orders").fetchall()[0][0])
        )
