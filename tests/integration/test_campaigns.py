"""Campaigns against their holdouts: the planted effects recovered by the marts and the
cube, and the two computations of the interval equal."""

import duckdb
import numpy as np
import pandas as pd
import pytest

from acrm.generator import spec
from cubes import CubeSession


@pytest.fixture(scope="module")
def effects(built_warehouse):
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        return {r["campaign_name"]: r for r in con.execute(
            "select * from marts.rpt_campaign_effect").df().to_dict("records")}  # fmt: skip


def test_intervals_contain_the_planted_uplift_and_the_dud_is_not_significant(
    effects, truth
) -> None:
    planted = truth["campaigns"]
    assert len(planted) == len(spec.MEMBER_CAMPAIGNS) and len(effects) == len(planted)
    for campaign in planted:
        found = effects[campaign["name"]]
        assert (found["treated"], found["holdout"]) == (campaign["treated"], campaign["holdout"])
        assert found["uplift_low"] <= campaign["true_uplift"] <= found["uplift_high"]
        assert found["is_window_complete"]
        if not any(campaign["planted_response"].values()):
            assert found["verdict"] == "no effect shown"
            assert found["uplift_low"] < 0 < found["uplift_high"]


def test_the_holdout_is_the_planted_random_share(effects) -> None:
    for found in effects.values():
        members = found["treated"] + found["holdout"]
        share = found["holdout"] / members
        tolerance = 3 * (spec.HOLDOUT_SHARE * (1 - spec.HOLDOUT_SHARE) / members) ** 0.5
        assert share == pytest.approx(spec.HOLDOUT_SHARE, abs=tolerance)


def test_the_cube_gives_the_reports_numbers_per_campaign(built_warehouse, effects) -> None:
    cube = CubeSession(built_warehouse.published)
    measures = ["campaign_uplift", "campaign_uplift_low", "campaign_uplift_high",
                "incremental_revenue", "treated_members"]  # fmt: skip
    rows = cube.query_names(measures, ["campaign.campaign"]).to_pylist()
    assert len(rows) == len(effects)
    for row in rows:
        found = effects[row["campaign.campaign"]]
        assert row["treated_members"] == found["treated"]
        for measure, column in zip(
            measures[:4],
            ["uplift", "uplift_low", "uplift_high", "incremental_revenue"],
            strict=True,
        ):
            assert row[measure] == pytest.approx(found[column], rel=1e-9, abs=1e-6)
    groups = cube.query_names(["response_rate"], ["campaign.campaign", "campaign.group"])
    rates = {(r["campaign.campaign"], r["campaign.group"]): r["response_rate"]
             for r in groups.to_pylist()}  # fmt: skip
    for name, found in effects.items():
        assert rates[(name, "treatment")] == pytest.approx(found["treated_rate"])
        assert rates[(name, "holdout")] == pytest.approx(found["holdout_rate"])


RETENTION_DAYS, CHURN_HORIZON_DAYS = 90, 180  # dbt_project.yml's vars, restated on purpose
Z95 = 1.959963984540054


def _control_by_hand(con) -> pd.DataFrame:
    """Retention, churn and revenue per member from the members and the paid orders, in
    pandas: the mart's windows and joins computed again another way."""
    members = con.execute(
        "select m.campaign_member_id, k.campaign_name, m.customer_key, m.is_treatment, "
        "m.sent_at, m.response_revenue from marts.fct_campaign_members m "
        "join marts.dim_campaigns k using (campaign_key)"
    ).df()
    orders = con.execute("select customer_key, ordered_at from marts.fct_orders where is_paid").df()
    pairs = members.merge(orders, on="customer_key", how="left")
    days = (pairs["ordered_at"] - pairs["sent_at"]) / pd.Timedelta(days=1)
    pairs["before"] = (days < 0) & (days >= -CHURN_HORIZON_DAYS)
    pairs["after"] = (days >= 0) & (days < RETENTION_DAYS)
    flags = pairs.groupby("campaign_member_id")[["before", "after"]].any()
    members = members.join(flags, on="campaign_member_id")
    members["churned"] = members["before"] & ~members["after"]
    return members


