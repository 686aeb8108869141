"""The uplift asset: per campaign with a holdout, each customer's predicted uplift, and
the model's evaluation on held-out members beside random targeting."""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd

from mining.uplift import UpliftInputError, evaluate, fit, predict, prepare
from pipelines.mining.outputs import mining_asset, nothing_to_mine, write
from pipelines.resources import WarehouseResource

FEATURES = """
select *, datediff('day', last_order, as_of) as days_since_order,
    datediff('day', created_at, as_of) as tenure_days
from (
    select {who}, customers.segment, {persona} as persona,
        count(orders.order_id) as orders, coalesce(sum(orders.revenue), 0)::double as revenue,
        max(orders.ordered_at) as last_order, any_value({at}) as as_of,
        any_value(customers.created_at) as created_at
    from {base}
    join marts.dim_customers as customers on {key} = customers.customer_key
    {persona_join}
    left join marts.fct_orders as orders
        on orders.customer_key = customers.customer_key and orders.is_paid
        and orders.ordered_at < {at}
    where customers.customer_key <> -1 {where}
    group by all
)
"""
OUTPUTS = ("customer_uplift", "uplift_evaluation")


def _sql(con: duckdb.DuckDBPyConnection, members: bool) -> str:
    built = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'mining' and table_name = 'customer_personas'"
    ).fetchall()[0][0]
    persona_join = (
        "left join mining.customer_personas as personas "
        "on customers.customer_key = personas.customer_key"
        if built
        else ""
    )
    if members:
        return FEATURES.format(
            who="m.campaign_key, campaigns.campaign_name, m.customer_key, m.is_treatment, "
            "m.responded",
            base="marts.fct_campaign_members as m join marts.dim_campaigns as campaigns "
            "on m.campaign_key = campaigns.campaign_key",
            key="m.customer_key", at="m.sent_at", where="and m.is_window_complete",
            persona="personas.persona" if built else "null", persona_join=persona_join,
        )  # fmt: skip
    return FEATURES.format(
        who="customers.customer_key", base="(select max(ordered_at) + interval 1 day as build_end "
        "from marts.fct_orders) as build", key="customers.customer_key", at="build.build_end",
        where="", persona="personas.persona" if built else "null", persona_join=persona_join,
    ).replace("join marts.dim_customers as customers on customers.customer_key = "
              "customers.customer_key", "cross join marts.dim_customers as customers")  # fmt: skip


@mining_asset(
    "customer_uplift",
    ["fct_campaign_members", "fct_orders", "dim_customers", "dim_campaigns",
     "mining.customer_personas"],
    {"python", "scikit-learn", "duckdb"},
    "Per customer and campaign with a holdout: the predicted response if sent it and if "
    "not, and the uplift between (two logistic regressions on segment, persona, paid "
    "orders, revenue, days since the last order and tenure at the send). "
    "mining.uplift_evaluation: on 30% of members held out, the observed uplift by decile of "
    "predicted uplift and the Qini coefficient (random targeting: 0).",
)  # fmt: skip
def customer_uplift(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        members = prepare(con.execute(_sql(con, members=True)).df())
        customers = prepare(con.execute(_sql(con, members=False)).df())
        scores, judged, skipped = [], [], {}
        for (key, name), rows in members.groupby(["campaign_key", "campaign_name"]):
            try:
                models = fit(rows)
                deciles, qini = evaluate(rows)
            except UpliftInputError as exc:
                skipped[name] = str(exc)
                continue
            scored = predict(models, customers)
            scores.append(scored.assign(customer_key=customers["customer_key"],
                                        campaign_key=key, campaign_name=name))  # fmt: skip
            judged.append(deciles.assign(campaign_key=key, campaign_name=name, qini=qini))
        if not scores:
            reason = "no uplift model: " + (
                "; ".join(f"{k}: {v}" for k, v in skipped.items()) or "no campaign members"
            )
            return nothing_to_mine(con, reason, *OUTPUTS)
        write(con, "customer_uplift", pd.concat(scores, ignore_index=True))
        evaluation = pd.concat(judged, ignore_index=True)
        write(con, "uplift_evaluation", evaluation)
    qinis = evaluation.groupby("campaign_name")["qini"].first().round(4).to_dict()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(len(s) for s in scores),
            "qini_by_campaign": dg.MetadataValue.json(qinis),
            "skipped": dg.MetadataValue.json(skipped),
        }
    )
