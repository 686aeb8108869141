"""The mining assets' time, each against the lower bound of reading its inputs.

For each scale, on a working copy of bench/warehouse.py's warehouse:
- ours: each mining asset materialised alone by Dagster (fit, score, write), seconds;
- lower bound: the same inputs read from the marts into pandas, and nothing else;
- naive (market basket only, the one with a textbook alternative): mlxtend's Apriori and
  rules on a one-hot orders x products frame at the same thresholds, its time and the
  frame's size in memory.
Usage: python bench/mining_assets.py [--scales 1 10] [--out data/bench]
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))

from landing import bench_args

# what each asset reads, as plain SQL: the floor under its time
INPUTS = {
    "customer_clv": ["select customer_key, ordered_at, revenue from marts.fct_orders"],
    "customer_churn": [
        "select customer_key, ordered_at, revenue from marts.fct_orders",
        "select customer_key, opened_at, resolution_hours from marts.fct_tickets",
        "select customer_key, csat from marts.fct_survey_responses",
        "select customer_key, started_at, is_missed from marts.fct_calls",
        "select customer_key, started_at from marts.fct_web_sessions",
    ],
    "basket_rules": ["select order_id, product_key from marts.fct_order_lines where is_paid"],
    "product_recommendations": [
        "select l.customer_key, l.product_key, o.ordered_at from marts.fct_order_lines as l "
        "join marts.fct_orders as o using (order_id) where l.is_paid"
    ],
    "deal_win_probability": [
        "select * from marts.fct_deals",
        "select * from marts.fct_deal_stage_transitions",
    ],
    "customer_personas": [
        "select * from marts.dim_customers",
        "select customer_key, revenue, sales_channel from marts.fct_orders",
        "select customer_key from marts.fct_tickets",
        "select customer_key, csat from marts.fct_survey_responses",
    ],
    "revenue_forecast": [
        "select ordered_at, revenue, channel_key, customer_key from marts.fct_orders"
    ],
    "new_customer_value": [
        "select customer_key, order_id, ordered_at, revenue, line_count, sales_channel, "
        "channel_key from marts.fct_orders where is_paid",
        "select * from marts.dim_customers",
        "select * from mining.customer_personas",
    ],
}  # fmt: skip


def read_inputs(path: Path, queries: list[str]) -> float:
    started = time.perf_counter()
    with duckdb.connect(str(path), read_only=True) as con:
        for sql in queries:
            con.execute(sql).df()
    return time.perf_counter() - started


def run_asset(path: Path, name: str) -> float:
    import dagster as dg

    from pipelines.mining.assets import mining_assets
    from pipelines.resources import WarehouseResource

    asset = next(a for a in mining_assets if a.key.path[-1] == name)
    resources = {"warehouse": WarehouseResource(path=str(path))}
    started = time.perf_counter()
    if not dg.materialize([asset], resources=resources).success:
        raise SystemExit(f"mining asset {name} failed on {path}")
    return time.perf_counter() - started


def naive_basket(path: Path) -> dict:
    """mlxtend on a one-hot frame, at the asset's thresholds."""
    import pandas as pd
    from mlxtend.frequent_patterns import apriori, association_rules

    from pipelines.mining.assets import (
        BASKET_MIN_CONFIDENCE,
        BASKET_MIN_ORDERS,
        BASKET_MIN_SUPPORT,
    )

    with duckdb.connect(str(path), read_only=True) as con:
        lines = con.execute(INPUTS["basket_rules"][0]).df()
    started = time.perf_counter()
    onehot = pd.crosstab(lines["order_id"], lines["product_key"]).astype(bool)
    support = max(BASKET_MIN_SUPPORT, BASKET_MIN_ORDERS / len(onehot))
    itemsets = apriori(onehot, min_support=support, use_colnames=True)
    association_rules(
        itemsets, num_itemsets=len(onehot), metric="confidence", min_threshold=BASKET_MIN_CONFIDENCE
    )
    return {
        "seconds": time.perf_counter() - started,
        "onehot_mb": round(onehot.memory_usage(deep=True).sum() / 2**20, 1),
    }


def measure(scale: float, out: Path) -> dict:
    source = out / f"warehouse-{scale:g}" / "acrm.duckdb"
    if not source.exists():
        raise SystemExit(
            f"no warehouse at {source}: run `python bench/warehouse.py --scales {scale:g}` "
            "first (make bench does)"
        )
    work = out / f"mining-{scale:g}" / "acrm.duckdb"
    shutil.rmtree(work.parent, ignore_errors=True)
    work.parent.mkdir(parents=True)
    shutil.copy(source, work)
    assets = {}
    for name, queries in INPUTS.items():
        ours = run_asset(work, name)
        floor = read_inputs(work, queries)
        assets[name] = {"seconds": round(ours, 2), "inputs_seconds": round(floor, 3),
                        "vs_lower_bound": round(ours / floor, 1)}  # fmt: skip
        print(f"scale {scale:g} {name:<24} {ours:7.2f} s, inputs {floor:6.3f} s, "
              f"{ours / floor:6.1f}x the lower bound", flush=True)  # fmt: skip
    naive = naive_basket(work)
    naive["vs_ours"] = round(naive["seconds"] / assets["basket_rules"]["seconds"], 2)
    print(f"scale {scale:g} basket naive (mlxtend)   {naive['seconds']:7.2f} s, one-hot "
          f"{naive['onehot_mb']} MB, {naive['vs_ours']}x ours", flush=True)  # fmt: skip
    total = sum(a["seconds"] for a in assets.values())
    return {"scale": scale, "assets": assets, "total_seconds": round(total, 1),
            "basket_naive": naive}  # fmt: skip


def main() -> None:
    args = bench_args(__doc__)
    results = [measure(scale, args.out) for scale in args.scales]
    report = args.out / "mining.json"
    report.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {report}")


if __name__ == "__main__":
    main()
