"""What-if on a hand-built warehouse: the funnel's and the linear budget's hand-computed
answers, a planted saturating curve recovered, and bad parameters named."""

import datetime as dt

import duckdb
import numpy as np
import pytest

from cubes.whatif import WhatIfError, budget, funnel

# Anna (1) converts 4 of 10 deals out of Proposal, her peer Boris (2) 8 of 10. Of Anna's 4
# deals past Proposal, 3 were won at 100 each. Her deals were created over three months.
FUNNEL = """
create schema marts;
create table marts.dim_managers as select * from (values
    (-1, '(none)'), (1, 'Anna'), (2, 'Boris')) as t(manager_key, manager_name);
create table marts.dim_funnel_stages as select * from (values
    (1, 'New', 1, true), (2, 'Proposal', 2, true), (3, 'Won', 3, false))
    as t(stage_key, stage_name, stage_position, is_open_stage);
create table marts.rpt_manager_stage_conversion as select * from (values
    (1, 2, 10, 4, 0.4, 0.8), (2, 2, 10, 8, 0.8, 0.4))
    as t(manager_key, stage_key, deals_reached, deals_advanced, conversion, peer_conversion);
create table marts.fct_deals as
    select i as deal_id, 1 as manager_key,
        timestamp '2025-01-05' + to_months((i - 1) % 3) as created_at,
        i <= 3 as is_won, false as is_open, case when i <= 3 then 100.0 end as won_amount
    from range(1, 11) as r(i);
create table marts.fct_deal_stage_transitions as
    select deal_id, manager_key, 2 as stage_key, deal_id <= 4 as is_advanced
    from marts.fct_deals;
"""
# Two channels: A spends 100 for 300 of revenue, B 50 for 250, over two weeks.
BUDGET = """
create table marts.dim_channels as select * from (values ('a', 'A'), ('b', 'B'))
    as t(channel_key, channel);
create table marts.dim_dates as select cast(strftime(d, '%Y%m%d') as integer) as date_key,
    cast(d as date) as date_day
    from range(date '2025-01-06', date '2025-01-20', interval 1 day) as r(d);
create table marts.fct_marketing_spend as select * from (values
    (20250106, 'a', 60.0), (20250113, 'a', 40.0), (20250106, 'b', 25.0), (20250113, 'b', 25.0))
    as t(spend_date_key, channel_key, spend);
create table marts.fct_attributed_revenue as select * from (values
    (20250107, 'a', 'last_touch', 200.0), (20250114, 'a', 'last_touch', 100.0),
    (20250107, 'a', 'linear', 999.0), (20250108, 'b', 'last_touch', 250.0))
    as t(order_date_key, channel_key, attribution_model, attributed_revenue);
"""


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    connection.execute(FUNNEL + BUDGET)
    yield connection
    connection.close()


def test_funnel_gives_the_hand_computed_extra_wins(con) -> None:
    answer = funnel(con, "Anna", "Proposal", conversion=0.75)
    # 10 x (0.75 - 0.4) = 3.5 more past Proposal; 3 of 4 win: 2.625 wins at 100, over 3 months
    assert answer["extra_won_deals_per_month"] == pytest.approx(2.625 / 3)
    assert answer["extra_revenue_per_month"] == pytest.approx(262.5 / 3)
    assert answer["actual_won_deals_per_month"] == pytest.approx(1.0)
    assert answer["actual_won_revenue_per_month"] == pytest.approx(100.0)
    peers = funnel(con, "1", "proposal", to_peers=True)
    assert peers["target_conversion"] == 0.8
    assert peers["extra_won_deals_per_month"] == pytest.approx(10 * 0.4 * 0.75 / 3)
    assert answer["assumptions"][0] == (
        "10 of Anna's deals reached Proposal over 3 months; 4 moved on (40.0%); at 75.0%, "
        "+3.5 more would have"
    )
    assert "75.0% (own)" in answer["assumptions"][1]


def test_linear_budget_keeps_todays_romi_arithmetic(con) -> None:
    answer = budget(con, 0.2, "A", "B", "linear")
    rows = {r["channel"]: r for r in answer["channels"]}
    assert rows["A"]["romi"] == pytest.approx((300 - 100) / 100)  # last touch only
    assert rows["B"]["romi"] == pytest.approx((250 - 50) / 50)
    assert (rows["A"]["projected_spend"], rows["B"]["projected_spend"]) == pytest.approx((80, 70))
    assert rows["A"]["projected_revenue"] == pytest.approx(240)
    assert rows["B"]["projected_revenue"] == pytest.approx(350)
    assert all(r["projected_romi"] == pytest.approx(r["romi"]) for r in rows.values())
    assert answer["revenue_change"] == pytest.approx(-60 + 100)


def test_a_budget_limited_to_allowed_channels_reads_their_rows_only(con) -> None:
    answer = budget(con, 0.2, "A", "B", "linear", allowed={"a", "b"})
    assert answer == budget(con, 0.2, "A", "B", "linear")  # both allowed: the whole answer
    with pytest.raises(WhatIfError, match=r"the channels with spend are: A$"):
        budget(con, 0.2, "A", "B", "linear", allowed={"a"})  # B's spend is not seen at all


