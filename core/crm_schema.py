"""ACRM's canonical CRM: the entities every CRM map lands into, their keys and columns.

One definition, used by the map validator (core.crm_map), the landing contracts
(pipelines.ingest.crm) and the staging models' sources (dbt_project/models/staging/crm).
A column's kind says how a map's value is normalised before the contract checks it:

- `id`: an integer key. Digits stay the integer they are; any other text (Salesforce's
  18-character ids, a manager's name) becomes a stable 60-bit hash of it.
- `ts`, `date`: naive local time. Unix seconds and ISO 8601 with an offset are converted
  to the business time zone (ACRM_TIMEZONE); naive text is kept as written.
- `bool`: true/false, Y/N, 1/0, yes/no.
- `money`: '1 200,50', '1,200.50' and '$1,200.50' are numbers; other text is kept for the
  contract to quarantine.
- `int`, `text`: as they come; the contract types and checks them.

A deal's `source_id` is its id as the CRM shows it ('D-1001', a Salesforce id), kept as
text beside the integer key; a map need not name it.
"""

from __future__ import annotations

from dataclasses import dataclass

UPDATED_AT = "updated_at"  # every entity's version stamp: the map's cursor, or landing time


@dataclass(frozen=True)
class Entity:
    name: str
    key: str
    columns: dict[str, str]  # column -> kind, the key first; updated_at is implied
    description: str
    # column -> the entity it references; unmatched values fall to the unknown member
    references: dict[str, str] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.columns, UPDATED_AT)


def _e(name: str, description: str, columns: str, references: dict | None = None) -> Entity:
    pairs = [c.split(":") for c in columns.split()]
    return Entity(name, pairs[0][0], {c: k for c, k in pairs}, description, references)


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        _e("teams", "sales teams", "team_id:id name:text"),
        _e(
            "managers",
            "managers (CRM users who own deals)",
            "manager_id:id full_name:text email:text extension:text team_id:id",
        ),
        _e("pipelines", "sales pipelines", "pipeline_id:id name:text"),
        _e(
            "pipeline_stages",
            "pipeline stages in funnel order, with won and lost flags",
            "stage_id:id pipeline_id:id name:text position:int is_won:bool is_lost:bool",
        ),
        _e("loss_reasons", "why deals are lost", "loss_reason_id:id name:text"),
        _e("product_categories", "product categories", "category_id:id name:text"),
        _e(
            "products",
            "products",
            "product_id:id name:text category_id:id list_price:money",
        ),
        _e(
            "campaigns",
            "marketing campaigns",
            "campaign_id:id name:text channel:text platform:text utm_source:text "
            "utm_medium:text utm_campaign:text started_on:date ended_on:date",
        ),
        _e(
            "customers",
            "customers (companies or people who buy)",
            "customer_id:id first_name:text last_name:text gender:text birth_date:date "
            "income_band:text education:text region:text city:text timezone:text "
            "segment:text email:text phone:text web_user_id:text first_utm_source:text "
            "first_utm_medium:text first_utm_campaign:text owner_manager_id:id status:text "
            "created_at:ts cancelled_at:ts",
        ),
        _e(
            "contacts",
            "phones and e-mails of customers",
            "contact_id:id customer_id:id kind:text value:text is_primary:bool",
        ),
        _e(
            "deals",
            "deals (opportunities) with their current stage and outcome",
            "deal_id:id customer_id:id manager_id:id pipeline_id:id stage_id:id status:text "
            "amount:money campaign_id:id utm_source:text utm_medium:text lead_source:text "
            "loss_reason_id:id created_at:ts closed_at:ts product_id:id source_id:text",
            {"customer_id": "customers", "manager_id": "managers", "product_id": "products"},
        ),
        _e(
            "deal_stage_history",
            "when each deal entered and left each stage",
            "history_id:id deal_id:id stage_id:id manager_id:id entered_at:ts exited_at:ts",
        ),
        _e(
            "orders",
            "orders",
            "order_id:id customer_id:id deal_id:id manager_id:id ordered_at:ts status:text "
            "sales_channel:text campaign_id:id utm_source:text utm_medium:text",
            {"customer_id": "customers", "manager_id": "managers"},
        ),
        _e(
            "order_lines",
            "order lines",
            "order_line_id:id order_id:id product_id:id quantity:int unit_price:money "
            "discount:money",
            {"product_id": "products"},
        ),
        _e(
            "tickets",
            "service tickets",
            "ticket_id:id customer_id:id manager_id:id product_id:id status:text "
            "priority:text channel:text opened_at:ts resolved_at:ts",
            {"customer_id": "customers", "manager_id": "managers", "product_id": "products"},
        ),
        _e(
            "campaign_members",
            "who a campaign was sent to, and who was kept aside as its holdout",
            "campaign_member_id:id campaign_id:id customer_id:id member_group:text sent_at:ts",
            {"customer_id": "customers"},
        ),
        _e(
            "survey_responses",
            "satisfaction surveys (CSAT, NPS)",
            "survey_response_id:id ticket_id:id customer_id:id manager_id:id csat:int nps:int "
            "sent_at:ts responded_at:ts",
        ),
    )
}

# The marts and reports that are empty (or lose a level) when a CRM lacks an entity; the
# cube measures are derived from the cube's facts (cubes.acrm.measures_without).
NEEDED_BY: dict[str, tuple[str, ...]] = {
    "teams": ("dim_managers.team_name",),
    "managers": ("dim_managers", "rpt_manager_scorecard", "rpt_manager_stage_conversion"),
    "pipelines": ("dim_funnel_stages.pipeline_name",),
    "pipeline_stages": ("dim_funnel_stages", "fct_deal_stage_transitions", "rpt_funnel_conversion"),
    "loss_reasons": ("dim_loss_reasons",),
    "product_categories": ("dim_products.category_name",),
    "products": ("dim_products", "rpt_product_abc_xyz", "rpt_product_affinity"),
    "campaigns": ("dim_campaigns",),
    "customers": ("dim_customers", "rpt_customer_rfm", "rpt_retention_cohorts"),
    "contacts": ("identity.customer_identifiers",),
    "deals": ("fct_deals", "fct_leads", "fct_deal_stage_transitions", "rpt_funnel_conversion"),
    "deal_stage_history": ("fct_deal_stage_transitions", "rpt_deal_milestones"),
    "orders": ("fct_orders", "fct_customer_months", "rpt_nvl_decomposition", "rpt_customer_churn"),
    "order_lines": ("fct_order_lines", "rpt_product_abc_xyz", "rpt_product_affinity"),
    "tickets": ("fct_tickets", "rpt_service_quality"),
    "survey_responses": ("fct_survey_responses", "rpt_churn_drivers"),
    "campaign_members": ("fct_campaign_members", "rpt_campaign_effect"),
}
