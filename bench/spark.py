"""The same marts on Spark and on DuckDB: build times at each scale, on this machine.

On one copy of the bench warehouse (landed by `acrm run`, its lake beside it):

- spark: `python -m pipelines.warehouse.spark`, what `ACRM_ENGINE=spark acrm run` runs: a
  local Spark session (local[2]), the lake registered, `dbt seed` and `dbt run --target
  spark`, every mart written out as Parquet;
- duckdb: `dbt seed` and `dbt run` of the same models on the DuckDB file (the default);
- lower bound for Spark: one Spark session reading every source once (the lake's Parquet,
  every column, into Spark's no-op sink), with no transformation at all;
- spark JVM start: the session's start alone, part of every Spark build on one machine.

Usage: python bench/spark.py [--scales 1 10] [--out data/bench]
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from results import run_scales  # bench/results.py: command line and results file
from warehouse import built_warehouse, dbt  # bench/warehouse.py: the same warehouses

from core.settings import Settings
from pipelines.warehouse.spark import (
    SPARK_CANNOT_BUILD,
    build_in_subprocess,
    register_sources,
    session,
)


def spark_lower_bound(warehouse: Path, work: Path) -> tuple[float, float, int]:
    """(session start seconds, seconds to read every source once, sources read)."""
    started = time.perf_counter()
    spark = session(work)
    spark.sql("select 1").collect()
    start = time.perf_counter() - started
    try:
        register_sources(spark, warehouse, Settings.load(warehouse).lake, work)
        started = time.perf_counter()
        views = [
            v
            for schema in ("raw", "identity")
            for v in spark.sql(f"show views in {schema}").collect()
        ]
        for view in views:
            name = f"{view.namespace}.{view.viewName}"
            spark.table(name).write.format("noop").mode("overwrite").save()
        return start, time.perf_counter() - started, len(views)
    finally:
        spark.stop()


def measure(scale: float, out: Path) -> dict:
    warehouse = built_warehouse(scale, out)
    with tempfile.TemporaryDirectory(prefix="acrm-bench-spark-", dir=out) as tmp:
        copy = Path(tmp) / "acrm.duckdb"
        shutil.copy(warehouse, copy)
        if (warehouse.parent / "lake").exists():
            (Path(tmp) / "lake").symlink_to((warehouse.parent / "lake").resolve())
        print(f"scale {scale:g}: building the marts on Spark ...", flush=True)
        started = time.perf_counter()
        report = build_in_subprocess(copy, Path(tmp) / "spark", lambda s: print(s, flush=True))
        spark_s = time.perf_counter() - started
        print(f"scale {scale:g}: the same models on DuckDB ...", flush=True)
        excluded = [a for name in SPARK_CANNOT_BUILD for a in ("--exclude", name)]
        duckdb_s = dbt(copy, "seed") + dbt(copy, "run", *excluded)
        print(f"scale {scale:g}: Spark's lower bound (read every source once) ...", flush=True)
        start_s, read_s, sources = spark_lower_bound(copy, Path(tmp) / "lower")
    models = len(report["models"])
    result = {
        "scale": scale,
        "models": models,
        "marts": len(report["marts"]),
        "spark_build_s": round(spark_s, 1),
        "duckdb_build_s": round(duckdb_s, 1),
        "spark_session_start_s": round(start_s, 1),
        "spark_read_sources_once_s": round(read_s, 1),
        "sources": sources,
        "spark_vs_duckdb": round(spark_s / duckdb_s, 1),
        "spark_vs_lower_bound": round(spark_s / (start_s + read_s), 1),
        "spark_s_per_model": round(spark_s / models, 1),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    run_scales(__doc__, "spark", measure)


if __name__ == "__main__":
    main()
