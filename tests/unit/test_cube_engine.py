"""Cube semantics on a hand-built star schema whose answers are computed by hand."""

from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest

from cubes import (
    ACRM_CUBE,
    CubeSession,
    QueryError,
    TopN,
    build_query,
    compile_query,
    drill_down,
    drill_up,
)
from pipelines.publish.publisher import publish

STAR = """
create schema marts;
create table marts.dim_dates as
select cast(strftime(d, '%Y%m%d') as integer) as date_key, cast(d as date) as date_day,
    year(d) as year, strftime(d, '%Y') || '-Q' || quarter(d) as quarter,
    strftime(d, '%Y-%m') as month, isodow(d) as day_of_week
from range(timestamp '2024-01-01', timestamp '2026-12-31', interval 1 day) as t(d)
union all select -1, null, null, 'Unknown', 'Unknown', null;
create table marts.dim_times as
select h as hour_key, h as hour_of_day, case when h < 10 then 'Morning' else 'Day' end as day_part
from range(9, 12) t(h) union all select -1, null, 'Unknown';
create table marts.dim_managers as select * from (values
    (1, 'Anna', 'North'), (2, 'Boris', 'North'), (3, 'Clara', 'South'), (-1, '(none)', '(none)')
) t(manager_key, manager_name, team_name);
create table marts.dim_channels as select * from (values
    ('e', 'Email', 'newsletter', 'brand'), ('d', 'Display', 'mytarget', 'promo'),
    ('unknown', 'Unknown', 'Unknown', 'Unknown')
) t(channel_key, channel, source, campaign_name);
create table marts.dim_customers as select * from (values
    (10, 'Retail', 'active', 'Moscow', 'Moscow', 'female', '25-34', '<30k', 'master'),
    (11, 'Corporate', 'active', 'Tatarstan', 'Kazan', 'male', '35-44', '>200k', 'bachelor'),
    (-1, 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown')
) t(customer_key, segment, status, region, city, gender, age_band, income_band, education);
create table marts.rpt_customer_rfm as select * from (values
    (10, 'Champions'), (11, 'At risk')
) t(customer_key, rfm_segment);
create schema mining;
create table mining.customer_clv as select * from (values
    (10, 300.0, 2.0, 0.9, 'Top 20%'), (11, 100.0, 1.0, 0.5, 'Bottom 20%')
) t(customer_key, clv, expected_purchases, p_alive, clv_band);
create table mining.customer_churn as select * from (values
    (11, 0.8, 'High')
) t(customer_key, churn_probability, churn_risk_band);
create table mining.customer_personas as select * from (values
    (10, 'age 25-34', 0.9, 0.1), (11, 'age 35-44', 0.8, 0.2)
) t(customer_key, persona, membership_probability, distance);
create table marts.dim_products as select * from (values
    (1, 'L1', 'Laptops'), (2, 'P1', 'Phones'), (3, 'P2', 'Phones'), (-1, 'Unknown', 'Unknown')
) t(product_key, product_name, category_name);
create table marts.dim_funnel_stages as select * from (values
    (1, 'Qualified', 1), (2, 'Meeting', 2), (3, 'Won', 3), (-1, 'Unknown', null)
) t(stage_key, stage_name, stage_position);
create table marts.dim_attribution_models as select * from (values
    ('first_touch', 1), ('last_touch', 2), ('linear', 3)
) t(attribution_model, model_order);
-- customer 10 buys from Anna (North) and Clara (South); order 4 is cancelled
create table marts.fct_orders as select * from (values
    (1, 10, 1, 'e', 20250105, true, 100.0),
    (2, 10, 3, 'e', 20250410, true, 300.0),
    (3, 11, 2, 'd', 20250410, true, 50.0),
    (4, 11, 2, 'd', 20260102, false, 0.0),
    (5, 11, -1, 'unknown', 20260102, true, 25.0),
    (6, 10, 1, 'e', 20251215, true, 40.0),
    (7, 11, 2, 'd', 20241220, true, 10.0)
) t(order_id, customer_key, manager_key, channel_key, order_date_key, is_paid, revenue);
create table marts.fct_order_lines as
select l.*, o.customer_key, o.manager_key, o.channel_key, o.order_date_key, o.is_paid
from (values (1, 1, 60.0, 1), (1, 2, 40.0, 2), (2, 1, 300.0, 3), (3, 2, 50.0, 1),
             (4, 2, 0.0, 1), (5, 3, 25.0, 1), (6, 1, 40.0, 1), (7, 3, 10.0, 1)
) l(order_id, product_key, revenue, quantity)
join marts.fct_orders o using (order_id);
-- Anna: 1 won of 1 closed (100 %); Boris: 1 won of 4 closed (25 %); Clara: 0 of 1
create table marts.fct_deals as select * from (values
    (1, 10, 1, 'e', 20250105, true, false, false, 10.0, 100.0, 100.0),
    (2, 11, 2, 'd', 20250105, true, false, false, 20.0, 50.0, 50.0),
    (3, 11, 2, 'd', 20250410, false, true, false, 30.0, 0.0, 70.0),
    (4, 11, 2, 'd', 20250410, false, true, false, 40.0, 0.0, 80.0),
    (5, 11, 2, 'd', 20250410, false, true, false, 50.0, 0.0, 90.0),
    (6, 10, 3, 'e', 20260102, false, true, false, 60.0, 0.0, 10.0),
    (7, 10, 3, 'e', 20260102, false, false, true, null, 0.0, 99.0)
) t(deal_id, customer_key, manager_key, channel_key, created_date_key, is_won, is_lost, is_open,
    cycle_days, won_amount, amount);
alter table marts.fct_deals add column loss_reason_key integer default -1;
alter table marts.fct_deals add column product_key integer default -1;
create table marts.dim_loss_reasons as select * from (values
    (1, 'Price too high'), (-1, 'Unknown')
) t(loss_reason_key, loss_reason);
update marts.fct_deals set loss_reason_key = 1 where is_lost;
-- deal 1 (Anna) goes all the way; Boris's deal 2 is lost at Meeting, deal 3 at Qualified
create table marts.fct_deal_stage_transitions as select * from (values
    (1, 1, 10, 1, 'e', 20250105, true, false, false, false, 2.0),
    (1, 2, 10, 1, 'e', 20250105, true, false, false, false, 4.0),
    (1, 3, 10, 1, 'e', 20250105, false, false, true, false, null),
    (2, 1, 11, 2, 'd', 20250105, true, false, false, false, 6.0),
    (2, 2, 11, 2, 'd', 20250105, false, true, false, false, 8.0),
    (3, 1, 11, 2, 'd', 20250410, false, true, false, false, 1.0)
) t(deal_id, stage_key, customer_key, manager_key, channel_key, deal_created_date_key,
    is_advanced, is_lost_here, is_won_here, is_skipped, days_in_stage);
alter table marts.fct_deal_stage_transitions add column loss_reason_key integer default -1;
create table marts.fct_marketing_spend as select * from (values
    ('e', 20250105, 50.0, 1000, 10), ('d', 20250410, 100.0, 4000, 20)
) t(channel_key, spend_date_key, spend, impressions, clicks);
-- order 2 (300): last touch Email, first touch Display, linear half each; order 3: Display
create table marts.fct_attributed_revenue as select * from (values
    (2, 'last_touch', 'e', 10, 20250410, 1.0, 300.0),
    (2, 'first_touch', 'd', 10, 20250410, 1.0, 300.0),
    (2, 'linear', 'e', 10, 20250410, 0.5, 150.0),
    (2, 'linear', 'd', 10, 20250410, 0.5, 150.0),
    (3, 'last_touch', 'd', 11, 20250410, 1.0, 50.0),
    (3, 'first_touch', 'd', 11, 20250410, 1.0, 50.0),
    (3, 'linear', 'd', 11, 20250410, 1.0, 50.0)
) t(order_id, attribution_model, channel_key, customer_key, order_date_key, weight,
    attributed_revenue);
create table marts.fct_leads as select * from (values
    (1, 10, 1, 20250105, 'e', true), (2, 11, 2, 20250105, 'e', false),
    (3, 11, 2, 20250410, 'd', false)
) t(lead_id, customer_key, manager_key, lead_date_key, last_touch_channel_key, is_converted);
create table marts.fct_calls as select * from (values
    (1, 20250105, 9, 10, 1, true, false, 100, 5, 'inbound', null),
    (2, 20250105, 9, 11, 1, false, true, 0, 40, 'inbound', 30.0),
    (3, 20250410, 10, 11, 2, true, false, 50, 10, 'inbound', null),
    (4, 20250410, 10, -1, 3, true, false, 30, 0, 'inbound', null)
) t(call_id, call_date_key, hour_key, customer_key, manager_key, is_answered, is_missed,
    talk_seconds, wait_seconds, direction, callback_delay_minutes);
create table marts.fct_call_legs as select * from (values
    ('1a', 1, 20250105, 9, 2, true), ('1b', 1, 20250105, 9, 1, false),
    ('2a', 2, 20250105, 9, 2, true), ('2b', 2, 20250105, 9, 1, true),
    ('3a', 3, 20250410, 10, 2, false), ('4a', 4, 20250410, 10, 3, false)
) t(leg_id, call_id, call_date_key, hour_key, manager_key, is_missed_ring);
create table marts.fct_survey_responses as select * from (values
    (10, 1, 1, 20250110, 5, 10, true, false), (11, 2, 2, 20250411, 2, 3, false, true),
    (11, 2, 2, 20250412, null, 9, true, false)
) t(customer_key, manager_key, product_key, responded_date_key, csat, nps, is_promoter,
    is_detractor);
"""


