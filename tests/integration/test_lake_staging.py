"""Staging can read the lake instead of the warehouse's raw schema (ACRM_RAW_LAYER=lake),
and the marts it builds from there are the marts built from the raw tables."""

import shutil

import duckdb

from pipelines.warehouse.project import run_dbt
from tests.integration.equal_marts import differences, mart_tables


def test_marts_built_from_the_lake_equal_those_built_from_the_raw_schema(
    built_warehouse, tmp_path, monkeypatch
) -> None:
    copy = tmp_path / "acrm.duckdb"
    shutil.copy(built_warehouse.warehouse, copy)
    monkeypatch.setenv("ACRM_RAW_LAYER", "lake")
    monkeypatch.setenv("ACRM_LAKE", str(built_warehouse.lake))
    run_dbt(copy, "build", "--full-refresh", "--target-path", str(tmp_path / "target"))
    with duckdb.connect(str(copy), read_only=True) as con:
        staging = con.execute(
            "select sql from duckdb_views() where schema_name = 'staging' "
            "and view_name = 'stg_web__events'"
        ).fetchall()[0][0]
        con.execute(f"attach '{built_warehouse.warehouse}' as whole (read_only)")
        tables = mart_tables(con)
        differ = {table: found for table in tables if (found := differences(con, table))}
    assert f"read_parquet('{built_warehouse.lake}/raw/ga4_events/day=*/*.parquet'" in staging
    assert len(tables) > 30
    assert differ == {}
