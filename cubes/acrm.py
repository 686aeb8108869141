"""The ACRM cube: every level and measure name is declared here, once.

Measures follow ../shared/docs/domain.md and the report marts that compute the same thing:
revenue counts paid orders; average check is revenue / paid orders; win rate is won / (won +
lost); stage conversion is deals that moved on from a stage / deals that reached it
(rpt_funnel_conversion); ROMI is (attributed revenue - spend) / spend and CPL is spend /
leads by last touch (rpt_marketing_romi); retention is customers still customers at a
month's end / customers at its start (fct_customer_months). Every ratio is computed from
its summed parts at the cell, so it is right at every level.
"""

from __future__ import annotations

from cubes.model import (
    Aggregate,
    Cube,
    Difference,
    Dimension,
    Fact,
    Hierarchy,
    Level,
    Ratio,
    Source,
    parse_date,
)

DATE = Dimension(
    "date",
    "marts.dim_dates",
    "date_key",
    (
        Hierarchy(
            "calendar",
            (
                Level("year", "year", "Calendar year", int),
                Level("quarter", "quarter", "Year and quarter, e.g. 2025-Q1"),
                Level("month", "month", "Year and month, e.g. 2025-03"),
                Level("day", "date_day", "Calendar day (ISO date)", parse_date),
            ),
        ),
        Hierarchy(
            "weekday",
            (Level("weekday", "day_of_week", "ISO day of week: 1 Monday … 7 Sunday", int),),
        ),
    ),
    "When it happened: order date, deal creation, call start, spend day, survey answer.",
)
TIME = Dimension(
    "time",
    "marts.dim_times",
    "hour_key",
    (
        Hierarchy(
            "day_part",
            (
                Level(
                    "day_part",
                    "day_part",
                    "Night, Morning, Afternoon, Evening",
                    sort_column="hour_key",
                ),
                Level(
                    "hour",
                    "hour_of_day",
                    "Hour of the day, 0-23, in the customer's local time",
                    int,
                ),
            ),
        ),
    ),
    "Hour of the day (calls).",
)
CUSTOMER = Dimension(
    "customer",
    "marts.dim_customers",
    "customer_key",
    (
        Hierarchy(
            "geography",
            (
                Level("segment", "segment", "Customer segment: Retail, Small business, Corporate"),
                Level("region", "region", "Customer's region"),
                Level("city", "city", "Customer's city"),
            ),
        ),
        Hierarchy(
            "rfm",
            (
                Level(
                    "rfm_segment",
                    "rfm_segment",
                    "RFM segment (rpt_customer_rfm): Champions, Loyal, At risk…",
                    relation="marts.rpt_customer_rfm",
                    missing="(no orders)",
                ),
            ),
        ),
        Hierarchy(
            "clv",
            (
                Level(
                    "clv_band",
                    "clv_band",
                    "CLV quintile (mining.customer_clv): Top 20% … Bottom 20%",
                    relation="mining.customer_clv",
                    missing="(no orders)",
                ),
            ),
        ),
        Hierarchy(
            "churn_risk",
            (
                Level(
                    "churn_risk_band",
                    "churn_risk_band",
                    "Churn-risk tercile of active customers (mining.customer_churn)",
                    relation="mining.customer_churn",
                    missing="(not active)",
                ),
            ),
        ),
        Hierarchy("status", (Level("status", "status", "Customer status in the CRM"),)),
        Hierarchy("gender", (Level("gender", "gender", "Customer's gender"),)),
        Hierarchy("age_band", (Level("age_band", "age_band", "Age band at sign-up"),)),
        Hierarchy(
            "income_band", (Level("income_band", "income_band", "Monthly income band (RUB)"),)
        ),
        Hierarchy("education", (Level("education", "education", "Education level"),)),
    ),
    "Who: segment > region > city, RFM segment and demographics.",
)
CHANNEL = Dimension(
    "channel",
    "marts.dim_channels",
    "channel_key",
    (
        Hierarchy(
            "channel",
            (
                Level("channel", "channel", "Marketing channel, e.g. Paid Search, Email, Direct"),
                Level("source", "source", "Traffic source within the channel, e.g. google, yandex"),
                Level("campaign", "campaign_name", "Campaign ('(none)' for campaign-free traffic)"),
            ),
        ),
    ),
    "Where it came from: channel > source > campaign. For leads, the last touch.",
)
MANAGER = Dimension(
    "manager",
    "marts.dim_managers",
    "manager_key",
    (
        Hierarchy(
            "team",
            (
                Level("team", "team_name", "Sales team ('(none)' for online orders)"),
                Level("manager", "manager_name", "Sales manager ('(none)' for online orders)"),
            ),
        ),
    ),
    "Who sold or answered: team > manager.",
)
FUNNEL = Dimension(
    "funnel",
    "marts.dim_funnel_stages",
    "stage_key",
    (
        Hierarchy(
            "stage",
            (
                Level(
                    "stage",
                    "stage_name",
                    "Funnel stage, in funnel order",
                    sort_column="stage_position",
                ),
            ),
        ),
    ),
    "Sales funnel stage (deal stage facts).",
)
PRODUCT = Dimension(
    "product",
    "marts.dim_products",
    "product_key",
    (
        Hierarchy(
            "catalogue",
            (
                Level("category", "category_name", "Product category"),
                Level("product", "product_name", "Product"),
            ),
        ),
    ),
    "What was sold or complained about: category > product.",
)
CONTENT = Dimension(
    "content",
    "marts.dim_content",
    "content_key",
    (
        Hierarchy(
            "site",
            (
                Level("section", "section", "Site section, e.g. blog, catalog"),
                Level("page", "page_path", "Page path"),
            ),
        ),
    ),
    "Web pages: section > page. For sessions, the landing page.",
)
LOSS_REASON = Dimension(
    "loss_reason",
    "marts.dim_loss_reasons",
    "loss_reason_key",
    (Hierarchy("reason", (Level("reason", "loss_reason", "Why a lost deal was lost"),)),),
    "Why deals were lost (deals and deal stages).",
)
ATTRIBUTION = Dimension(
    "attribution",
    "marts.dim_attribution_models",
    "attribution_model",
    (
        Hierarchy(
            "model",
            (
                Level(
                    "model",
                    "attribution_model",
                    "Attribution model: first_touch, last_touch (last non-direct), linear",
                    sort_column="model_order",
                ),
            ),
        ),
    ),
    "How order revenue is credited to channels. No total: without it, last_touch is read.",
    slicing=True,
    default_member="last_touch",
)

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
        "customer_months",
        "marts.fct_customer_months",
        {"date": "month_date_key", "customer": "customer_key"},
        "One row per customer x month from the first order on.",
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


