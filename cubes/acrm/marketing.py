"""Marketing: spend, attributed revenue, ROMI, cost per lead."""

from __future__ import annotations

from cubes.acrm.facts import count
from cubes.model import Aggregate, Difference, Ratio, Source

MEASURES = (
    # marketing
    Aggregate("spend", "Marketing spend", sources=(Source("spend", "spend"),)),
    Aggregate(
        "impressions", "Ad impressions", sources=(Source("spend", "impressions"),), integer=True
    ),
    Aggregate("clicks", "Ad clicks", sources=(Source("spend", "clicks"),), integer=True),
    Ratio(
        "ctr",
        "Click-through rate: clicks / impressions",
        format="{:.2%}",
        numerator="clicks",
        denominator="impressions",
    ),
    Aggregate(
        "attributed_revenue",
        "Revenue credited to the channel by the attribution model",
        sources=(Source("attributed_revenue", "attributed_revenue"),),
    ),
    Aggregate(
        "attributed_orders",
        "Orders credited to the channel (fractions under linear)",
        format="{:,.1f}",
        sources=(Source("attributed_revenue", "weight"),),
    ),
    Difference(
        "marketing_return",
        "Attributed revenue - spend",
        minuend="attributed_revenue",
        subtrahend="spend",
    ),
    Ratio(
        "romi",
        "ROMI: (attributed revenue - spend) / spend",
        format="{:.1%}",
        numerator="marketing_return",
        denominator="spend",
    ),
    Aggregate(
        "leads",
        "Leads, by the channel of their last non-direct touch",
        sources=count("leads"),
        integer=True,
    ),
    Aggregate(
        "converted_leads",
        "Leads that became a won deal",
        sources=count("leads", "is_converted"),
        integer=True,
    ),
    Ratio(
        "lead_conversion",
        "Leads won / leads",
        format="{:.1%}",
        numerator="converted_leads",
        denominator="leads",
    ),
    Ratio(
        "cpl",
        "Cost per lead: spend / leads",
        format="{:,.2f}",
        numerator="spend",
        denominator="leads",
    ),
    Ratio(
        "cpo",
        "Cost per order: spend / attributed orders",
        format="{:,.2f}",
        numerator="spend",
        denominator="attributed_orders",
    ),
)