def test_saturating_budget_recovers_a_planted_curve() -> None:
    rng = np.random.default_rng(1)
    con = duckdb.connect()
    con.execute("create schema marts")
    start, weeks = dt.date(2024, 1, 1), 80
    spend = {"A": rng.uniform(10, 300, weeks), "B": rng.uniform(10, 300, weeks)}
    planted = {"A": (1000.0, 100.0), "B": (400.0, 50.0)}
    rows_spend, rows_revenue = [], []
    for channel, values in spend.items():
        a, b = planted[channel]
        for w, s in enumerate(values):
            key = int((start + dt.timedelta(weeks=w)).strftime("%Y%m%d"))
            rows_spend.append((key, channel.lower(), float(s)))
            revenue = a * (1 - np.exp(-s / b)) * rng.normal(1, 0.02)
            rows_revenue.append((key, channel.lower(), "last_touch", float(revenue)))
    con.execute("create table marts.dim_channels as select * from (values ('a', 'A'), "
                "('b', 'B')) as t(channel_key, channel)")  # fmt: skip
    con.execute(
        "create table marts.dim_dates as select cast(strftime(d, '%Y%m%d') as integer) as "
        "date_key, cast(d as date) as date_day from range(date '2024-01-01', date '2026-01-01',"
        " interval 1 day) as r(d)"
    )
    con.execute("create table marts.fct_marketing_spend (spend_date_key integer, "
                "channel_key varchar, spend double)")  # fmt: skip
    con.executemany("insert into marts.fct_marketing_spend values (?, ?, ?)", rows_spend)
    con.execute(
        "create table marts.fct_attributed_revenue (order_date_key integer, "
        "channel_key varchar, attribution_model varchar, attributed_revenue double)"
    )
    con.executemany("insert into marts.fct_attributed_revenue values (?, ?, ?, ?)", rows_revenue)
    answer = budget(con, 0.5, "A", "B", "saturating")
    for row in answer["channels"]:
        a, b = planted[row["channel"]]
        assert row["fit_saturation_per_week"] == pytest.approx(a, rel=0.05)
        assert row["fit_half_effect_spend"] == pytest.approx(b * np.log(2), rel=0.1)
        scale = row["projected_spend"] / row["spend"]
        truth = (a * (1 - np.exp(-spend[row["channel"]] * scale / b))).sum()
        assert row["projected_revenue"] == pytest.approx(truth, rel=0.03)
        assert (
            row["projected_revenue_low"]
            <= row["projected_revenue"]
            <= row["projected_revenue_high"]
        )


def test_bad_parameters_are_named(con) -> None:
    cases = [
        (lambda: funnel(con, "99", "Proposal", 0.7), "manager '99' does not exist"),
        (lambda: funnel(con, "Anna", "Closing", 0.7), "stage 'Closing' is not an open"),
        (lambda: funnel(con, "Anna", "Proposal", 1.5), "--conversion 1.5"),
        (lambda: funnel(con, "Anna", "Proposal"), "either --conversion"),
        (lambda: budget(con, 1.2, "A", "B", "linear"), "at most 100%"),
        (lambda: budget(con, 0.2, "A", "Radio", "linear"), "--to 'Radio': no ad spend"),
        (lambda: budget(con, 0.2, "A", "B", "cubic"), "--model 'cubic'"),
    ]
    for call, message in cases:
        with pytest.raises(WhatIfError, match=message):
            call()


def test_the_http_api_gives_the_same_answers_and_names_bad_input(tmp_path, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from core.settings import Settings
    from pipelines.publish.publisher import publish
    from serving.api import TOKEN_ENV, create_app

    warehouse = tmp_path / "acrm.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(FUNNEL + BUDGET)
    settings = Settings.load(warehouse)
    publish(warehouse, settings.published)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    client = TestClient(create_app(settings, allowed_hosts=("testserver",)))
    got = client.get(
        "/api/whatif/funnel", params={"manager": "Anna", "stage": "Proposal", "conversion": 0.75}
    )
    assert got.status_code == 200
    assert got.json()["extra_revenue_per_month"] == pytest.approx(262.5 / 3)
    moved = client.get("/api/whatif/budget", params={"move": 0.2, "from": "A", "to": "B"})
    assert moved.json()["revenue_change"] == pytest.approx(40)
    bad = client.get("/api/whatif/funnel", params={"manager": "99", "stage": "Proposal",
                                                   "conversion": 0.7})  # fmt: skip
    assert bad.status_code == 400 and "manager '99' does not exist" in bad.json()["detail"]
    too_much = client.get("/api/whatif/budget", params={"move": 1.5, "from": "A", "to": "B"})
    assert too_much.status_code == 400 and "at most 100%" in too_much.json()["detail"]


def test_under_an_access_policy_the_funnel_sees_the_allowed_managers_only(con) -> None:
    from cubes.access import AccessError

    both = funnel(con, "Anna", "Proposal", to_peers=True, allowed={1, 2})
    assert both["target_conversion"] == pytest.approx(0.8)  # Boris's 8 of 10, as the mart's
    with pytest.raises(WhatIfError, match="no other manager"):
        funnel(con, "Anna", "Proposal", to_peers=True, allowed={1})  # Boris is not allowed
    with pytest.raises(AccessError, match="'Boris' is not one your access allows: 1 \\(Anna\\)"):
        funnel(con, "Boris", "Proposal", conversion=0.9, allowed={1})
