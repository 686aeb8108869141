"""The facts the cube reads (marts), with the dimensions each joins, and `count`, the
source of a measure that counts a fact's rows."""

from __future__ import annotations

from cubes.model import Fact, Source

_PARTY = {"customer": "customer_key", "manager": "manager_key"}
_SALE = {**_PARTY, "channel": "channel_key"}
FACTS = (
    Fact("orders", "marts.fct_orders", {"date": "order_date_key", **_SALE}, "One row per order."),
    Fact(
        "order_lines",
        "marts.fct_order_lines",
        {"date": "order_date_key", **_SALE, "product": "product_key"},
        "One row per order line.",
    ),
    Fact(
        "deals",
        "marts.fct_deals",
        {
            "date": "created_date_key",
            **_SALE,
            "loss_reason": "loss_reason_key",
            "product": "product_key",
        },
        "One row per deal, dated by creation. Its product is unknown unless the CRM records it.",
    ),
    Fact(
        "deal_stages",
        "marts.fct_deal_stage_transitions",
        {
            "date": "deal_created_date_key",
            **_SALE,
            "funnel": "stage_key",
            "loss_reason": "loss_reason_key",
        },
        "One row per deal x stage reached, dated by the deal's creation.",
    ),
    Fact(
        "calls",
        "marts.fct_calls",
        {"date": "call_date_key", "time": "hour_key", **_PARTY},
        "One row per call (a linkedid; its legs are call_legs). The manager is who answered, "
        "who was rung last when nobody did, or who dialled out.",
    ),
    Fact(
        "call_legs",
        "marts.fct_call_legs",
        {"date": "call_date_key", "time": "hour_key", "manager": "manager_key"},
        "One row per call leg (a CDR line): the manager whose extension it rang or dialled.",
    ),
    Fact(
        "leads",
        "marts.fct_leads",
        {"date": "lead_date_key", **_PARTY, "channel": "last_touch_channel_key"},
        "One row per lead, with the channel of its last non-direct touch.",
    ),
    Fact(
        "spend",
        "marts.fct_marketing_spend",
        {"date": "spend_date_key", "channel": "channel_key"},
        "Ad spend per day x campaign.",
    ),
    Fact(
        "attributed_revenue",
        "marts.fct_attributed_revenue",
        {
            "date": "order_date_key",
            "customer": "customer_key",
            "channel": "channel_key",
            "attribution": "attribution_model",
        },
        "One row per paid order x attribution model x credited channel.",
    ),
    Fact(
        "web_events",
        "marts.fct_web_events",
        {
            "date": "event_date_key",
            "time": "hour_key",
            "customer": "customer_key",
            "channel": "channel_key",
            "content": "content_key",
        },
        "One row per web-analytics event.",
    ),
    Fact(
        "web_sessions",
        "marts.fct_web_sessions",
        {
            "date": "session_date_key",
            "time": "hour_key",
            "customer": "customer_key",
            "channel": "channel_key",
            "content": "landing_content_key",
        },
        "One row per web session, with its landing page.",
    ),
    Fact(
        "customer_value",
        """(
            select customers.customer_key, clv.clv, clv.expected_purchases, clv.p_alive,
                churn.churn_probability
            from marts.dim_customers as customers
            left join mining.customer_clv as clv on customers.customer_key = clv.customer_key
            left join mining.customer_churn as churn
                on customers.customer_key = churn.customer_key
            where customers.customer_key <> -1
        )""",
        {"customer": "customer_key"},
        "One row per customer: the mining models' CLV and churn scores.",
    ),
    Fact(
        "open_deals",
        "mining.deal_win_probability",
        {
            "date": "expected_close_date_key",
            **_SALE,
            "funnel": "stage_key",
        },
        "One row per deal open at the build, dated by its expected close day: the win model's "
        "probability and expected revenue.",
    ),
    Fact(
        "new_customer_value",
        "mining.new_customer_value",
        {"date": "first_order_date_key", "customer": "customer_key", "channel": "channel_key"},
        "One row per customer, dated by their first paid order and sliced by its channel (the "
        "acquisition channel and campaign): the first-year value predicted then.",
    ),
    Fact(
        "revenue_forecast",
        "(select * from mining.revenue_forecast where measure = 'revenue' and level = 'total')",
        {"date": "month_date_key"},
        "One row per forecast month (dated by its first day): revenue with 80% bounds.",
    ),
    Fact(
        "customer_months",
        "marts.fct_customer_months",
        {"date": "month_date_key", "customer": "customer_key"},
        "One row per customer x month from the first order on.",
    ),
    Fact(
        "campaign_members",
        "marts.fct_campaign_members",
        {
            "date": "sent_date_key",
            "customer": "customer_key",
            "channel": "channel_key",
            "campaign": "campaign_member_id",
        },
        "One row per campaign member (treatment or holdout), dated by the send.",
    ),
    Fact(
        "surveys",
        "marts.fct_survey_responses",
        {"date": "responded_date_key", **_PARTY, "product": "product_key"},
        "One row per survey response.",
    ),
    Fact(
        "tickets",
        "marts.fct_tickets",
        {"date": "opened_date_key", **_PARTY, "product": "product_key"},
        "One row per service ticket, dated by opening.",
    ),
)


def count(fact: str, condition: str = "") -> tuple[Source, ...]:
    """Rows of a fact, or rows where a condition holds."""
    return (Source(fact, condition or "true", "count"),)
