"""Mining assets: models fitted on the marts, written back to the warehouse (schema mining)
so the cube can slice them by channel, manager and segment."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

from core.rules import churn_horizon_days
from mining.basket import association_rules, frequent_itemsets
from mining.churn import train
from mining.clv import customer_lifetime_value, summarise
from mining.recommend import Purchases, evaluate, recommend
from pipelines.resources import WRITER_POOL, WarehouseResource

SCHEMA = "mining"
CLV_HORIZON_WEEKS = 52
MONTHLY_DISCOUNT = 0.01
CHURN_WINDOW_DAYS = 90


def bands(values: pd.Series, labels: list[str]) -> pd.Series:
    """Quantile bands, highest values first in `labels` (e.g. top 20 % -> labels[0])."""
    ranks = values.rank(method="first", pct=True)
    edges = np.linspace(0, 1, len(labels) + 1)
    return pd.cut(ranks, edges, labels=list(reversed(labels)), include_lowest=True).astype(str)


def write(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.register("_frame", frame)
    try:
        con.execute(f"create or replace table {SCHEMA}.{table} as select * from _frame")
    finally:
        con.unregister("_frame")


def mining_asset(name: str, marts: list[str], kinds: set[str], description: str):
    """A mining asset: writes mining.<name> from the named marts, in the writer pool."""
    return dg.asset(
        key=[SCHEMA, name],
        deps=[dg.AssetKey(["marts", mart]) for mart in marts],
        group_name="mining",
        pool=WRITER_POOL,
        kinds=kinds,
        description=description,
    )


def observation_end(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The day after the last order: the models look at the history up to the build.
    None when there are no orders (a CRM without them, or not landed yet)."""
    last = con.execute("select max(ordered_at) from marts.fct_orders").fetchall()[0][0]
    return None if last is None else last.date() + dt.timedelta(days=1)


# Each output's columns, for the empty table written when there is nothing to mine: readers
# (the cube's customer_value fact, the report) find the table and see it has no rows.
EMPTY_OUTPUTS = {
    "customer_clv": "customer_key bigint, frequency bigint, recency double, T double, "
    "monetary double, p_alive double, expected_purchases double, expected_spend double, "
    "clv double, clv_band varchar, observation_end date",
    "customer_churn": "customer_key bigint, recency_days double, frequency double, "
    "monetary double, tenure_days double, tickets double, resolution_hours double, "
    "csat double, surveyed double, calls double, missed_calls double, web_sessions double, "
    "churn_probability double, top_drivers varchar, churn_risk_band varchar, "
    "observation_end date",
    "churn_drivers": "feature varchar, coefficient double, weight double, "
    "observation_end date, auc double",
    "basket_rules": "rule_rank bigint, antecedent_keys integer[], consequent_keys integer[], "
    "antecedent varchar, consequent varchar, support double, confidence double, lift double, "
    "leverage double, conviction double",
    "product_recommendations": "customer_key bigint, rank bigint, product_key bigint, "
    "score double, product_name varchar, category_name varchar, observation_end date",
    "recommendation_evaluation": "k bigint, customers bigint, precision double, "
    "recall double, popular_precision double, popular_recall double, holdout_from date, "
    "observation_end date",
}


def nothing_to_mine(con: duckdb.DuckDBPyConnection, reason: str, *tables: str):
    """Empty outputs and a materialization that says why: a source without orders is a
    company's reality, not a failure."""
    con.execute(f"create schema if not exists {SCHEMA}")
    for table in tables:
        con.execute(f"create or replace table {SCHEMA}.{table} ({EMPTY_OUTPUTS[table]})")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": 0, "no_data": dg.MetadataValue.text(reason)}
    )


NO_ORDERS = "no data: marts.fct_orders has no orders (the CRM has none, or none landed yet)"