@pytest.fixture(scope="module")
def star(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("star") / "star.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(STAR)
    return path


@pytest.fixture(scope="module")
def session(star: Path) -> CubeSession:
    return CubeSession(star)


def rows(table) -> list[dict]:
    return table.to_pylist()


def by(result, level: str, measure: str, grouping: int = 0) -> dict:
    return {r[level]: r[measure] for r in rows(result) if r["_grouping"] == grouping}


def test_revenue_by_team_counts_paid_orders_only(session: CubeSession) -> None:
    result = rows(session.query_names(["revenue", "orders"], ["manager.team"]))
    assert {r["manager.team"]: (r["revenue"], r["orders"]) for r in result} == {
        "North": (200.0, 4),  # orders 1, 3, 6, 7; order 4 was cancelled
        "South": (300.0, 1),
        "(none)": (25.0, 1),
    }


def test_ratio_at_the_total_is_a_ratio_of_sums_not_an_average(session: CubeSession) -> None:
    result = session.query_names(["win_rate"], ["manager.manager"], totals=True)
    assert by(result, "manager.manager", "win_rate") == pytest.approx(
        {"Anna": 1.0, "Boris": 0.25, "Clara": 0.0}
    )
    grand = by(result, "manager.manager", "win_rate", grouping=1)
    assert grand[None] == pytest.approx(2 / 6)  # (1 + 1 + 0) / (1 + 4 + 1), not 0.4167


def test_distinct_customers_are_distinct_at_every_level(session: CubeSession) -> None:
    result = session.query_names(["customers"], ["manager.team"], totals=True)
    assert by(result, "manager.team", "customers") == {"North": 2, "South": 1, "(none)": 1}
    assert by(result, "manager.team", "customers", grouping=1) == {None: 2}


def test_measures_from_two_facts_line_up_on_the_same_members(session: CubeSession) -> None:
    result = rows(
        session.query_names(["revenue", "won_deals", "avg_cycle_days"], ["channel.channel"])
    )
    by_channel = {r["channel.channel"]: r for r in result}
    assert by_channel["Email"]["revenue"] == 440.0
    assert by_channel["Email"]["won_deals"] == 1
    assert by_channel["Display"]["won_deals"] == 1
    assert by_channel["Display"]["avg_cycle_days"] == pytest.approx((20 + 30 + 40 + 50) / 4)
    assert by_channel["Unknown"]["revenue"] == 25.0
    assert by_channel["Unknown"]["won_deals"] is None  # no deal came from Unknown


def test_product_levels_read_order_lines_and_count_orders_distinctly(
    session: CubeSession,
) -> None:
    result = session.query_names(
        ["revenue", "orders", "avg_check", "units"], ["product.category"], totals=True
    )
    assert by(result, "product.category", "revenue") == {"Laptops": 400.0, "Phones": 125.0}
    # order 1 holds a laptop and a phone: it is one order in each category, one in the total
    assert by(result, "product.category", "orders") == {"Laptops": 3, "Phones": 4}
    assert by(result, "product.category", "orders", grouping=1) == {None: 6}
    assert by(result, "product.category", "avg_check")["Laptops"] == pytest.approx(400 / 3)
    assert by(result, "product.category", "units") == {"Laptops": 5, "Phones": 5}
    # without a product level the same measures read orders: the totals agree
    plain = rows(session.query_names(["revenue", "orders"]))
    assert plain == [{"_grouping": 0, "revenue": 525.0, "orders": 6}]


def test_rows_and_columns_with_subtotals_and_grand_total(session: CubeSession) -> None:
    result = rows(session.query_names(["revenue"], ["manager.team"], ["date.year"], totals=True))
    cells = {(r["manager.team"], r["date.year"], r["_grouping"]): r["revenue"] for r in result}
    assert cells[("North", 2025, 0)] == 190.0
    assert cells[("North", 2026, 0)] == 0.0  # the cancelled order
    assert cells[("North", None, 1)] == 200.0  # row subtotal over years
    assert cells[(None, 2025, 2)] == 490.0  # column total over teams
    assert cells[(None, None, 3)] == 525.0  # grand total
    # a subtotal follows the members it adds up; the grand total comes last
    teams = [(r["manager.team"], r["_grouping"]) for r in result if r["_grouping"] in (0, 1)]
    north = [g for t, g in teams if t == "North"]
    assert north[-1] == 1 and north.count(1) == 1
    assert (result[-1]["_grouping"]) == 3


def test_members_follow_their_sort_column_not_the_alphabet(session: CubeSession) -> None:
    result = session.query_names(
        ["stage_conversion", "deals_reached"], ["funnel.stage"], totals=True
    )
    assert [r["funnel.stage"] for r in rows(result)] == ["Qualified", "Meeting", "Won", None]
    conversion = by(result, "funnel.stage", "stage_conversion")
    assert conversion["Qualified"] == pytest.approx(2 / 3)
    assert conversion["Meeting"] == pytest.approx(1 / 2)
    assert conversion["Won"] is None  # the end of the funnel converts to nothing further
    assert by(result, "funnel.stage", "stage_conversion", 1)[None] == pytest.approx(3 / 5)
    by_manager = session.query_names(["stage_conversion"], ["manager.manager"])
    assert by(by_manager, "manager.manager", "stage_conversion") == pytest.approx(
        {"Anna": 1.0, "Boris": 1 / 3}
    )


def test_attribution_is_a_slicing_dimension_with_a_default_model(session: CubeSession) -> None:
    by_model = rows(
        session.query_names(["romi", "spend"], ["channel.channel", "attribution.model"])
    )
    romi = {(r["channel.channel"], r["attribution.model"]): r["romi"] for r in by_model}
    assert romi[("Email", "last_touch")] == pytest.approx((300 - 50) / 50)
    assert romi[("Email", "first_touch")] == pytest.approx(-1.0)
    assert romi[("Email", "linear")] == pytest.approx((150 - 50) / 50)
    assert romi[("Display", "first_touch")] == pytest.approx((350 - 100) / 100)
    assert romi[("Display", "linear")] == pytest.approx(1.0)
    # spend has no attribution: the same spend under each model, never summed over models
    assert {r["spend"] for r in by_model if r["channel.channel"] == "Display"} == {100.0}
    default = session.query_names(["romi", "attributed_revenue"], ["channel.channel"], totals=True)
    assert by(default, "channel.channel", "romi")["Display"] == pytest.approx(-0.5)
    assert by(default, "channel.channel", "attributed_revenue", 1) == {None: 350.0}
    assert by(default, "channel.channel", "romi", 1)[None] == pytest.approx((350 - 150) / 150)
    linear = session.query_names(
        ["romi"], ["channel.channel"], filters=["attribution.model=linear"]
    )
    assert by(linear, "channel.channel", "romi")["Email"] == pytest.approx(2.0)


def test_cpl_calls_and_csat(session: CubeSession) -> None:
    cpl = session.query_names(["cpl", "leads"], ["channel.channel"])
    assert by(cpl, "channel.channel", "cpl") == pytest.approx({"Email": 25.0, "Display": 100.0})
    # two facts with no level on the axes: one cell each, joined (the grand total)
    whole = rows(session.query_names(["cpl", "leads", "spend"]))
    assert len(whole) == 1 and whole[0]["cpl"] == pytest.approx(whole[0]["spend"] / 3)
    assert whole[0]["leads"] == 3
    calls = session.query_names(
        ["calls", "missed_call_rate", "avg_talk_seconds"], ["time.hour"], totals=True
    )
    assert by(calls, "time.hour", "missed_call_rate") == pytest.approx({9: 0.5, 10: 0.0})
    assert by(calls, "time.hour", "avg_talk_seconds") == pytest.approx({9: 100.0, 10: 40.0})
    assert by(calls, "time.hour", "avg_talk_seconds", 1)[None] == pytest.approx(180 / 3)


def test_missed_calls_rings_and_call_backs_per_manager(session: CubeSession) -> None:
    """A missed call counts once, for the manager rung last; every unanswered ring counts
    for the manager it rang; the call-back delay averages over the calls called back."""
    table = session.query_names(
        ["missed_calls", "missed_rings", "call_legs", "avg_callback_minutes"],
        ["manager.manager"],
        totals=True,
    )
    rows = {r["manager.manager"]: r for r in table.to_pylist()}
    assert {k: r["missed_calls"] for k, r in rows.items() if k} == {
        "Anna": 1,
        "Boris": 0,
        "Clara": 0,
    }
    assert {k: r["missed_rings"] for k, r in rows.items() if k} == {
        "Anna": 1,
        "Boris": 2,
        "Clara": 0,
    }
    assert rows["Anna"]["avg_callback_minutes"] == pytest.approx(30.0)
    assert rows[None]["call_legs"] == 6 and rows[None]["missed_calls"] == 1
    csat = session.query_names(["csat", "nps"], ["customer.segment"], totals=True)
    assert by(csat, "customer.segment", "csat") == pytest.approx({"Retail": 5.0, "Corporate": 2.0})
    assert by(csat, "customer.segment", "csat", 1)[None] == pytest.approx(3.5)  # 7 / 2 answers
    assert by(csat, "customer.segment", "nps", 1)[None] == pytest.approx((2 - 1) / 3)


def test_rfm_segment_is_a_customer_level(session: CubeSession) -> None:
    result = session.query_names(["revenue"], ["customer.rfm_segment"])
    assert by(result, "customer.rfm_segment", "revenue") == {"Champions": 440.0, "At risk": 85.0}


def test_mining_scores_are_customer_levels_and_measures(session: CubeSession) -> None:
    result = session.query_names(
        ["clv", "avg_clv", "churn_probability", "revenue"], ["customer.clv_band"], totals=True
    )
    assert by(result, "customer.clv_band", "clv") == {"Top 20%": 300.0, "Bottom 20%": 100.0}
    assert by(result, "customer.clv_band", "revenue") == {"Top 20%": 440.0, "Bottom 20%": 85.0}
    assert by(result, "customer.clv_band", "avg_clv", 1)[None] == pytest.approx(200.0)
    # only customer 11 is active: the unknown customer (-1) has no score at all
    assert by(result, "customer.clv_band", "churn_probability", 1)[None] == pytest.approx(0.8)
    risk = session.query_names(["customers"], ["customer.churn_risk_band"])
    assert by(risk, "customer.churn_risk_band", "customers") == {"High": 1, "(not active)": 1}


def test_time_functions_across_the_year_boundary(session: CubeSession) -> None:
    measures = [
        "revenue",
        "revenue:previous_period",
        "revenue:growth",
        "revenue:last_year",
        "revenue:ytd",
    ]
    result = {r["date.month"]: r for r in rows(session.query_names(measures, ["date.month"]))}
    january = result["2026-01"]
    assert january["revenue:previous_period"] == 40.0  # December 2025
    assert january["revenue:growth"] == pytest.approx((25 - 40) / 40)
    assert january["revenue:last_year"] == 100.0  # January 2025
    assert january["revenue:ytd"] == 25.0  # a new year starts the sum again
    assert result["2025-12"]["revenue:ytd"] == 490.0
    assert result["2025-04"]["revenue:previous_period"] is None  # nothing sold in March
    years = {
        r["date.year"]: r
        for r in rows(session.query_names(["revenue", "revenue:yoy_growth"], ["date.year"]))
    }
    assert years[2025]["revenue:yoy_growth"] == pytest.approx((490 - 10) / 10)


def test_time_functions_read_periods_outside_the_date_filter(session: CubeSession) -> None:
    result = session.query_names(
        ["revenue", "revenue:previous_period", "customers:previous_period"],
        ["date.month"],
        filters=["date.year=2025"],
        totals=True,
    )
    january = next(r for r in rows(result) if r["date.month"] == "2025-01")
    assert january["revenue:previous_period"] == 10.0  # December 2024, outside the filter
    assert january["customers:previous_period"] == 1
    grand = next(r for r in rows(result) if r["_grouping"] == 1)
    assert grand["revenue"] == 490.0 and grand["revenue:previous_period"] is None


def test_counts_through_time_functions(session: CubeSession) -> None:
    # deals by quarter: 2025-Q1 deals 1-2 (both won), 2025-Q2 deals 3-5 (lost), 2026-Q1 6-7;
    # a time function reads the facts counted once by day, then summed by period
    measures = ["deals", "won_deals", "won_deals:previous_period", "deals:last_year", "deals:ytd"]
    result = session.query_names(measures, ["date.quarter"])
    quarters = {r["date.quarter"]: r for r in rows(result)}
    assert quarters["2025-Q2"]["won_deals:previous_period"] == 2
    assert quarters["2025-Q2"]["deals:ytd"] == 5
    assert quarters["2026-Q1"]["deals:last_year"] == 2
    assert quarters["2026-Q1"]["won_deals"] == 0  # counted rows, none won: 0, not missing
    types = {m: str(result.schema.field(m).type) for m in measures}
    assert types == dict.fromkeys(measures, "int64")


def test_year_to_date_by_running_sum_equals_the_shifted_calendar(session: CubeSession) -> None:
    # whole years: a running sum over the shown months; a month range: the shifted calendar
    # (it reads the earlier months of the year although the filter keeps one month only)
    def ytd(*filters: str) -> dict:
        query = ["revenue:ytd", "win_rate:ytd", "revenue"]
        result = session.query_names(query, ["date.month"], filters=list(filters))
        return {r["date.month"]: (r["revenue:ytd"], r["win_rate:ytd"]) for r in rows(result)}

    whole_years = ytd("date.year=2025,2026")
    assert len(whole_years) >= 4
    for month in whole_years:
        assert ytd(f"date.month={month}") == {month: whole_years[month]}
    assert whole_years["2025-12"][0] == 490.0 and whole_years["2026-01"][0] == 25.0
    by_team = session.query_names(
        ["revenue:ytd"], ["manager.team", "date.month"], filters=["date.year=2025"]
    )
    north = {
        r["date.month"]: r["revenue:ytd"] for r in rows(by_team) if r["manager.team"] == "North"
    }
    shifted = session.query_names(
        ["revenue:ytd"], ["manager.team", "date.month"], filters=["date.month=2025-12"]
    )
    assert {r["manager.team"]: r["revenue:ytd"] for r in rows(shifted)}["North"] == north["2025-12"]


@pytest.mark.parametrize("growth", [True, False], ids=["with growth", "shifts only"])
@pytest.mark.parametrize("axis", ["date.year", "date.quarter", "date.month"])
def test_period_shifts_by_window_equal_the_shifted_calendar(
    star: Path, tmp_path: Path, axis: str, growth: bool
) -> None:
    # without a date filter the previous period and last year are read from the main cells
    # by a window (in the cells' own SELECT, or over them when a growth rate reads it too);
    # a filter that keeps every year forces the shifted calendar: same answers, for sums,
    # ratios and distinct counts, by team with subtotals; an order of unknown date is an
    # Unknown period that no time function reads
    path = tmp_path / "star.duckdb"
    path.write_bytes(star.read_bytes())
    with duckdb.connect(str(path)) as con:
        con.execute("insert into marts.fct_orders values (8, 10, 3, 'e', -1, true, 7.0)")
    session = CubeSession(path)
    measures = [
        "revenue:previous_period",
        *(["revenue:growth", "revenue:yoy_growth"] if growth else []),
        "revenue:last_year",
        "customers:previous_period",
        "avg_check:last_year",
        "revenue:ytd",
        "orders",
    ]
    args = (measures, ["manager.team"], [axis])
    window = compile_query(ACRM_CUBE, build_query(ACRM_CUBE, *args, totals=True)).sql
    assert "over previous_period" in window and "over last_year" in window
    assert window.startswith("with main") == growth  # else one SELECT of the cells
    by_window = rows(session.query_names(*args, totals=True))
    every_year = rows(session.query_names(*args, filters=["date.year=2024,2025,2026"], totals=True))

    def unknown(r: dict) -> bool:  # the axis level shown (grouping bit 0 clear), no period
        return r["_grouping"] & 1 == 0 and r[axis] in (None, "Unknown")

    def shifts(table: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "orders"} for r in table if not unknown(r)]

    assert shifts(by_window) == shifts(every_year) and len(shifts(every_year)) >= 6
    assert not any(unknown(r) for r in every_year)
    unknown_rows = [r for r in by_window if unknown(r)]
    assert [r["orders"] for r in unknown_rows] == [1, 1]  # South, and all teams: order 8
    assert all(r[m] is None for r in unknown_rows for m in measures if m != "orders")


