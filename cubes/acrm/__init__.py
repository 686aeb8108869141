"""The ACRM cube: every level and measure name is declared here, once.

Measures follow the report marts that compute the same thing (docs/reference.md lists them):
revenue counts paid orders; average check is revenue / paid orders; win rate is won / (won +
lost); stage conversion is deals that moved on from a stage / deals that reached it
(rpt_funnel_conversion); ROMI is (attributed revenue - spend) / spend and CPL is spend /
leads by last touch (rpt_marketing_romi); retention is customers still customers at a
month's end / customers at its start (fct_customer_months). Every ratio is computed from
its summed parts at the cell, so it is right at every level.
"""

from __future__ import annotations

from cubes.acrm import calls, campaigns, customers, marketing, mining, sales, service, web
from cubes.acrm.dimensions import (
    ATTRIBUTION,
    CAMPAIGN,
    CHANNEL,
    CONTENT,
    CUSTOMER,
    DATE,
    FUNNEL,
    LOSS_REASON,
    MANAGER,
    PRODUCT,
    TIME,
)
from cubes.acrm.facts import FACTS
from cubes.model import Cube

# in the catalogue's order: sales and the funnel, marketing, calls, web, customers over
# time, mining, service
MEASURES = (
    *sales.MEASURES,
    *marketing.MEASURES,
    *campaigns.MEASURES,
    *calls.MEASURES,
    *web.MEASURES,
    *customers.MEASURES,
    *mining.MEASURES,
    *service.MEASURES,
)

ACRM_CUBE = Cube(
    name="acrm",
    dimensions=(
        DATE,
        TIME,
        CUSTOMER,
        CHANNEL,
        MANAGER,
        FUNNEL,
        LOSS_REASON,
        PRODUCT,
        CONTENT,
        ATTRIBUTION,
        CAMPAIGN,
    ),
    facts=FACTS,
    measures=MEASURES,
)

# The CRM entities each fact is built from: a CRM map that lacks them leaves the fact empty.
FACT_ENTITIES = {
    "orders": ("orders",),
    "order_lines": ("orders", "order_lines"),
    "deals": ("deals",),
    "deal_stages": ("deals", "deal_stage_history", "pipeline_stages"),
    "leads": ("deals",),
    "attributed_revenue": ("orders",),
    "customer_value": ("orders",),
    "customer_months": ("orders",),
    "surveys": ("survey_responses",),
    "tickets": ("tickets",),
    "campaign_members": ("campaign_members",),
}


def measures_without(entities: set[str]) -> list[str]:
    """The cube measures that are empty when the CRM lacks these entities."""
    empty_facts = {f for f, needs in FACT_ENTITIES.items() if set(needs) & entities}
    empty: set[str] = set()
    while True:  # until no composite measure is added
        before = len(empty)
        for measure in ACRM_CUBE.measures:
            sources = getattr(measure, "sources", ())
            facts_empty = bool(sources) and all(s.fact in empty_facts for s in sources)
            if facts_empty or any(p in empty for p in measure.parts()):
                empty.add(measure.name)
        if len(empty) == before:
            return [m for m in ACRM_CUBE.measure_names if m in empty]
