"""Campaigns measured against their holdouts: response rates, uplift with its 95 %
interval, incremental revenue (fct_campaign_members; rpt_campaign_effect is the same per
campaign)."""

from __future__ import annotations

from cubes.acrm.facts import count
from cubes.model import Aggregate, Difference, Ratio, Source, UpliftBound

RESPONSE = "a paid order within the response window (var campaign_response_days) of the send"


def _members(name: str, description: str, condition: str) -> Aggregate:
    return Aggregate(name, description, sources=count("campaign_members", condition), integer=True)


MEASURES = (
    _members("campaign_members", "Campaign members, treatment and holdout", ""),
    _members("campaign_responders", f"Campaign members with {RESPONSE}", "responded"),
    Ratio(
        "response_rate",
        f"Share of campaign members with {RESPONSE}; slice by campaign.group",
        format="{:.1%}",
        numerator="campaign_responders",
        denominator="campaign_members",
    ),
    _members("treated_members", "Members sent the campaign", "is_treatment"),
    _members("holdout_members", "Members kept aside at random", "not is_treatment"),
    _members("treated_responders", "Treated members who responded", "is_treatment and responded"),
    _members(
        "holdout_responders", "Holdout members who responded", "not is_treatment and responded"
    ),
    Ratio(
        "treated_response_rate",
        "Response rate of the treated members",
        format="{:.1%}",
        numerator="treated_responders",
        denominator="treated_members",
    ),
    Ratio(
        "holdout_response_rate",
        "Response rate of the holdout members: what the treated would have done anyway",
        format="{:.1%}",
        numerator="holdout_responders",
        denominator="holdout_members",
    ),
    Difference(
        "campaign_uplift",
        "Treated response rate - holdout response rate: the purchases the campaign caused, "
        "per member sent it (valid for one campaign or a mix sent alike)",
        format="{:+.1%}",
        minuend="treated_response_rate",
        subtrahend="holdout_response_rate",
    ),
    UpliftBound(
        "campaign_uplift_low",
        "Low bound of campaign_uplift's 95% interval (normal approximation); above 0: it worked",
        format="{:+.1%}",
        treated="treated_response_rate",
        holdout="holdout_response_rate",
        side=-1,
    ),
    UpliftBound(
        "campaign_uplift_high",
        "High bound of campaign_uplift's 95% interval; below 0: it harmed",
        format="{:+.1%}",
        treated="treated_response_rate",
        holdout="holdout_response_rate",
        side=1,
    ),
    Aggregate(
        "incremental_revenue",
        "Revenue the campaign added: each treated member's response-window revenue minus the "
        "revenue per holdout member of the same campaign, summed",
        sources=(Source("campaign_members", "incremental_revenue"),),
    ),
)
