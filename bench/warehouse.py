"""Warehouse build: the cost of adding one day to the incremental facts.

One day of calls and web events is held back, the incremental facts (fct_calls,
fct_web_events, fct_order_lines) are built without it, the day lands, and then:

- ours: `dbt run` of the incremental facts (reprocesses the new day, plus the call-back
  horizon for calls);
- naive: `dbt run --full-refresh` of the same facts over the whole history;
- lower bound: reading the new day's rows through staging into a table, with no joins;
- dbt overhead: `dbt run` of the same selection when nothing is new (dbt's fixed start-up
  cost, part of both runs above).

Also times a full `dbt build` of the whole project. Usage:
python bench/warehouse.py [--scales 1] [--out data/bench]
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import duckdb
from landing import sources_at  # bench/landing.py: the same generated sources
from results import run_scales  # bench/results.py: command line and results file

from acrm.pipeline import run_all
from core.settings import Settings
from pipelines.warehouse.project import run_dbt

INCREMENTAL = ["fct_calls", "fct_web_events", "fct_order_lines"]
START = dt.date(2025, 1, 1)
LAST_DAY = "2025-12-31"
HELD_BACK = ("cdr_calls", "ga4_events")


def dbt(warehouse: Path, *args: str) -> float:
    started = time.perf_counter()
    run_dbt(warehouse, *args)
    return time.perf_counter() - started


def built_warehouse(scale: float, out: Path) -> Path:
    sources = sources_at(scale, out)
    warehouse = out / f"warehouse-{scale:g}" / "acrm.duckdb"
    if not warehouse.exists():
        print(f"building the scale {scale:g} warehouse (acrm run) ...", flush=True)
        run_all(Settings.load(warehouse, sources), progress=lambda line: print(line, flush=True))
    return warehouse


def measure(scale: float, out: Path) -> dict:
    warehouse = built_warehouse(scale, out)
    copy = out / f"warehouse-{scale:g}-incremental.duckdb"
    shutil.copy(warehouse, copy)
    day = f"_partition = date '{LAST_DAY}'"
    with duckdb.connect(str(copy)) as con:
        for table in HELD_BACK:
            con.execute(
                f"create or replace table main.held_{table} as "
                f"select * from raw.{table} where {day}"
            ).fetchall()
            con.execute(f"delete from raw.{table} where {day}").fetchall()
    selection = ["--select", *INCREMENTAL]
    dbt(copy, "run", "--full-refresh", *selection)
    with duckdb.connect(str(copy)) as con:
        day_rows = 0
        for table in HELD_BACK:
            con.execute(
                f"insert into raw.{table} select * replace "
                f"(now()::timestamp as _loaded_at) from main.held_{table}"
            ).fetchall()
            day_rows += con.execute(f"select count(*) from main.held_{table}").fetchall()[0][0]
    ours = dbt(copy, "run", *selection)
    overhead = dbt(copy, "run", *selection)  # nothing new: dbt's fixed cost
    naive = dbt(copy, "run", "--full-refresh", *selection)
    with duckdb.connect(str(copy)) as con:
        started = time.perf_counter()
        for stg in ("stg_calls__cdr", "stg_web__events"):
            con.execute(
                f"create or replace table main.lb_{stg} as "
                f"select * from staging.{stg} where partition_date = date '{LAST_DAY}'"
            ).fetchall()
        lower = time.perf_counter() - started
    full_build = dbt(copy, "build")
    copy.unlink()
    result = {
        "scale": scale,
        "day_rows": day_rows,
        "incremental_s": round(ours, 2),
        "full_refresh_s": round(naive, 2),
        "dbt_overhead_s": round(overhead, 2),
        "lower_bound_s": round(lower, 3),
        "full_dbt_build_s": round(full_build, 1),
        "incremental_vs_full_refresh": round(ours / naive, 3),
        "incremental_minus_overhead_vs_full_minus_overhead": round(
            max(ours - overhead, 0.001) / max(naive - overhead, 0.001), 3
        ),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    run_scales(__doc__, "warehouse", measure)


if __name__ == "__main__":
    main()
