"""Incremental facts: adding days (and a late file, and changed orders) then building
incrementally gives exactly the rows a full refresh gives."""

import datetime as dt
import json
import shutil

import duckdb
import pytest

from pipelines.warehouse.project import run_dbt as dbt

INCREMENTAL = ("fct_calls", "fct_web_events", "fct_order_lines")
# held back from the first build, landed afterwards: the last two days of calls and web
# events, one day from the spring (a late file), and every order line of December
HELD_BACK = {
    "cdr_calls": "_partition >= date '2025-12-30' or _partition = date '2025-04-15'",
    "ga4_events": "_partition >= date '2025-12-30' or _partition = date '2025-04-15'",
    "crm_order_lines": "order_id in (select order_id from raw.crm_orders "
    "where ordered_at >= '2025-12-01')",
}


def columns(con, table: str) -> str:
    names = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? and column_name <> 'loaded_at' "
            "order by ordinal_position",
            [table],
        ).fetchall()
    ]
    return ", ".join(names)


@pytest.fixture(scope="module")
def rebuilt(built_warehouse, tmp_path_factory):
    """A copy of the built warehouse whose incremental facts were built without the held
    back rows, which then landed (with a later _loaded_at) before an incremental build."""
    copy = tmp_path_factory.mktemp("incremental") / "acrm.duckdb"
    shutil.copy(built_warehouse.warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        for table, where in HELD_BACK.items():
            con.execute(f"create table main.held_{table} as from raw.{table} where {where}")
            con.execute(f"delete from raw.{table} where {where}")
    selection = ["--select", *INCREMENTAL]
    dbt(copy, "run", "--full-refresh", *selection)
    with duckdb.connect(str(copy)) as con:
        for table in HELD_BACK:
            con.execute(
                f"insert into raw.{table} select * replace (now()::timestamp as _loaded_at) "
                f"from main.held_{table}"
            )
    dbt(copy, "run", *selection)
    return copy


@pytest.mark.parametrize("table", INCREMENTAL)
def test_an_incremental_build_equals_a_full_refresh(built_warehouse, rebuilt, table) -> None:
    with duckdb.connect(str(rebuilt), read_only=True) as con:
        con.execute(f"attach '{built_warehouse.warehouse}' as full_build (read_only)")
        cols = columns(con, table)
        total = con.execute(f"select count(*) from marts.{table}").fetchall()[0][0]
        only_incremental = con.execute(
            f"select count(*) from (select {cols} from marts.{table} "
            f"except all select {cols} from full_build.marts.{table})"
        ).fetchall()[0][0]
        only_full = con.execute(
            f"select count(*) from (select {cols} from full_build.marts.{table} "
            f"except all select {cols} from marts.{table})"
        ).fetchall()[0][0]
    assert total > 0
    assert (only_incremental, only_full) == (0, 0)


def test_dbt_docs_generate_documents_every_mart(built_warehouse, tmp_path) -> None:
    copy = tmp_path / "acrm.duckdb"
    shutil.copy(built_warehouse.warehouse, copy)
    dbt(copy, "docs", "generate", "--target-path", str(tmp_path / "docs"))
    catalog = json.loads((tmp_path / "docs" / "catalog.json").read_text())
    documented = {node.split(".")[-1] for node in catalog["nodes"]}
    with duckdb.connect(str(copy), read_only=True) as con:
        marts = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    assert len(marts) > 30
    assert marts <= documented


def test_a_changed_segment_opens_a_new_version_in_the_customer_history(
    built_warehouse, tmp_path
) -> None:
    copy = tmp_path / "acrm.duckdb"
    shutil.copy(built_warehouse.warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        customer, segment = con.execute(
            "select customer_id, segment from staging.stg_crm__customers "
            "where segment <> 'Corporate' order by customer_id limit 1"
        ).fetchall()[0]
        # the CRM moved the customer to Corporate; the next extract lands the new version
        con.execute(
            "insert into raw.crm_customers select * replace ('Corporate' as segment, "
            "timestamp '2026-01-15 10:00:00' as updated_at, now()::timestamp as _loaded_at) "
            "from raw.crm_customers where customer_id = ?",
            [customer],
        )
    # each extract is followed by a build: the snapshot records what it sees at each run
    dbt(copy, "build", "--select", "snap_customers+", "--exclude", "test_type:data")
    with duckdb.connect(str(copy)) as con:
        # the next extract: an email change alone makes no new version of the attributes
        con.execute(
            "insert into raw.crm_customers select * replace ('Corporate' as segment, "
            "'new@example.ru' as email, timestamp '2026-02-01 09:00:00' as updated_at, "
            "now()::timestamp + interval 1 second as _loaded_at) "
            "from raw.crm_customers where customer_id = ? and updated_at < '2026-01-01'",
            [customer],
        )
    dbt(copy, "build", "--select", "snap_customers+", "--exclude", "test_type:data")
    with duckdb.connect(str(copy), read_only=True) as con:
        versions = con.execute(
            "select version_number, segment, valid_from, valid_to, is_current "
            "from marts.dim_customer_history where customer_key = ? order by version_number",
            [customer],
        ).fetchall()
        others = con.execute(
            "select count(*) from marts.dim_customer_history where customer_key <> ? "
            "and not is_current",
            [customer],
        ).fetchall()[0][0]
    assert [(v[0], v[1], v[4]) for v in versions] == [(1, segment, False), (2, "Corporate", True)]
    assert versions[0][3] == versions[1][2] == dt.datetime(2026, 1, 15, 10, 0)
    assert others == 0