def test_time_functions_need_a_calendar_level_and_refuse_distinct_ytd() -> None:
    with pytest.raises(QueryError, match="needs a calendar level"):
        build_query(ACRM_CUBE, ["revenue:growth"], ["channel.channel"])
    with pytest.raises(QueryError, match="distinct count"):
        build_query(ACRM_CUBE, ["customers:ytd"], ["date.month"])
    with pytest.raises(QueryError, match="Did you mean ytd"):
        build_query(ACRM_CUBE, ["revenue:ytdd"], ["date.month"])
    with pytest.raises(QueryError, match=r"filter dates at date\.month or coarser"):
        build_query(ACRM_CUBE, ["revenue:ytd"], ["date.month"], filters=["date.day=2025-01-01.."])


def test_ranges_and_top_n(session: CubeSession) -> None:
    half = session.query_names(["revenue"], filters=["date.day=2025-01-01..2025-06-30"])
    assert rows(half)[0]["revenue"] == 450.0
    until = session.query_names(["revenue"], filters=["date.month=..2025-01"])
    assert rows(until)[0]["revenue"] == 110.0
    top = session.query_names(
        ["revenue"], ["channel.channel"], top=TopN("channel.channel", "revenue", 1)
    )
    assert by(top, "channel.channel", "revenue") == {"Email": 440.0}
    worst = session.query_names(
        ["romi"], ["channel.channel"], top=TopN("channel.channel", "romi", 1, lowest=True)
    )
    assert list(by(worst, "channel.channel", "romi")) == ["Display"]
    # with a filter: the ranked cells are the filtered cells (bound values, by ORDER BY LIMIT)
    kept = ["manager.team!=South", "date.day=2025-01-01..2026-12-31"]
    all_members = by(
        session.query_names(["revenue"], ["channel.channel"], filters=kept),
        "channel.channel",
        "revenue",
    )
    two = session.query_names(
        ["revenue"], ["channel.channel"], filters=kept, top=TopN("channel.channel", "revenue", 2)
    )
    best = sorted((v for v in all_members.values() if v is not None), reverse=True)[:2]
    assert sorted(by(two, "channel.channel", "revenue").values(), reverse=True) == best
    by_team = session.query_names(
        ["revenue"],
        ["manager.team", "channel.channel"],
        filters=kept,
        top=TopN("channel.channel", "revenue", 1),
    )  # the member-filter path, with the same bound values
    assert {r["channel.channel"] for r in rows(by_team)} <= set(all_members)


