"""Mining assets: models fitted on the marts, written back to the warehouse (schema mining)
so the cube can slice them by channel, manager and segment."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

import dagster as dg
import numpy as np
import pandas as pd

from core.rules import churn_horizon_days
from mining.basket import association_rules, frequent_itemsets
from mining.churn import train
from mining.clv import customer_lifetime_value, summarise
from mining.recommend import Purchases, evaluate, recommend
from pipelines.mining.forecasts import deal_win_probability, revenue_forecast
from pipelines.mining.new_value import new_customer_value
from pipelines.mining.outputs import (
    NO_ORDERS,
    bands,
    mining_asset,
    nothing_to_mine,
    observation_end,
    write,
)
from pipelines.mining.personas import customer_personas
from pipelines.mining.uplift import customer_uplift
from pipelines.resources import WarehouseResource

CLV_HORIZON_WEEKS = 52
MONTHLY_DISCOUNT = 0.01
CHURN_WINDOW_DAYS = 90


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
    "Association rules between products over paid orders (Apriori, itemsets of any "
    f"size, support >= {BASKET_MIN_SUPPORT:.1%} and {BASKET_MIN_ORDERS} orders, confidence >= "
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


def recommendation_verdict(scores) -> str:
    """One sentence: does collaborative filtering beat the popularity baseline, by how much."""
    k, ours, baseline = scores.k, scores.precision, scores.popular_precision
    if ours > baseline:
        gain = f" ({ours / baseline - 1:+.0%})" if baseline > 0 else ""
        return (
            f"beats the baseline: precision@{k} {ours:.3f} against {baseline:.3f} for the most "
            f"popular products not yet bought{gain}"
        )
    return (
        f"does NOT beat the baseline: precision@{k} {ours:.3f} against {baseline:.3f} for the "
        "most popular products not yet bought; recommend the popular products instead"
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
        verdict = recommendation_verdict(scores)
        row = asdict(scores) | {"beats_baseline": scores.precision > scores.popular_precision}
        row |= {"verdict": verdict, "holdout_from": cutoff, "observation_end": end}
        write(con, "recommendation_evaluation", pd.DataFrame([row]))
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
            "verdict": dg.MetadataValue.text(verdict),
        }
    )


mining_assets = [
    customer_clv,
    customer_churn,
    basket_rules,
    product_recommendations,
    deal_win_probability,
    revenue_forecast,
    customer_personas,
    new_customer_value,
    customer_uplift,
]
