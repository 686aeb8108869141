"""What every mining asset shares: the schema, the writer, the empty outputs."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

from pipelines.resources import WRITER_POOL

SCHEMA = "mining"


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
    """A mining asset: writes mining.<name> from the named marts (or, named
    'mining.<asset>', another mining asset's output), in the writer pool."""
    return dg.asset(
        key=[SCHEMA, name],
        deps=[dg.AssetKey(m.split(".") if "." in m else ["marts", m]) for m in marts],
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
    "deal_win_probability": "deal_id bigint, customer_key bigint, manager_key bigint, "
    "channel_key varchar, stage_key bigint, amount double, win_probability double, "
    "expected_revenue double, expected_close_date date, expected_close_date_key integer, "
    "observation_end date",
    "win_model_evaluation": "bin bigint, bin_from double, bin_to double, deals bigint, "
    "mean_predicted double, win_rate double, brier double, base_rate_brier double, "
    "base_rate double, calibration_error double, test_cutoff date, observation_end date",
    "revenue_forecast": "measure varchar, level varchar, member varchar, month date, "
    "month_date_key integer, forecast double, low_80 double, high_80 double, low_95 double, "
    "high_95 double, model varchar, observation_end date",
    "forecast_backtest": "measure varchar, model varchar, horizon bigint, mape double, "
    "mase double, interval_coverage double, origins bigint, observation_end date",
    "customer_personas": "customer_key bigint, persona varchar, "
    "membership_probability double, distance double",
    "persona_profiles": "persona varchar, customers bigint, share double, paid_orders double, "
    "revenue double, online_share double, tickets double, low_csat double",
    "new_customer_value": "customer_key bigint, first_order_date date, "
    "first_order_date_key integer, channel_key varchar, acquisition_channel varchar, "
    "persona varchar, segment varchar, first_order_revenue double, predicted_repeat double, "
    "predicted_value double, observed_value double, months_observed bigint, "
    "value_band varchar, observation_end date",
    "new_customer_value_evaluation": "model varchar, customers bigint, "
    "poisson_deviance double, rmse double, top_fifth_revenue_share double, predicted double, "
    "actual double, best boolean, holdout_from date, observation_end date",
    "customer_uplift": "p_treated double, p_control double, uplift double, "
    "customer_key bigint, campaign_key bigint, campaign_name varchar",
    "uplift_evaluation": "decile bigint, members bigint, treated_rate double, "
    "control_rate double, mean_predicted_uplift double, observed_uplift double, "
    "campaign_key bigint, campaign_name varchar, qini double",
    "recommendation_evaluation": "k bigint, customers bigint, precision double, "
    "recall double, popular_precision double, popular_recall double, beats_baseline boolean, "
    "verdict varchar, holdout_from date, observation_end date",
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