def test_drill_down_and_up_a_hierarchy(session: CubeSession) -> None:
    query = build_query(ACRM_CUBE, ["revenue"], ["channel.channel"])
    down = drill_down(ACRM_CUBE, query, "channel.channel", "Email")
    assert down.rows == ("channel.source",)
    assert by(session.query(down), "channel.source", "revenue") == {"newsletter": 440.0}
    deeper = drill_down(ACRM_CUBE, down, "channel.source", "newsletter")
    assert deeper.rows == ("channel.campaign",) and len(deeper.filters) == 2
    with pytest.raises(QueryError, match="finest level"):
        drill_down(ACRM_CUBE, deeper, "channel.campaign", "brand")
    up = drill_up(ACRM_CUBE, drill_up(ACRM_CUBE, deeper, "channel.campaign"), "channel.source")
    assert up.rows == ("channel.channel",) and up.filters == ()
    assert by(session.query(up), "channel.channel", "revenue")["Display"] == 60.0
    with pytest.raises(QueryError, match="coarsest level"):
        drill_up(ACRM_CUBE, up, "channel.channel")


def test_filters_keep_or_drop_members(session: CubeSession) -> None:
    kept = rows(
        session.query_names(["revenue"], ["manager.manager"], filters=["manager.team=North"])
    )
    assert sorted(r["manager.manager"] for r in kept) == ["Anna", "Boris"]
    dropped = rows(session.query_names(["revenue"], [], filters=["date.year!=2025"]))
    assert dropped == [{"_grouping": 0, "revenue": 35.0}]


