"""The personas asset: latent classes of customers over their demographics, named by what
sets them apart, with each persona's buying profiled beside it."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from mining.personas import PersonaInputError, fit_personas, profile
from pipelines.mining.outputs import mining_asset, nothing_to_mine, write
from pipelines.resources import WarehouseResource

CUSTOMERS_SQL = """
with orders as (
    select customer_key, count(*) as paid_orders, sum(revenue)::double as revenue,
        avg(case when sales_channel = 'online' then 1.0 else 0.0 end) as online_share
    from marts.fct_orders where is_paid group by 1
),
tickets as (select customer_key, count(*) as tickets from marts.fct_tickets group by 1),
surveys as (
    select customer_key, min(csat) <= 2 as low_csat
    from marts.fct_survey_responses where csat is not null group by 1
)
select c.customer_key, c.age_band, c.income_band, c.education, c.region, c.gender,
    coalesce(o.paid_orders, 0) as paid_orders, coalesce(o.revenue, 0) as revenue,
    o.online_share, coalesce(t.tickets, 0) as tickets,
    coalesce(s.low_csat, false)::double as low_csat
from marts.dim_customers as c
left join orders as o using (customer_key)
left join tickets as t using (customer_key)
left join surveys as s using (customer_key)
where c.customer_key <> -1
order by c.customer_key
"""
BEHAVIOUR = ["paid_orders", "revenue", "online_share", "tickets", "low_csat"]


@mining_asset(
    "customer_personas",
    ["dim_customers", "fct_orders", "fct_tickets", "fct_survey_responses"],
    {"python", "stepmix", "duckdb"},
    "Per customer: a persona, a latent class over age band, income, education, region and "
    "gender (StepMix, the number of classes by BIC), named by its most distinctive traits; "
    "its posterior probability and distance. mining.persona_profiles: each persona's size, "
    "paid orders, revenue, online share, tickets and low-CSAT share per customer.",
)
def customer_personas(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        customers = con.execute(CUSTOMERS_SQL).df()
        try:
            found = fit_personas(customers)
        except PersonaInputError as exc:
            reason = f"no personas: {exc}"
            return nothing_to_mine(con, reason, "customer_personas", "persona_profiles")
        table = pd.DataFrame(
            {
                "customer_key": customers["customer_key"],
                "persona": [found.names[k] for k in found.labels],
                "membership_probability": found.probability,
                "distance": found.distance,
            }
        )
        profiles = profile(customers, found.labels, found.names, BEHAVIOUR)
        write(con, "customer_personas", table)
        write(con, "persona_profiles", profiles)
    bic = {str(k): round(v, 1) for k, v in found.bic.items()}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "personas": len(found.names),
            "bic_by_size": dg.MetadataValue.json(bic),
            "profiles": dg.MetadataValue.md(profiles.round(2).to_markdown(index=False)),
        }
    )
