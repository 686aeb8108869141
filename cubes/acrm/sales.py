"""Sales and the funnel: orders, revenue, deals, win rate, stage conversion, leads."""

from __future__ import annotations

from cubes.acrm.facts import count
from cubes.model import Aggregate, Ratio, Source

MEASURES = (
    # sales
    Aggregate(
        "revenue",
        "Revenue of paid orders (line totals less discounts)",
        sources=(Source("orders", "revenue"), Source("order_lines", "revenue")),
    ),
    Aggregate(
        "orders",
        "Number of paid orders",
        sources=(
            *count("orders", "is_paid"),
            Source("order_lines", "case when is_paid then order_id end", "count_distinct"),
        ),
        integer=True,
    ),
    Aggregate(
        "customers",
        "Distinct customers with a paid order",
        sources=tuple(
            Source(fact, "case when is_paid then customer_key end", "count_distinct")
            for fact in ("orders", "order_lines")
        ),
        integer=True,
    ),
    Ratio(
        "avg_check",
        "Average check: revenue / paid orders",
        numerator="revenue",
        denominator="orders",
    ),
    Ratio(
        "revenue_per_customer",
        "Value per customer (V of R = N·V·L): revenue / customers",
        numerator="revenue",
        denominator="customers",
    ),
    Aggregate(
        "units",
        "Units sold in paid orders",
        sources=(Source("order_lines", "case when is_paid then quantity else 0 end"),),
        integer=True,
    ),
    # deals and funnel
    Aggregate("deals", "Number of deals created", sources=count("deals"), integer=True),
    Aggregate("won_deals", "Deals won", sources=count("deals", "is_won"), integer=True),
    Aggregate("lost_deals", "Deals lost", sources=count("deals", "is_lost"), integer=True),
    Aggregate("open_deals", "Deals still open", sources=count("deals", "is_open"), integer=True),
    Aggregate(
        "closed_deals",
        "Deals won or lost",
        sources=count("deals", "is_won or is_lost"),
        integer=True,
    ),
    Ratio(
        "win_rate",
        "Win rate by count: won / (won + lost)",
        format="{:.1%}",
        numerator="won_deals",
        denominator="closed_deals",
    ),
    Aggregate("won_amount", "Amount of won deals", sources=(Source("deals", "won_amount"),)),
    Aggregate(
        "closed_amount",
        "Amount of deals won or lost",
        sources=(Source("deals", "case when is_won or is_lost then amount else 0 end"),),
    ),
    Ratio(
        "win_rate_by_amount",
        "Win rate by amount: won amount / amount won or lost",
        format="{:.1%}",
        numerator="won_amount",
        denominator="closed_amount",
    ),
    Aggregate(
        "cycle_days_total",
        "Sum of cycle days of closed deals",
        format="{:,.1f}",
        sources=(Source("deals", "coalesce(cycle_days, 0)"),),
    ),
    Ratio(
        "avg_cycle_days",
        "Average days from creation to close, closed deals",
        format="{:.1f}",
        numerator="cycle_days_total",
        denominator="closed_deals",
    ),
    Aggregate(
        "deals_reached", "Deals that reached the stage", sources=count("deal_stages"), integer=True
    ),
    Aggregate(
        "deals_to_convert",
        "Deals that reached a stage with a next one (all but the won stage)",
        sources=count("deal_stages", "not is_won_here"),
        integer=True,
    ),
    Aggregate(
        "deals_advanced",
        "Deals that moved on from the stage to a later one",
        sources=count("deal_stages", "is_advanced"),
        integer=True,
    ),
    Aggregate(
        "deals_lost_at_stage",
        "Deals lost at the stage",
        sources=count("deal_stages", "is_lost_here"),
        integer=True,
    ),
    Aggregate(
        "deals_skipped",
        "Deals that skipped the stage",
        sources=count("deal_stages", "is_skipped"),
        integer=True,
    ),
    Ratio(
        "stage_conversion",
        "Stage conversion: deals that moved on / deals that reached the stage (none at Won)",
        format="{:.1%}",
        numerator="deals_advanced",
        denominator="deals_to_convert",
    ),
    Ratio(
        "dropoff_rate",
        "Drop-off: deals lost at the stage / deals that reached it",
        format="{:.1%}",
        numerator="deals_lost_at_stage",
        denominator="deals_reached",
    ),
    Aggregate(
        "stage_days_total",
        "Days spent in stages (stays with an end)",
        format="{:,.1f}",
        sources=(Source("deal_stages", "coalesce(days_in_stage, 0)"),),
    ),
    Aggregate(
        "stage_stays",
        "Stage stays with an end",
        sources=count("deal_stages", "days_in_stage is not null"),
        integer=True,
    ),
    Ratio(
        "avg_days_in_stage",
        "Average days in the stage",
        format="{:.1f}",
        numerator="stage_days_total",
        denominator="stage_stays",
    ),
)
