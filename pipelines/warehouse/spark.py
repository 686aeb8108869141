"""The same dbt project on Apache Spark (dbt-spark's `session` method, a local Spark in this
process on the machine's Java), from the raw layer the landing writes as Hive-partitioned
Parquet (the lake).

    python -m pipelines.warehouse.spark --warehouse data/warehouse/acrm.duckdb --work DIR

registers the lake's tables (and the identity tables, which only the DuckDB file holds,
exported to Parquet) in Spark's catalog under the schemas dbt's sources name, runs `dbt
seed` and `dbt run --target spark`, and writes every mart Spark built to
`DIR/marts/<table>/` as Parquet, with `DIR/spark_build.json` saying what was built, what
failed and why, and what Spark cannot build (SPARK_CANNOT_BUILD). A cluster needs a
thrift, Databricks or EMR profile instead of the session (docs/DECISIONS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import duckdb

from core.settings import DBT_PROJECT_DIR, Settings

# Models Spark cannot build, and why; the parity test names them, it never skips silently.
SPARK_CANNOT_BUILD = {
    "dim_customer_history": "built from the dbt snapshot snap_customers, and dbt-spark's "
    "snapshots need MERGE, which Spark's Parquet tables lack (Delta Lake or Iceberg would "
    "have it, but Spark fetches their jars from Maven at run time)",
}
RAW_SCHEMAS = ("raw", "identity")
BUILT_ON_SPARK = "built on Spark (ACRM_ENGINE=spark), loaded from its Parquet"
PROGRESS = re.compile(r"\d+ of \d+ (OK|ERROR|SKIP)|Done\.|Running with dbt")


class SparkBuildError(RuntimeError):
    """The Spark build failed or left models unbuilt; the message names them."""


def session(work: Path):
    """A local Spark session whose catalog and tables live under `work`. Timestamps
    without a zone, as DuckDB's are; UTC for any conversion."""
    # lazy on purpose: pyspark starts a JVM, which only a Spark build needs
    from pyspark.sql import SparkSession

    metastore = f"jdbc:derby:;databaseName={work / 'metastore_db'};create=true"
    return (
        SparkSession.builder.master("local[2]")
        .appName("acrm-dbt")
        .config("spark.sql.warehouse.dir", str(work / "spark-warehouse"))
        .config("javax.jdo.option.ConnectionURL", metastore)
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={work}")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.timestampType", "TIMESTAMP_NTZ")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", os.environ.get("ACRM_SPARK_MEMORY", "3g"))
        .enableHiveSupport()
        .getOrCreate()
    )


def _source_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    rows = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in (select unnest($s)) and not starts_with(table_name, '_') "
        "order by table_schema, table_name, ordinal_position",
        {"s": list(RAW_SCHEMAS)},
    ).fetchall()
    columns: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        columns.setdefault((schema, table), []).append(column)
    return columns


def register_sources(spark, warehouse: Path, lake: Path, work: Path) -> int:
    """Every source table as a Spark view: the lake's Parquet where it has the table (its
    `day` folder is `_partition` again), else the DuckDB table exported to Parquet."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = _source_columns(con)
        for schema in RAW_SCHEMAS:
            spark.sql(f"create database if not exists {schema}")
        for (schema, table), columns in tables.items():
            folder = lake / "raw" / table
            if schema != "raw" or not any(folder.glob("**/*.parquet")):
                folder = work / "export" / schema / table
                folder.mkdir(parents=True, exist_ok=True)
                con.execute(
                    f"copy (select * from {schema}.{table}) to '{folder / 'data.parquet'}' "
                    "(format parquet)"
                )
            found = spark.read.parquet(str(folder)).columns
            select = [
                "cast(day as date) as _partition"
                if c == "_partition" and "day" in found
                else f"`{c}`"
                for c in columns
            ]
            spark.sql(
                f"create or replace view {schema}.{table} as "
                f"select {', '.join(select)} from parquet.`{folder}`"
            )
    return len(tables)


def run_dbt(work: Path) -> dict[str, dict]:
    """dbt seed and run on Spark: each model's status and message."""
    from dbt.cli.main import dbtRunner  # lazy on purpose: dbt takes seconds to import

    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    common = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
              "--target", "spark", "--target-path", str(work / "target"),
              "--log-path", str(work / "logs")]  # fmt: skip
    seeded = dbtRunner().invoke(["seed", *common])
    if not seeded.success:
        raise RuntimeError(f"dbt seed failed on Spark: {seeded.exception or seeded.result}")
    excluded = [a for name in SPARK_CANNOT_BUILD for a in ("--exclude", name)]
    ran = dbtRunner().invoke(["run", *excluded, *common])
    return {
        r.node.name: {"schema": r.node.schema, "status": str(r.status), "message": r.message}
        for r in (ran.result or [])
    }