def _agresti_caffo(x1, n1, x0, n0) -> tuple[float, float]:
    p1, p0 = (x1 + 1) / (n1 + 2), (x0 + 1) / (n0 + 2)
    half = Z95 * np.sqrt(p1 * (1 - p1) / (n1 + 2) + p0 * (1 - p0) / (n0 + 2))
    return p1 - p0 - half, p1 - p0 + half


def test_control_outcomes_equal_a_computation_by_hand(built_warehouse, effects) -> None:
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        members = _control_by_hand(con)
        last = con.execute("select max(ordered_at) from marts.fct_orders").fetchone()[0]
    for name, group in members.groupby("campaign_name"):
        found = effects[name]
        treated, held = group[group["is_treatment"]], group[~group["is_treatment"]]
        revenue = treated["response_revenue"], held["response_revenue"]
        difference = revenue[0].mean() - revenue[1].mean()
        half = Z95 * np.sqrt(revenue[0].var() / len(treated) + revenue[1].var() / len(held))
        assert found["revenue_uplift"] == pytest.approx(difference)
        assert found["revenue_uplift_low"] == pytest.approx(difference - half)
        assert found["revenue_uplift_high"] == pytest.approx(difference + half)
        complete = (group["sent_at"] + pd.Timedelta(days=RETENTION_DAYS) <= last).all()
        assert found["is_retention_complete"] == complete
        if not complete:
            assert found["retention_uplift"] is None or np.isnan(found["retention_uplift"])
            continue
        retained = treated["after"].sum(), len(treated), held["after"].sum(), len(held)
        assert found["treated_retention"] == pytest.approx(retained[0] / retained[1])
        assert found["holdout_retention"] == pytest.approx(retained[2] / retained[3])
        low, high = _agresti_caffo(*retained)
        assert (found["retention_uplift_low"], found["retention_uplift_high"]) == (
            pytest.approx(low), pytest.approx(high))  # fmt: skip
        active = treated[treated["before"]], held[held["before"]]
        churned = (active[0]["churned"].sum(), len(active[0]),
                   active[1]["churned"].sum(), len(active[1]))  # fmt: skip
        assert found["treated_churn"] == pytest.approx(churned[0] / churned[1])
        assert found["churn_change"] == pytest.approx(
            churned[0] / churned[1] - churned[2] / churned[3]
        )
        low, high = _agresti_caffo(*churned)
        assert found["churn_change_low"] == pytest.approx(low)
    assert any(f["is_retention_complete"] for f in effects.values())
    assert not all(f["is_retention_complete"] for f in effects.values())


MIN_HOLDOUT_TO_TELL = 30  # a segment's holdout members needed before its uplift is ranked


def test_the_uplift_model_ranks_the_planted_best_segment_first(churn_warehouse) -> None:
    """At the churn tests' scale (0.3): the small test warehouse's holdouts are too small
    to rank segments by."""
    settings, truth = churn_warehouse
    with duckdb.connect(str(settings.published), read_only=True) as con:
        predicted = con.execute(
            "select u.campaign_name, c.segment, avg(u.uplift) from mining.customer_uplift u "
            "join marts.dim_customers c using (customer_key) group by all"
        ).fetchall()
        holdouts = con.execute(
            "select k.campaign_name, c.segment, count(*) from marts.fct_campaign_members m "
            "join marts.dim_campaigns k using (campaign_key) join marts.dim_customers c "
            "using (customer_key) where not m.is_treatment group by all"
        ).fetchall()
        qini = dict(con.execute(
            "select campaign_name, any_value(qini) from mining.uplift_evaluation group by 1"
        ).fetchall())  # fmt: skip
    told = {(c, s) for c, s, n in holdouts if n >= MIN_HOLDOUT_TO_TELL}
    ranked = 0
    for campaign in truth["campaigns"]:
        planted = campaign["planted_response"]
        if not any(planted.values()):
            continue
        mine = {s: u for c, s, u in predicted if c == campaign["name"] and (c, s) in told}
        if len(mine) < 2:
            continue
        best = max((s for s in mine), key=lambda s: planted[s])
        assert max(mine, key=mine.get) == best, (campaign["name"], mine)
        ranked += 1
    assert ranked >= 1
    assert set(qini) == {c["name"] for c in truth["campaigns"]}
