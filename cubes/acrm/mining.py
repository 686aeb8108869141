"""Mining: CLV and churn propensity per customer, the open deals' win probability, the
revenue forecast and the new customers' predicted value."""

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
    Aggregate(
        "pipeline_expected_revenue",
        "Open deals' amount x win probability within 90 days (the win model), by expected "
        "close day",
        sources=(Source("open_deals", "expected_revenue"),),
    ),
    Aggregate(
        "open_deal_win_chances",
        "Sum of the open deals' win probabilities: the wins to expect",
        format="{:,.1f}",
        sources=(Source("open_deals", "win_probability"),),
    ),
    Aggregate(
        "scored_open_deals",
        "Open deals scored by the win model",
        sources=count("open_deals"),
        integer=True,
    ),
    Ratio(
        "win_probability",
        "Average probability that an open deal is won within 90 days",
        format="{:.1%}",
        numerator="open_deal_win_chances",
        denominator="scored_open_deals",
    ),
    Aggregate(
        "predicted_value_new_customers",
        "First-year value (first order + 12 months' repeat revenue) of the customers whose "
        "first paid order is in the cell, as the new-customer model predicted it at that "
        "order; slice by channel.campaign to see who brings valuable customers",
        sources=(Source("new_customer_value", "predicted_value"),),
    ),
    Aggregate(
        "valued_new_customers",
        "Customers whose first paid order is in the cell (scored by the new-customer model)",
        sources=count("new_customer_value"),
        integer=True,
    ),
    Ratio(
        "predicted_value_per_new_customer",
        "Predicted first-year value per new customer",
        numerator="predicted_value_new_customers",
        denominator="valued_new_customers",
    ),
    Aggregate(
        "forecast_revenue",
        "Revenue forecast for the month (ETS, 6 months ahead); slice by date.month",
        sources=(Source("revenue_forecast", "forecast"),),
    ),
    Aggregate(
        "forecast_revenue_low",
        "Lower bound of the month's 80% prediction interval (valid per month, not summed)",
        sources=(Source("revenue_forecast", "low_80"),),
    ),
    Aggregate(
        "forecast_revenue_high",
        "Upper bound of the month's 80% prediction interval (valid per month, not summed)",
        sources=(Source("revenue_forecast", "high_80"),),
    ),
)
