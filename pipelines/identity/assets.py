"""The customer identity map, built from the landed CRM, calls and web events."""

import dagster as dg

from pipelines.identity.resolution import SCHEMA, build_identity_map
from pipelines.resources import WRITER_POOL, WarehouseResource

LANDED = [
    ["raw", "crm_customers"],
    ["raw", "crm_contacts"],
    ["raw", "cdr_calls"],
    ["raw", "ga4_events"],
]


@dg.asset(
    key=[SCHEMA, "customer_identifiers"],
    deps=[dg.AssetKey(k) for k in LANDED],
    group_name="identity",
    pool=WRITER_POOL,
    kinds={"duckdb"},
    description="One row per (customer, identifier): E.164 phones, SHA-256 of normalised "
    "emails, web user ids. identity.match_rates says how much of the calls and "
    "web traffic each joins to a customer.",
)
def customer_identity_map(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        rates = build_identity_map(con)
        rows = con.execute(f"select count(*) from {SCHEMA}.customer_identifiers").fetchall()
    for measure, rate in rates.items():
        context.log.info(f"{measure}: {rate:.1%}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows[0][0],
            **{
                measure: dg.MetadataValue.float(round(float(rate), 4))
                for measure, rate in rates.items()
            },
        }
    )