def _count(fact: str, condition: str = "") -> tuple[Source, ...]:
    """Rows of a fact, or rows where a condition holds."""
    return (Source(fact, condition or "true", "count"),)


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
            *_count("orders", "is_paid"),
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
    Aggregate("deals", "Number of deals created", sources=_count("deals"), integer=True),
    Aggregate("won_deals", "Deals won", sources=_count("deals", "is_won"), integer=True),
    Aggregate("lost_deals", "Deals lost", sources=_count("deals", "is_lost"), integer=True),
    Aggregate("open_deals", "Deals still open", sources=_count("deals", "is_open"), integer=True),
    Aggregate(
        "closed_deals",
        "Deals won or lost",
        sources=_count("deals", "is_won or is_lost"),
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
        "deals_reached", "Deals that reached the stage", sources=_count("deal_stages"), integer=True
    ),
    Aggregate(
        "deals_to_convert",
        "Deals that reached a stage with a next one (all but the won stage)",
        sources=_count("deal_stages", "not is_won_here"),
        integer=True,
    ),
    Aggregate(
        "deals_advanced",
        "Deals that moved on from the stage to a later one",
        sources=_count("deal_stages", "is_advanced"),
        integer=True,
    ),
    Aggregate(
        "deals_lost_at_stage",
        "Deals lost at the stage",
        sources=_count("deal_stages", "is_lost_here"),
        integer=True,
    ),
    Aggregate(
        "deals_skipped",
        "Deals that skipped the stage",
        sources=_count("deal_stages", "is_skipped"),
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
        sources=_count("deal_stages", "days_in_stage is not null"),
        integer=True,
    ),
    Ratio(
        "avg_days_in_stage",
        "Average days in the stage",
        format="{:.1f}",
        numerator="stage_days_total",
        denominator="stage_stays",
    ),
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
        sources=_count("leads"),
        integer=True,
    ),
    Aggregate(
        "converted_leads",
        "Leads that became a won deal",
        sources=_count("leads", "is_converted"),
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
    # calls
    Aggregate("calls", "Calls", sources=_count("calls"), integer=True),
    Aggregate(
        "answered_calls", "Calls answered", sources=_count("calls", "is_answered"), integer=True
    ),
    Aggregate(
        "inbound_calls",
        "Inbound calls",
        sources=_count("calls", "direction = 'inbound'"),
        integer=True,
    ),
    Aggregate(
        "missed_calls",
        "Inbound calls not answered",
        sources=_count("calls", "is_missed"),
        integer=True,
    ),
    Aggregate(
        "missed_rings",
        "Legs of inbound calls that rang a manager who did not answer",
        sources=_count("call_legs", "is_missed_ring"),
        integer=True,
    ),
    Aggregate("call_legs", "Call legs (CDR lines)", sources=_count("call_legs"), integer=True),
    Aggregate(
        "called_back_calls",
        "Missed inbound calls called back (a later outbound call to the same number)",
        sources=_count("calls", "callback_delay_minutes is not null"),
        integer=True,
    ),
    Aggregate(
        "callback_minutes",
        "Minutes from missed calls to their call-backs",
        format="{:,.1f}",
        sources=(Source("calls", "coalesce(callback_delay_minutes, 0)"),),
    ),
    Ratio(
        "avg_callback_minutes",
        "Average call-back delay of missed calls called back, minutes",
        format="{:,.1f}",
        numerator="callback_minutes",
        denominator="called_back_calls",
    ),
    Ratio(
        "missed_call_rate",
        "Missed calls / inbound calls (as rpt_call_load)",
        format="{:.1%}",
        numerator="missed_calls",
        denominator="inbound_calls",
    ),
    Aggregate(
        "talk_seconds",
        "Talk time of answered calls, seconds",
        sources=(Source("calls", "case when is_answered then talk_seconds else 0 end"),),
        integer=True,
    ),
    Ratio(
        "avg_talk_seconds",
        "Average talk time of an answered call, seconds",
        format="{:,.1f}",
        numerator="talk_seconds",
        denominator="answered_calls",
    ),
    Aggregate(
        "wait_seconds",
        "Time callers waited, seconds",
        sources=(Source("calls", "coalesce(wait_seconds, 0)"),),
        integer=True,
    ),
    Ratio(
        "avg_wait_seconds",
        "Average wait per call, seconds",
        format="{:,.1f}",
        numerator="wait_seconds",
        denominator="calls",
    ),
    # web
    Aggregate(
        "page_views", "Page views", sources=_count("web_events", "is_page_view"), integer=True
    ),
    Aggregate(
        "engagement_seconds",
        "Engagement time, seconds",
        format="{:,.1f}",
        sources=(Source("web_events", "coalesce(engagement_seconds, 0)"),),
    ),
    Ratio(
        "avg_engagement_seconds",
        "Engagement seconds per page view (as rpt_content_engagement)",
        format="{:,.1f}",
        numerator="engagement_seconds",
        denominator="page_views",
    ),
    Aggregate(
        "visitors",
        "Distinct web visitors (pseudo ids)",
        sources=(Source("web_events", "user_pseudo_id", "count_distinct"),),
        integer=True,
    ),
    Aggregate("sessions", "Web sessions", sources=_count("web_sessions"), integer=True),
    Aggregate(
        "lead_sessions",
        "Web sessions with a lead event",
        sources=_count("web_sessions", "has_lead"),
        integer=True,
    ),
    Ratio(
        "session_lead_rate",
        "Sessions with a lead / sessions",
        format="{:.2%}",
        numerator="lead_sessions",
        denominator="sessions",
    ),
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
        sources=_count("customer_months", "is_new"),
        integer=True,
    ),
    Aggregate(
        "customers_at_start",
        "Customers at the start of each month, summed over the months of the cell",
        sources=_count("customer_months", "is_customer_at_start"),
        integer=True,
    ),
    Aggregate(
        "retained_customers",
        "Customers at a month's start still customers at its end, summed over months",
        sources=_count("customer_months", "is_retained"),
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
        sources=_count("customer_months", "is_churned"),
        integer=True,
    ),
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
        sources=_count("customer_value", "clv is not null"),
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
        sources=_count("customer_value", "churn_probability is not null"),
        integer=True,
    ),
    Ratio(
        "churn_probability",
        "Average probability of no paid order in the next 90 days, active customers",
        format="{:.1%}",
        numerator="expected_churners",
        denominator="scored_customers",
    ),
    # service
    Aggregate("tickets", "Service tickets opened", sources=_count("tickets"), integer=True),
    Aggregate(
        "resolved_tickets",
        "Tickets resolved",
        sources=_count("tickets", "is_resolved"),
        integer=True,
    ),
    Aggregate(
        "resolution_hours",
        "Hours to resolve, resolved tickets",
        format="{:,.1f}",
        sources=(Source("tickets", "case when is_resolved then resolution_hours else 0 end"),),
    ),
    Ratio(
        "avg_resolution_hours",
        "Average hours to resolve a ticket",
        format="{:.1f}",
        numerator="resolution_hours",
        denominator="resolved_tickets",
    ),
    Aggregate("survey_responses", "Survey responses", sources=_count("surveys"), integer=True),
    Aggregate(
        "csat_points",
        "Sum of CSAT scores (1-5)",
        sources=(Source("surveys", "coalesce(csat, 0)"),),
        integer=True,
    ),
    Aggregate(
        "csat_answers",
        "Responses with a CSAT score",
        sources=_count("surveys", "csat is not null"),
        integer=True,
    ),
    Ratio(
        "csat",
        "Average CSAT score, 1-5",
        format="{:.2f}",
        numerator="csat_points",
        denominator="csat_answers",
    ),
    Aggregate(
        "promoters", "NPS promoters (9-10)", sources=_count("surveys", "is_promoter"), integer=True
    ),
    Aggregate(
        "detractors",
        "NPS detractors (0-6)",
        sources=_count("surveys", "is_detractor"),
        integer=True,
    ),
    Aggregate(
        "nps_answers",
        "Responses with an NPS score",
        sources=_count("surveys", "nps is not null"),
        integer=True,
    ),
    Difference("nps_net", "Promoters - detractors", minuend="promoters", subtrahend="detractors"),
    Ratio(
        "nps",
        "Net promoter score: (promoters - detractors) / NPS responses, as a share",
        format="{:+.1%}",
        numerator="nps_net",
        denominator="nps_answers",
    ),
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
