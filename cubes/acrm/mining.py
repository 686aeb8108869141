"""Mining: CLV and churn propensity per customer."""

from __future__ import annotations

from cubes.acrm.facts import count
from cubes.model import Aggregate, Ratio, Source

MEASURES = (
    # mining: CLV and churn propensity per customer
    Aggregate(
        "clv",
        "Customer lifetime value over 52 weeks (BG/NBD x Gamma-Gamma), summed",
        sources=(Source("customer_value", "clv"),),
    ),
    Aggregate(
        "expected_purchases",
        "Repeat purchases expected in the next 52 weeks (BG/NBD), summed",
        format="{:,.1f}",
        sources=(Source("customer_value", "expected_purchases"),),
    ),
    Aggregate(
        "valued_customers",
        "Customers with a CLV (a paid order)",
        sources=count("customer_value", "clv is not null"),
        integer=True,
    ),
    Ratio(
        "avg_clv",
        "CLV per customer with a paid order",
        numerator="clv",
        denominator="valued_customers",
    ),
    Aggregate(
        "expected_churners",
        "Sum of churn probabilities of active customers",
        format="{:,.1f}",
        sources=(Source("customer_value", "churn_probability"),),
    ),
    Aggregate(
        "scored_customers",
        "Active customers with a churn score",
        sources=count("customer_value", "churn_probability is not null"),
        integer=True,
    ),
    Ratio(
        "churn_probability",
        "Average probability of no paid order in the next 90 days, active customers",
        format="{:.1%}",
        numerator="expected_churners",
        denominator="scored_customers",
    ),
)