def test_results_as_pandas_and_polars(session: CubeSession) -> None:
    frame = session.query_names(["revenue"], ["manager.team"], as_="pandas")
    assert isinstance(frame, pd.DataFrame) and frame["revenue"].sum() == 525.0
    polars = session.query_names(["revenue"], ["manager.team"], as_="polars")
    assert isinstance(polars, pl.DataFrame) and polars["revenue"].sum() == 525.0


def test_the_cache_answers_repeats_and_empties_on_a_new_publication(
    star: Path, tmp_path: Path
) -> None:
    build = tmp_path / "build.duckdb"  # the pipeline's file (the star is open for reading)
    build.write_bytes(star.read_bytes())
    published = tmp_path / "published" / "acrm.duckdb"
    publish(build, published)
    cube = CubeSession(published)
    assert rows(cube.query_names(["revenue"]))[0]["revenue"] == 525.0
    assert rows(cube.query_names(["revenue"]))[0]["revenue"] == 525.0
    assert (cube.engine.cache.hits, cube.engine.cache.misses) == (1, 1)
    with duckdb.connect(str(build)) as con:
        con.execute("update marts.fct_orders set revenue = revenue * 2").fetchall()
    publish(build, published)  # a new build, swapped in by rename
    assert rows(cube.query_names(["revenue"]))[0]["revenue"] == 1050.0


