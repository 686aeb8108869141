"""Control: what an action did, its treated customers against its random holdout, on the
outcomes rpt_campaign_effect measures for the CRM's own campaigns (the same windows, read
from the dbt project's vars):

- purchase: a paid order within `campaign_response_days` of the send;
- revenue per customer in that window;
- retention: a paid order within `campaign_retention_days` of the send;
- churn: of the customers active before the send (a paid order within
  `churn_horizon_days`), the share not retained.

Used for audiences, whose members live in files and the CRM rather than in the marts. The
intervals are statsmodels' (Agresti-Caffo for shares, the normal interval with unequal
variances for revenue); the marts' macro `uplift_bound` gives the same numbers, and an
integration test holds them equal.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from core.rules import dbt_vars

MEMBER_OUTCOMES = """
with members as (select distinct cast(customer_id as varchar) as customer_id, "group"
                 from audience_members),
paid as (select cast(customer_key as varchar) as customer_id, ordered_at, revenue
         from marts.fct_orders where is_paid)
select m.customer_id, m."group" = 'treatment' as is_treatment,
    count(case when p.ordered_at >= $sent and p.ordered_at < $response_end then 1 end) > 0
        as purchased,
    coalesce(sum(case when p.ordered_at >= $sent and p.ordered_at < $response_end
                      then p.revenue end), 0) as revenue,
    count(case when p.ordered_at >= $sent and p.ordered_at < $retention_end then 1 end) > 0
        as retained,
    count(case when p.ordered_at >= $active_since and p.ordered_at < $sent then 1 end) > 0
        as was_active
from members as m left join paid as p on m.customer_id = p.customer_id
group by all
"""


def windows(sent_at: dt.datetime) -> dict[str, dt.datetime]:
    """The send and the ends of its windows, as the dbt vars define them."""
    if sent_at.tzinfo is not None:  # the marts' timestamps are UTC without a zone
        sent_at = sent_at.astimezone(dt.UTC).replace(tzinfo=None)
    days = dbt_vars()
    return {
        "sent": sent_at,
        "response_end": sent_at + dt.timedelta(days=int(days["campaign_response_days"])),
        "retention_end": sent_at + dt.timedelta(days=int(days["campaign_retention_days"])),
        "active_since": sent_at - dt.timedelta(days=int(days["churn_horizon_days"])),
    }


def member_outcomes(
    con: duckdb.DuckDBPyConnection, members: pd.DataFrame, sent_at: dt.datetime
) -> pd.DataFrame:
    """Per member (customer_id, group): is_treatment, purchased, revenue, retained,
    was_active and churned, from the published paid orders."""
    con.register("audience_members", members[["customer_id", "group"]])
    try:
        outcomes = con.execute(MEMBER_OUTCOMES, windows(sent_at)).df()
    finally:
        con.unregister("audience_members")
    outcomes["churned"] = outcomes["was_active"] & ~outcomes["retained"]
    return outcomes


def _shares(treated: pd.Series, holdout: pd.Series) -> dict:
    """Each group's share of True and the difference with its 95 % interval."""
    if len(treated) == 0 or len(holdout) == 0:
        return {"treated": None, "holdout": None, "difference": None, "low": None, "high": None}
    x1, n1, x0, n0 = int(treated.sum()), len(treated), int(holdout.sum()), len(holdout)
    low, high = confint_proportions_2indep(x1, n1, x0, n0, method="agresti-caffo")
    return {"treated": x1 / n1, "holdout": x0 / n0, "difference": x1 / n1 - x0 / n0,
            "low": float(low), "high": float(high)}  # fmt: skip


def _means(treated: pd.Series, holdout: pd.Series) -> dict:
    """Each group's mean and the difference with its 95 % interval (unequal variances)."""
    if len(treated) < 2 or len(holdout) < 2:
        return {"treated": None, "holdout": None, "difference": None, "low": None, "high": None}
    a, b = (DescrStatsW(np.asarray(s, dtype=float)) for s in (treated, holdout))
    low, high = CompareMeans(a, b).zconfint_diff(usevar="unequal")
    return {"treated": a.mean, "holdout": b.mean, "difference": a.mean - b.mean,
            "low": float(low), "high": float(high)}  # fmt: skip


def verdict(outcome: dict, complete: bool, holdout: int) -> str:
    """worked, harmed, no effect shown, no holdout or too early, as rpt_campaign_effect says."""
    if not complete:
        return "too early"
    if holdout == 0:
        return "no holdout"
    if outcome["low"] is not None and outcome["low"] > 0:
        return "worked"
    if outcome["high"] is not None and outcome["high"] < 0:
        return "harmed"
    return "no effect shown"


def effect(con: duckdb.DuckDBPyConnection, members: pd.DataFrame, sent_at: dt.datetime) -> dict:
    """The action's treated members against its holdout on every control outcome; an
    outcome whose window has not closed by the last published order is None."""
    outcomes = member_outcomes(con, members, sent_at)
    last = con.execute("select max(ordered_at) from marts.fct_orders").fetchall()[0][0]
    ends = windows(sent_at)
    response_done = last is not None and ends["response_end"] <= last
    retention_done = last is not None and ends["retention_end"] <= last
    t, h = outcomes[outcomes["is_treatment"]], outcomes[~outcomes["is_treatment"]]
    purchase = _shares(t["purchased"], h["purchased"])
    active = t[t["was_active"]], h[h["was_active"]]
    return {
        "treated": len(t),
        "holdout": len(h),
        "last_order_at": None if last is None else str(last),
        "response_window_ends": str(ends["response_end"]),
        "retention_window_ends": str(ends["retention_end"]),
        "purchase": purchase if response_done else None,
        "revenue_per_customer": _means(t["revenue"], h["revenue"]) if response_done else None,
        "retention": _shares(t["retained"], h["retained"]) if retention_done else None,
        "churn": _shares(active[0]["churned"], active[1]["churned"]) if retention_done else None,
        "verdict": verdict(purchase, response_done, len(h)),
    }
