"""The same sources built once on DuckDB and once on Spark give the same marts: for every
mart the same rows, the same sum of each numeric column (to 1e-9) and the same distinct
count of each key.

The Spark side is a whole `ACRM_ENGINE=spark acrm run` over a copy of the DuckDB-built
warehouse (same landing, same lake): Spark builds the marts from the lake's Parquet, the
run loads them into the file, DuckDB builds only what Spark cannot (named in
SPARK_CANNOT_BUILD, never skipped silently) and tests the marts, and the publication the
cube, the API and BI tools read is compared here with the DuckDB build's."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from core.settings import Settings
from pipelines.warehouse.spark import BUILT_ON_SPARK, SPARK_CANNOT_BUILD

pytestmark = pytest.mark.spark
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
ACRM = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "acrm")


@pytest.fixture(scope="module")
def spark_run(built_warehouse, small_sources, tmp_path_factory) -> tuple[Settings, dict, str]:
    """(the Spark run's settings, its Spark build report, its log)."""
    folder = tmp_path_factory.mktemp("spark-run")
    shutil.copyfile(built_warehouse.warehouse, folder / "acrm.duckdb")
    shutil.copytree(built_warehouse.lake, folder / "lake")
    settings = Settings.load(folder / "acrm.duckdb", small_sources)
    env = {**os.environ, "ACRM_ENGINE": "spark", "ACRM_WAREHOUSE": str(settings.warehouse),
           "ACRM_SOURCES": str(small_sources), "ACRM_LAKE": str(folder / "lake")}  # fmt: skip
    done = subprocess.run(
        [ACRM, "run"], env=env, capture_output=True, text=True, timeout=3000, check=False
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    return settings, json.loads((folder / "spark" / "spark_build.json").read_text()), log


def _marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "order by 1").fetchall()]  # fmt: skip


def _profile(con, relation: str, columns: list[tuple[str, str]]) -> dict[str, float]:
    sums = [c for c, kind in columns if kind.split("(")[0] in NUMERIC]
    keys = [c for c, _ in columns if c.endswith(("_key", "_id"))]
    parts = ["count(*)"] + [f'sum("{c}")' for c in sums] + [f'count(distinct "{c}")' for c in keys]
    values = con.execute(f"select {', '.join(parts)} from {relation}").fetchall()[0]
    names = ["rows"] + [f"sum({c})" for c in sums] + [f"distinct({c})" for c in keys]
    return dict(zip(names, values, strict=True))


def _same(duck, spark) -> bool:
    if duck is None or spark is None:
        return duck is None and spark is None
    return float(spark) == pytest.approx(float(duck), rel=1e-9)


def test_every_mart_spark_builds_equals_duckdbs(built_warehouse, spark_run) -> None:
    settings, report, _ = spark_run
    assert report["failed"] == {}, report["failed"]
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        con.execute(f"attach '{settings.published}' as spark (read_only)")
        marts = _marts(con)
        assert set(report["marts"]) == set(marts) - set(SPARK_CANNOT_BUILD)
        differ = []
        for table in marts:  # what Spark cannot build comes from DuckDB in the Spark run
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = current_database() and table_schema = 'marts' "
                "and table_name = ?", [table]
            ).fetchall()  # fmt: skip
            mine = _profile(con, f"marts.{table}", columns)
            theirs = _profile(con, f"spark.marts.{table}", columns)
            differ += [
                f"{table}.{name}: Spark {theirs[name]}, DuckDB {value}"
                for name, value in mine.items()
                if not _same(value, theirs[name])
            ]
    assert differ == []


def test_the_spark_runs_marts_came_from_spark(spark_run) -> None:
    settings, report, _ = spark_run  # not rebuilt on DuckDB after the load
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        said = dict(con.execute(
            "select table_name, comment from duckdb_tables() where schema_name = 'marts'"
        ).fetchall())  # fmt: skip
    assert {t for t, c in said.items() if c == BUILT_ON_SPARK} == set(report["marts"])


def test_what_spark_cannot_build_is_named_and_built_by_duckdb(spark_run) -> None:
    settings, report, _ = spark_run
    assert set(report["cannot_build"]) == set(SPARK_CANNOT_BUILD)
    assert all(len(reason) > 40 for reason in report["cannot_build"].values())
    with duckdb.connect(str(settings.published), read_only=True) as con:
        for table in SPARK_CANNOT_BUILD:
            assert con.execute(f"select count(*) from marts.{table}").fetchall()[0][0] > 0