def test_filter_values_are_bound_parameters_not_sql(session: CubeSession) -> None:
    hostile = "North') or 1=1 --"
    compiled = compile_query(
        ACRM_CUBE, build_query(ACRM_CUBE, ["revenue"], [], filters=[f"manager.team={hostile}"])
    )
    assert hostile not in compiled.sql and hostile in compiled.parameters.values()
    assert rows(session.query_names(["revenue"], [], filters=[f"manager.team={hostile}"])) == [
        {"_grouping": 0, "revenue": None}
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"measures": ["revnue"]}, "unknown measure 'revnue'. Did you mean revenue?"),
        ({"measures": ["revenue"], "rows": ["channel.chanel"]}, "Did you mean channel.channel"),
        ({"measures": ["revenue"], "filters": ["manager.team"]}, "malformed filter"),
        ({"measures": ["revenue"], "filters": ["date.year=twenty"]}, "not a valid int"),
        ({"measures": ["revenue"], "filters": ["date.day=2025-13-01.."]}, "not a valid date"),
        ({"measures": ["revenue"], "filters": ["date.year!=2024..2025"]}, "cannot be negated"),
        ({"measures": ["revenue"], "rows": ["date.year"], "cols": ["date.year"]}, "appears twice"),
        (
            {"measures": ["calls"], "rows": ["product.category"]},
            "cannot be split or filtered by product",
        ),
        ({"measures": []}, "name at least one measure"),
    ],
)
def test_bad_queries_name_the_bad_part_and_the_choices(kwargs: dict, message: str) -> None:
    with pytest.raises(QueryError, match=message.replace("?", r"\?").replace("(", r"\(")):
        build_query(ACRM_CUBE, **kwargs)


def test_a_missing_published_warehouse_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="acrm run"):
        CubeSession(tmp_path / "nothing.duckdb")


def test_a_hanging_atoti_start_is_cut_short_with_its_server(tmp_path: Path, monkeypatch) -> None:
    import os
    import time

    from cubes import atoti_engine

    pid_file = tmp_path / "server.pid"
    monkeypatch.setattr(  # a "server" child that never answers, and a client that waits
        atoti_engine,
        "PROBE",
        "import subprocess, time\n"
        f"server = subprocess.Popen(['sleep', '300'])\nopen({str(pid_file)!r}, 'w')"
        ".write(str(server.pid))\ntime.sleep(300)\n",
    )
    with pytest.raises(atoti_engine.AtotiUnavailableError, match="did not start within 2 s"):
        atoti_engine._probe(seconds=2)
    server = int(pid_file.read_text())
    for _ in range(50):  # killed with its group; init reaps it
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the probe's server {server} outlived it")