@mining_asset(
    "customer_clv",
    ["fct_orders"],
    {"python", "duckdb"},
    "Per customer: BG/NBD probability alive and expected purchases, Gamma-Gamma "
    f"expected spend, and CLV over {CLV_HORIZON_WEEKS} weeks (monthly discount "
    f"{MONTHLY_DISCOUNT:.0%}); clv_band by quintile. Repeat purchases are distinct days.",
)
def customer_clv(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        end = observation_end(con)
        if end is None:
            return nothing_to_mine(con, NO_ORDERS, "customer_clv")
        orders = con.sql(
            "select customer_key, ordered_at, revenue from marts.fct_orders "
            "where is_paid and customer_key <> -1"
        ).df()
        summary = summarise(orders, "customer_key", "ordered_at", "revenue", end, "week")
        result = customer_lifetime_value(
            summary, CLV_HORIZON_WEEKS, "week", discount_rate=MONTHLY_DISCOUNT
        )
        table = result.customers.rename(columns={"customer": "customer_key"})
        table["clv_band"] = bands(
            table["clv"], ["Top 20%", "60-80%", "40-60%", "20-40%", "Bottom 20%"]
        )
        table["observation_end"] = end
        write(con, "customer_clv", table)
    b, g = result.bgnbd, result.gamma_gamma
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "observation_end": str(end),
            "bgnbd_r": b.r,
            "bgnbd_alpha": b.alpha,
            "bgnbd_a": b.a,
            "bgnbd_b": b.b,
            "bgnbd_log_likelihood": b.log_likelihood,
            "gamma_gamma_p": g.p,
            "gamma_gamma_q": g.q,
            "gamma_gamma_gamma": g.gamma,
            "gamma_gamma_log_likelihood": g.log_likelihood,
            "gamma_gamma_q_at_bound": g.q_at_bound,
            "mean_spend_per_purchase": g.population_mean,
            "total_clv": float(table["clv"].sum()),
        }
    )


@mining_asset(
    "customer_churn",
    ["fct_orders", "fct_tickets", "fct_survey_responses", "fct_calls", "fct_web_sessions"],
    {"python", "scikit-learn", "duckdb"},
    "Per active customer (a paid order in the last 180 days): the probability of "
    f"no paid order in the next {CHURN_WINDOW_DAYS} days, a risk band and the top drivers. "
    "Logistic regression trained and tested on two earlier snapshots (a time-based split).",
)
def customer_churn(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        end = observation_end(con)
        if end is None:
            return nothing_to_mine(con, NO_ORDERS, "customer_churn", "churn_drivers")
        model, scored = train(con, end, CHURN_WINDOW_DAYS, churn_horizon_days())
        scored["churn_risk_band"] = bands(scored["churn_probability"], ["High", "Medium", "Low"])
        scored["observation_end"] = end
        write(con, "customer_churn", scored)
        drivers = model.drivers()
        write(con, "churn_drivers", drivers.assign(observation_end=end, auc=model.auc))
    table = "\n".join(
        ["| feature | coefficient |", "|---|---|"]
        + [f"| {r.feature} | {r.coefficient:+.3f} |" for r in drivers.itertuples()]
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(scored),
            "auc": dg.MetadataValue.float(round(model.auc, 4)),
            "train_cutoff": str(model.train_cutoff),
            "test_cutoff": str(model.test_cutoff),
            "train_rows": model.train_rows,
            "test_rows": model.test_rows,
            "drivers": dg.MetadataValue.md(table),
        }
    )


BASKET_MIN_SUPPORT = 0.001  # 0.1 % of paid orders, and at least BASKET_MIN_ORDERS orders:
BASKET_MIN_ORDERS = 5  # on a small history, 2 orders in common make a meaningless lift
BASKET_MIN_CONFIDENCE = 0.05


