"""The cube's dimensions: who, when, through which channel, by whom, what, where."""

from __future__ import annotations

from cubes.model import Dimension, Hierarchy, Level, parse_date

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
        Hierarchy(
            "persona",
            (
                Level(
                    "persona",
                    "persona",
                    "Persona (mining.customer_personas): a latent class over age, income, "
                    "education, region and gender, named by its most distinctive traits",
                    relation="mining.customer_personas",
                    missing="(no persona)",
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
CAMPAIGN = Dimension(
    "campaign",
    """(
        select members.campaign_member_id, campaigns.campaign_name, members.member_group
        from marts.fct_campaign_members as members
        left join marts.dim_campaigns as campaigns
            on members.campaign_key = campaigns.campaign_key
    )""",
    "campaign_member_id",
    (
        Hierarchy("campaign", (Level("campaign", "campaign_name", "The campaign sent"),)),
        Hierarchy(
            "group",
            (Level("group", "member_group", "treatment (sent it) or holdout (kept aside)"),),
        ),
    ),
    "Campaign membership: which campaign, and treatment or holdout (campaign members only).",
)
