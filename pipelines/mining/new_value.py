"""The new customers' value asset: each customer's first-year value as predicted at their
first purchase, for marketing to see which channel and campaign bring valuable customers,
not only first orders."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pandas as pd

from core.rules import FIRST_YEAR_DAYS, date_key
from mining.new_value import HOLDOUT_DAYS, MONTH, MONTHS, NewValueInputError, backtest, predict
from pipelines.mining.outputs import (
    NO_ORDERS,
    bands,
    mining_asset,
    nothing_to_mine,
    observation_end,
    write,
)
from pipelines.resources import WarehouseResource

PAID = """
select customer_key, order_id, ordered_at, revenue::double as revenue, line_count,
    sales_channel, channel_key, order_date_key,
    row_number() over (partition by customer_key order by ordered_at, order_id) as nth
from marts.fct_orders
where is_paid and customer_key <> -1
"""
FIRST_SQL = f"""
with paid as ({PAID})
select paid.customer_key, paid.ordered_at as first_at, paid.revenue as first_revenue,
    paid.line_count as first_lines, paid.sales_channel, paid.channel_key,
    paid.order_date_key as first_order_date_key, channels.channel,
    {{persona}} as persona, customers.segment, customers.age_band, customers.income_band,
    customers.education, customers.region, customers.gender
from paid
join marts.dim_customers as customers on paid.customer_key = customers.customer_key
left join marts.dim_channels as channels on paid.channel_key = channels.channel_key
{{persona_join}}
where paid.nth = 1
order by paid.customer_key
"""
REPEATS_SQL = (
    f"with paid as ({PAID}) select customer_key, ordered_at, revenue from paid where nth > 1"
)
OUTPUTS = ("new_customer_value", "new_customer_value_evaluation")


@mining_asset(
    "new_customer_value",
    ["fct_orders", "dim_customers", "dim_channels", "mining.customer_personas"],
    {"python", "scikit-learn", "duckdb"},
    f"Per customer: the value of their first {FIRST_YEAR_DAYS} days (first order + repeat "
    "revenue) as predicted at the first purchase, from the acquisition channel (the first "
    "paid order's), persona, segment, demographics and the first order (a Poisson model "
    "over tenure months); what they spent so far in that year. Backtest on the last "
    f"{HOLDOUT_DAYS} days "
    "against the channel alone and the average: mining.new_customer_value_evaluation.",
)
def new_customer_value(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        end = observation_end(con)
        if end is None:
            return nothing_to_mine(con, NO_ORDERS, *OUTPUTS)
        first, repeats = purchases(con)
        stamp = pd.Timestamp(end, tz=first["first_at"].dt.tz)
        try:
            scored = predict(first, repeats, stamp)
            judged = backtest(first, repeats, stamp)
        except NewValueInputError as exc:
            return nothing_to_mine(con, f"no new-customer value: {exc}", *OUTPUTS)
        table = value_table(scored, repeats, stamp, end)
        evaluation = evaluation_table(judged, end)
        write(con, "new_customer_value", table)
        write(con, "new_customer_value_evaluation", evaluation)
    by_channel = table.groupby("acquisition_channel")["predicted_value"].mean().sort_values()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "value_per_new_customer_by_channel": dg.MetadataValue.json(
                by_channel.round(0).to_dict()
            ),
            "backtest": dg.MetadataValue.md(evaluation.round(3).to_markdown(index=False)),
        }
    )


def purchases(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each customer's first paid order with what is known of them then, and their later
    paid orders. The persona is '(unknown)' where mining.customer_personas is not built."""
    built = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'mining' and table_name = 'customer_personas'"
    ).fetchall()[0][0]
    join = (
        "left join mining.customer_personas as personas "
        "on paid.customer_key = personas.customer_key"
    )
    sql = FIRST_SQL.format(
        persona="personas.persona" if built else "null", persona_join=join if built else ""
    )
    return con.execute(sql).df(), con.execute(REPEATS_SQL).df()


def value_table(
    scored: pd.DataFrame, repeats: pd.DataFrame, stamp: pd.Timestamp, end: dt.date
) -> pd.DataFrame:
    """mining.new_customer_value: the prediction beside what the customer spent so far."""
    window = repeats.merge(scored[["customer_key", "first_at"]], on="customer_key")
    window = window[window["ordered_at"] < window["first_at"] + MONTH * MONTHS]
    spent = window.groupby("customer_key")["revenue"].sum()
    first_day = scored["first_at"].dt.date
    table = pd.DataFrame(
        {
            "customer_key": scored["customer_key"],
            "first_order_date": first_day,
            "first_order_date_key": [date_key(d) for d in first_day],
            "channel_key": scored["channel_key"],
            "acquisition_channel": scored["channel"],
            "persona": scored["persona"],
            "segment": scored["segment"],
            "first_order_revenue": scored["first_revenue"],
            "predicted_repeat": scored["predicted_repeat"],
            "predicted_value": scored["predicted_value"],
            "observed_value": scored["first_revenue"]
            + scored["customer_key"].map(spent).fillna(0.0),
            "months_observed": ((stamp - scored["first_at"]) / MONTH).astype(int).clip(0, MONTHS),
        }
    )
    table["value_band"] = bands(
        table["predicted_value"], ["Top 20%", "60-80%", "40-60%", "20-40%", "Bottom 20%"]
    )
    return table.assign(observation_end=end)


def evaluation_table(judged: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """The backtest, with the model of the lowest Poisson deviance marked best."""
    best = judged["poisson_deviance"].idxmin()
    return judged.assign(
        best=judged.index == best,
        holdout_from=end - dt.timedelta(days=HOLDOUT_DAYS),
        observation_end=end,
    )