@mining_asset(
    "basket_rules",
    ["fct_order_lines", "dim_products"],
    {"python", "duckdb"},
    "Association rules between products over paid orders (Apriori, itemsets up "
    f"to 3, support >= {BASKET_MIN_SUPPORT:.1%} and {BASKET_MIN_ORDERS} orders, confidence >= "
    f"{BASKET_MIN_CONFIDENCE:.0%}): "
    "support, confidence, lift, leverage, conviction; product keys and names.",
)
def basket_rules(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        lines = con.sql(
            "select order_id, product_key from marts.fct_order_lines "
            "where is_paid and product_key <> -1"
        ).df()
        orders = lines["order_id"].nunique()
        if orders < BASKET_MIN_ORDERS:
            reason = f"no data: {orders} paid orders with known products, too few for rules"
            return nothing_to_mine(con, reason, "basket_rules")
        support = max(BASKET_MIN_SUPPORT, BASKET_MIN_ORDERS / max(orders, 1))
        itemsets, orders = frequent_itemsets(lines, "order_id", "product_key", support)
        rules = association_rules(itemsets, BASKET_MIN_CONFIDENCE)
        names = dict(
            con.execute("select product_key, product_name from marts.dim_products").fetchall()
        )
        table = pd.DataFrame(
            {
                "rule_rank": range(1, len(rules) + 1),
                "antecedent_keys": rules["antecedent"].map(lambda t: [int(k) for k in t]),
                "consequent_keys": rules["consequent"].map(lambda t: [int(k) for k in t]),
                "antecedent": rules["antecedent"].map(
                    lambda t: " + ".join(names[int(k)] for k in t)
                ),
                "consequent": rules["consequent"].map(
                    lambda t: " + ".join(names[int(k)] for k in t)
                ),
                "support": rules["support"],
                "confidence": rules["confidence"],
                "lift": rules["lift"],
                "leverage": rules["leverage"],
                "conviction": rules["conviction"].replace(np.inf, np.nan),  # NaN: always follows
            }
        )
        write(con, "basket_rules", table)
    top = table.head(5)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "orders": orders,
            "min_support": support,
            "frequent_itemsets": len(itemsets),
            "top_rules": dg.MetadataValue.md(
                "\n".join(
                    ["| rule | lift | confidence |", "|---|---|---|"]
                    + [
                        f"| {r.antecedent} -> {r.consequent} | {r.lift:.1f} | {r.confidence:.2f} |"
                        for r in top.itertuples()
                    ]
                )
            ),
        }
    )


RECOMMENDATIONS_PER_CUSTOMER = 5
RECOMMENDATION_HOLDOUT_DAYS = 90


@mining_asset(
    "product_recommendations",
    ["fct_order_lines", "fct_orders", "dim_products"],
    {"python", "scipy", "duckdb"},
    f"Per customer, the top {RECOMMENDATIONS_PER_CUSTOMER} products not yet bought "
    "by item-based collaborative filtering (cosine similarity of the products' buyers over "
    "paid orders). precision@k and recall@k on the last "
    f"{RECOMMENDATION_HOLDOUT_DAYS} days (fitted on the days before), next to a popularity "
    "baseline, are metadata and mining.recommendation_evaluation.",
)
def product_recommendations(warehouse: WarehouseResource) -> dg.MaterializeResult:
    k = RECOMMENDATIONS_PER_CUSTOMER
    with warehouse.connect() as con:
        end = observation_end(con)
        if end is None:
            return nothing_to_mine(
                con, NO_ORDERS, "product_recommendations", "recommendation_evaluation"
            )
        cutoff = end - dt.timedelta(days=RECOMMENDATION_HOLDOUT_DAYS)
        lines = con.execute(
            "select distinct l.customer_key, l.product_key, o.ordered_at >= $cutoff as is_after "
            "from marts.fct_order_lines as l join marts.fct_orders as o using (order_id) "
            "where l.is_paid and l.customer_key <> -1 and l.product_key <> -1",
            {"cutoff": cutoff},
        ).df()
        scores = evaluate(
            lines[~lines["is_after"]], lines[lines["is_after"]], "customer_key", "product_key", k
        )
        found = recommend(Purchases.from_pairs(lines, "customer_key", "product_key"), k)
        products = con.sql(
            "select product_key as item, product_name, category_name from marts.dim_products"
        ).df()
        table = (
            found.merge(products, on="item", how="left")
            .rename(columns={"customer": "customer_key", "item": "product_key"})
            .assign(observation_end=end)
        )
        write(con, "product_recommendations", table)
        write(
            con,
            "recommendation_evaluation",
            pd.DataFrame([asdict(scores) | {"holdout_from": cutoff, "observation_end": end}]),
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "customers": int(table["customer_key"].nunique()),
            "holdout_from": str(cutoff),
            "customers_evaluated": scores.customers,
            f"precision_at_{k}": dg.MetadataValue.float(round(scores.precision, 4)),
            f"recall_at_{k}": dg.MetadataValue.float(round(scores.recall, 4)),
            f"popular_precision_at_{k}": dg.MetadataValue.float(round(scores.popular_precision, 4)),
            f"popular_recall_at_{k}": dg.MetadataValue.float(round(scores.popular_recall, 4)),
        }
    )


mining_assets = [customer_clv, customer_churn, basket_rules, product_recommendations]