def export_marts(spark, models: dict[str, dict], out: Path) -> list[str]:
    """Every mart Spark built, as Parquet under `out/<table>/`."""
    written = []
    for name, model in sorted(models.items()):
        if model["schema"] == "marts" and model["status"] == "success":
            spark.table(f"marts.{name}").write.mode("overwrite").parquet(str(out / name))
            written.append(name)
    return written


def build(warehouse: Path, lake: Path, work: Path) -> dict:
    """Sources registered, marts built on Spark and exported: what happened, in numbers."""
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    spark = session(work)
    sources = register_sources(spark, warehouse, lake, work)
    models = run_dbt(work)
    marts = export_marts(spark, models, work / "marts")
    report = {
        "sources": sources,
        "models": models,
        "marts": marts,
        "failed": {n: m["message"] for n, m in models.items() if m["status"] != "success"},
        "cannot_build": SPARK_CANNOT_BUILD,
        "seconds": round(time.monotonic() - started, 1),
    }
    (work / "spark_build.json").write_text(json.dumps(report, indent=2, default=str))
    spark.stop()
    return report


def build_in_subprocess(warehouse: Path, work: Path, log: Callable[[str], None]) -> dict:
    """The build in its own process (the JVM and dbt-spark stay out of the caller), its
    dbt progress lines passed to `log`: the build's report (see `build`)."""
    command = [sys.executable, "-m", "pipelines.warehouse.spark",
               "--warehouse", str(warehouse), "--work", str(work)]  # fmt: skip
    tail: deque[str] = deque(maxlen=40)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout or ():
            tail.append(line.rstrip())
            if PROGRESS.search(line):
                log("spark: " + line.strip())
    if process.returncode != 0:
        raise SparkBuildError(
            f"the Spark build exited with {process.returncode}:\n" + "\n".join(tail)
        )
    report = json.loads((work / "spark_build.json").read_text())
    if report["failed"]:
        raise SparkBuildError(
            "Spark could not build: "
            + "; ".join(f"{name}: {why}" for name, why in report["failed"].items())
        )
    return report


def load_marts(con: duckdb.DuckDBPyConnection, folder: Path, marts: list[str]) -> None:
    """The marts Spark wrote (`folder/<table>/*.parquet`) as tables of the warehouse file,
    where the mining, the publication and the cube read them."""
    con.execute("create schema if not exists marts")
    for name in marts:
        con.execute(
            f'create or replace table marts."{name}" as '
            f"select * from read_parquet('{folder / name}/*.parquet')"
        )
        con.execute(f"comment on table marts.\"{name}\" is '{BUILT_ON_SPARK}'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, help="the DuckDB warehouse the landing wrote")
    parser.add_argument("--work", type=Path, required=True, help="Spark's folder")
    args = parser.parse_args()
    settings = Settings.load(args.warehouse)
    report = build(settings.warehouse, settings.lake, args.work)
    print(json.dumps({k: v for k, v in report.items() if k != "models"}, default=str))


if __name__ == "__main__":
    main()
