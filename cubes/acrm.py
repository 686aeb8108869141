"""The ACRM cube: every level and measure name is declared here, once.

Measures follow ../shared/docs/domain.md: revenue counts paid orders, average check is
revenue / paid orders, win rate is won / (won + lost).
"""

from __future__ import annotations

from cubes.model import Aggregate, Cube, Dimension, Fact, Level, Ratio

DATE = Dimension(
    "date",
    "marts.dim_dates",
    "date_key",
    (
        Level("year", "year", "Calendar year", int),
        Level("quarter", "quarter", "Year and quarter, e.g. 2025-Q1"),
        Level("month", "month", "Year and month, e.g. 2025-03"),
        Level("day", "date_day", "Calendar day (ISO date)"),
    ),
    "When it happened: order date for orders, creation date for deals.",
)
CUSTOMER = Dimension(
    "customer",
    "marts.dim_customers",
    "customer_key",
    (
        Level("segment", "segment", "Customer segment: Retail, Small business, Corporate"),
        Level("region", "region", "Customer's region"),
        Level("city", "city", "Customer's city"),
    ),
    "Who bought: segment, then geography.",
)
CUSTOMER_PROFILE_LEVELS = (
    Level("gender", "gender", "Customer's gender"),
    Level("age_band", "age_band", "Age band at sign-up"),
    Level("income_band", "income_band", "Monthly income band (RUB)"),
    Level("education", "education", "Education level"),
)
CUSTOMER_PROFILE = Dimension(
    "customer_profile",
    "marts.dim_customers",
    "customer_key",
    CUSTOMER_PROFILE_LEVELS,
    "Customer demographics.",
)
CHANNEL = Dimension(
    "channel",
    "marts.dim_channels",
    "channel_key",
    (
        Level("channel", "channel", "Marketing channel, e.g. Paid Search, Email, Direct"),
        Level("source", "source", "Traffic source within the channel, e.g. google, yandex"),
        Level("campaign", "campaign_name", "Campaign ('(none)' for campaign-free traffic)"),
    ),
    "Where the deal or order came from: channel > source > campaign.",
)
MANAGER = Dimension(
    "manager",
    "marts.dim_managers",
    "manager_key",
    (
        Level("team", "team_name", "Sales team ('(none)' for online orders)"),
        Level("manager", "manager_name", "Sales manager ('(none)' for online orders)"),
    ),
    "Who sold it: team > manager.",
)

ORDERS = Fact(
    "orders",
    "marts.fct_orders",
    {
        "date": "order_date_key",
        "customer": "customer_key",
        "customer_profile": "customer_key",
        "channel": "channel_key",
        "manager": "manager_key",
    },
    "One row per order (marts.fct_orders).",
)
DEALS = Fact(
    "deals",
    "marts.fct_deals",
    {
        "date": "created_date_key",
        "customer": "customer_key",
        "customer_profile": "customer_key",
        "channel": "channel_key",
        "manager": "manager_key",
    },
    "One row per deal (marts.fct_deals), dated by creation.",
)

ACRM_CUBE = Cube(
    name="acrm",
    dimensions=(DATE, CUSTOMER, CUSTOMER_PROFILE, CHANNEL, MANAGER),
    facts=(ORDERS, DEALS),
    measures=(
        Aggregate(
            "revenue",
            "Revenue of paid orders (line totals less discounts)",
            fact="orders",
            expression="revenue",
        ),
        Aggregate(
            "orders",
            "Number of paid orders",
            fact="orders",
            expression="case when is_paid then 1 else 0 end",
            integer=True,
        ),
        Aggregate(
            "customers",
            "Distinct customers with a paid order",
            fact="orders",
            function="count_distinct",
            expression="case when is_paid then customer_key end",
            integer=True,
        ),
        Ratio(
            "avg_check",
            "Average check: revenue / paid orders",
            numerator="revenue",
            denominator="orders",
        ),
        Aggregate("deals", "Number of deals created", fact="deals", expression="1", integer=True),
        Aggregate(
            "won_deals",
            "Deals won",
            fact="deals",
            expression="case when is_won then 1 else 0 end",
            integer=True,
        ),
        Aggregate(
            "lost_deals",
            "Deals lost",
            fact="deals",
            expression="case when is_lost then 1 else 0 end",
            integer=True,
        ),
        Aggregate(
            "closed_deals",
            "Deals won or lost",
            fact="deals",
            expression="case when is_won or is_lost then 1 else 0 end",
            integer=True,
        ),
        Ratio(
            "win_rate",
            "Win rate by count: won / (won + lost)",
            numerator="won_deals",
            denominator="closed_deals",
            format="{:.1%}",
        ),
        Aggregate("won_amount", "Amount of won deals", fact="deals", expression="won_amount"),
        Aggregate(
            "cycle_days_total",
            "Sum of cycle days of closed deals",
            fact="deals",
            expression="coalesce(cycle_days, 0)",
        ),
        Ratio(
            "avg_cycle_days",
            "Average days from creation to close, closed deals",
            numerator="cycle_days_total",
            denominator="closed_deals",
            format="{:.1f}",
        ),
    ),
)
