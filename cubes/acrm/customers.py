"""Customers over time: N·V·L, retention, churn."""

from __future__ import annotations

from cubes.acrm.facts import count
from cubes.model import Aggregate, Ratio, Source

MEASURES = (
    # customers over time: N·V·L, retention, churn
    Aggregate(
        "active_customers",
        "Distinct customers with a paid order in the period",
        sources=(
            Source(
                "customer_months", "case when is_active then customer_key end", "count_distinct"
            ),
        ),
        integer=True,
    ),
    Aggregate(
        "new_customers",
        "Customers with their first order in the period",
        sources=count("customer_months", "is_new"),
        integer=True,
    ),
    Aggregate(
        "customers_at_start",
        "Customers at the start of each month, summed over the months of the cell",
        sources=count("customer_months", "is_customer_at_start"),
        integer=True,
    ),
    Aggregate(
        "retained_customers",
        "Customers at a month's start still customers at its end, summed over months",
        sources=count("customer_months", "is_retained"),
        integer=True,
    ),
    Ratio(
        "retention_rate",
        "Monthly retention: retained / customers at the start (pooled over the cell's months)",
        format="{:.1%}",
        numerator="retained_customers",
        denominator="customers_at_start",
    ),
    Aggregate(
        "churned_customers",
        "Customers who churned in the period (no order for the churn horizon)",
        sources=count("customer_months", "is_churned"),
        integer=True,
    ),
)
