"""The CRM extracted from a real PostgreSQL server gives what the SQLite file gives.

The test starts its own throwaway cluster (Debian's postgresql, on loopback, trust auth)
and loads the generated CRM into it with psql's COPY.
"""

import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.ingest.crm import CRM_TABLES, TABLES_BY_NAME, extract_table
from pipelines.ingest.crm_source import DatabaseSource
from pipelines.ingest.loader import ensure_bookkeeping
from tests.postgres_server import psql

PG_TYPES = {
    pl.Int64: "bigint",
    pl.Float64: "double precision",
    pl.String: "text",
    pl.Boolean: "boolean",
}


@pytest.fixture(scope="module")
def crm_in_postgres(postgres, small_sources: Path, tmp_path_factory):
    url, port = postgres
    sqlite_url = f"sqlite://{small_sources / 'crm' / 'crm.sqlite'}"
    folder = tmp_path_factory.mktemp("copy")
    for table in CRM_TABLES:
        frame = DatabaseSource(sqlite_url)._read(f"select * from {table.name}", table.name)
        columns = ", ".join(  # timestamps as PostgreSQL timestamps, as a real CRM has them
            f'"{name}" '
            + ("timestamp" if name.endswith("_at") else PG_TYPES.get(dtype.base_type(), "text"))
            for name, dtype in frame.schema.items()
        )
        psql(port, f"create table {table.name} ({columns})")
        csv = folder / f"{table.name}.csv"
        frame.write_csv(csv)
        psql(port, f"\\copy {table.name} from '{csv}' with (format csv, header true)")
    return url


def test_the_crm_lands_the_same_from_postgresql_as_from_sqlite(
    crm_in_postgres, small_sources: Path, tmp_path: Path
) -> None:
    sqlite_url = f"sqlite://{small_sources / 'crm' / 'crm.sqlite'}"
    counts = {}
    for name, url in (("sqlite", sqlite_url), ("postgres", crm_in_postgres)):
        with duckdb.connect(str(tmp_path / f"{name}.duckdb")) as con:
            ensure_bookkeeping(con)
            reports = [extract_table(con, url, table, name) for table in CRM_TABLES]
            assert all(r.status == "loaded" for r in reports), [r.message for r in reports]
            counts[name] = {r.source: (r.rows_loaded, r.rows_quarantined) for r in reports}
            revenue = con.execute(
                "select sum(quantity * unit_price - discount) from raw.crm_order_lines"
            ).fetchall()[0][0]
            counts[name]["revenue"] = round(revenue, 2)
    assert counts["postgres"] == counts["sqlite"]


def test_a_change_in_postgresql_lands_as_one_new_version(
    postgres, crm_in_postgres, tmp_path: Path
) -> None:
    _, port = postgres
    deals = TABLES_BY_NAME["deals"]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_bookkeeping(con)
        extract_table(con, crm_in_postgres, deals, "b1")
        time.sleep(0.01)
        psql(port, "update deals set status = 'lost', updated_at = now() where deal_id = 5")
        again = extract_table(con, crm_in_postgres, deals, "b2")
        versions = con.execute(
            "select _batch_id, status from raw.crm_deals where deal_id = 5 order by updated_at"
        ).fetchall()
    assert again.rows_loaded == 1
    assert versions[-1] == ("b2", "lost") and len(versions) == 2


def test_a_wrong_password_or_host_is_a_clear_error(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_bookkeeping(con)
        report = extract_table(
            con, "postgresql://acrm:secret@127.0.0.1:1/crm", TABLES_BY_NAME["teams"], "b"
        )
    assert report.status == "failed" and report.transient
    assert report.message.startswith(
        "cannot read the list of tables from postgresql://acrm:***@127.0.0.1:1/crm: "
    )
    assert "secret" not in report.message


def test_an_audience_written_to_postgresql_shows_up_in_a_fresh_connection(
    crm_in_postgres, tmp_path: Path
) -> None:
    import psycopg

    from core.settings import Settings
    from cubes.audiences import Rule, select, write_crm
    from pipelines.publish.publisher import publish
    from tests.unit.test_audiences import WAREHOUSE

    warehouse = tmp_path / "acrm.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(WAREHOUSE)
    published = Settings.load(warehouse).published
    publish(warehouse, published)
    rule = Rule(("customer.segment=Corporate",), ("churn_probability>0.5",), holdout=0.1)
    with duckdb.connect(str(published), read_only=True) as con:
        members, about = select(con, "corporate-risk", rule)
    dsn, _, schema = crm_in_postgres.partition("#")
    table = f"{schema}.acrm_audience_members" if schema else "acrm_audience_members"
    read = f"select customer_id, member_group, build_id from {table} order by 1"
    seen = []
    for _ in range(2):  # written twice: the same rows, not twice as many
        write_crm(crm_in_postgres, members, about)
        with psycopg.connect(dsn) as fresh:
            seen.append(fresh.execute(read).fetchall())
    assert seen[0] == seen[1]
    expected = sorted(zip(members["customer_id"].astype(str), members["group"], strict=True))
    assert [(c, g) for c, g, _ in seen[0]] == expected
    assert {b for _, _, b in seen[0]} == {about["build_id"]}
