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
DEPS = [dg.AssetKey(k) for k in LANDED]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            [SCHEMA, "customer_identifiers"],
            deps=DEPS,
            group_name="identity",
            kinds={"duckdb"},
            description="One row per (customer, identifier): E.164 phones, SHA-256 of "
            "normalised emails, web user ids. identity.match_rates says how much of the calls "
            "and web traffic each joins to a customer.",
        ),
        dg.AssetSpec(
            [SCHEMA, "call_numbers"],
            deps=DEPS,
            group_name="identity",
            kinds={"duckdb"},
            description="Each external phone number in the CDRs as written, its E.164 form "
            "and the customer it belongs to.",
        ),
    ],
    pool=WRITER_POOL,
)
def customer_identity_map(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        rates = build_identity_map(con)
        counts = dict(
            con.execute(
                f"select 'customer_identifiers', count(*) from {SCHEMA}.customer_identifiers "
                f"union all select 'call_numbers', count(*) from {SCHEMA}.call_numbers"
            ).fetchall()
        )
    for measure, rate in rates.items():  # no rate: that source has no data
        context.log.info(f"{measure}: {'no data' if rate is None else f'{rate:.1%}'}")
    rate_metadata = {
        measure: dg.MetadataValue.float(round(float(rate), 4))
        if rate is not None
        else dg.MetadataValue.text("no data")
        for measure, rate in rates.items()
    }
    yield dg.MaterializeResult(
        asset_key=[SCHEMA, "customer_identifiers"],
        metadata={"dagster/row_count": counts["customer_identifiers"], **rate_metadata},
    )
    yield dg.MaterializeResult(
        asset_key=[SCHEMA, "call_numbers"],
        metadata={"dagster/row_count": counts["call_numbers"]},
    )
