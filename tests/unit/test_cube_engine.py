"""Cube semantics on a hand-built star schema whose answers are computed by hand."""

from pathlib import Path

import duckdb
import pytest

from cubes import ACRM_CUBE, CubeSession, QueryError, build_query, compile_query

STAR = """
create schema marts;
create table marts.dim_dates as select * from (values
    (20250105, date '2025-01-05', 2025, '2025-Q1', '2025-01'),
    (20250410, date '2025-04-10', 2025, '2025-Q2', '2025-04'),
    (20260102, date '2026-01-02', 2026, '2026-Q1', '2026-01'),
    (-1, null, null, 'Unknown', 'Unknown')
) t(date_key, date_day, year, quarter, month);
create table marts.dim_managers as select * from (values
    (1, 'Anna', 'North'), (2, 'Boris', 'North'), (3, 'Clara', 'South'), (-1, '(none)', '(none)')
) t(manager_key, manager_name, team_name);
create table marts.dim_channels as select * from (values
    ('e', 'Email', 'newsletter', 'brand'), ('d', 'Display', 'mytarget', 'promo'),
    ('unknown', 'Unknown', 'Unknown', 'Unknown')
) t(channel_key, channel, source, campaign_name);
create table marts.dim_customers as select * from (values
    (10, 'Retail', 'Moscow', 'Moscow', 'female', '25-34', '<30k', 'master'),
    (11, 'Corporate', 'Tatarstan', 'Kazan', 'male', '35-44', '>200k', 'bachelor'),
    (-1, 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown')
) t(customer_key, segment, region, city, gender, age_band, income_band, education);
-- customer 10 buys from Anna (North) and Clara (South); order 4 is cancelled
create table marts.fct_orders as select * from (values
    (1, 10, 1, 'e', 20250105, true, 100.0),
    (2, 10, 3, 'e', 20250410, true, 300.0),
    (3, 11, 2, 'd', 20250410, true, 50.0),
    (4, 11, 2, 'd', 20260102, false, 0.0),
    (5, 11, -1, 'unknown', 20260102, true, 25.0)
) t(order_id, customer_key, manager_key, channel_key, order_date_key, is_paid, revenue);
-- Anna: 1 won of 1 closed (100 %); Boris: 1 won of 4 closed (25 %); Clara: 0 of 1
create table marts.fct_deals as select * from (values
    (1, 10, 1, 'e', 20250105, true, false, 10.0, 100.0),
    (2, 11, 2, 'd', 20250105, true, false, 20.0, 50.0),
    (3, 11, 2, 'd', 20250410, false, true, 30.0, 0.0),
    (4, 11, 2, 'd', 20250410, false, true, 40.0, 0.0),
    (5, 11, 2, 'd', 20250410, false, true, 50.0, 0.0),
    (6, 10, 3, 'e', 20260102, false, true, 60.0, 0.0),
    (7, 10, 3, 'e', 20260102, false, false, null, 0.0)
) t(deal_id, customer_key, manager_key, channel_key, created_date_key, is_won, is_lost,
    cycle_days, won_amount);
"""


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> CubeSession:
    path = tmp_path_factory.mktemp("star") / "star.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(STAR)
    return CubeSession(path)


def rows(table) -> list[dict]:
    return table.to_pylist()


def test_revenue_by_team_counts_paid_orders_only(session: CubeSession) -> None:
    result = rows(session.query_names(["revenue", "orders"], ["manager.team"]))
    assert {r["manager.team"]: (r["revenue"], r["orders"]) for r in result} == {
        "North": (150.0, 2),
        "South": (300.0, 1),
        "(none)": (25.0, 1),
    }


def test_ratio_at_the_total_is_a_ratio_of_sums_not_an_average(session: CubeSession) -> None:
    result = rows(session.query_names(["win_rate"], ["manager.manager"], totals=True))
    by_manager = {r["manager.manager"]: r["win_rate"] for r in result if r["_grouping"] == 0}
    assert by_manager["Anna"] == pytest.approx(1.0)
    assert by_manager["Boris"] == pytest.approx(0.25)
    assert by_manager["Clara"] == pytest.approx(0.0)
    grand = next(r for r in result if r["_grouping"] == 1)
    assert grand["win_rate"] == pytest.approx(2 / 6)  # (1 + 1 + 0) / (1 + 4 + 1), not 0.4167


def test_distinct_customers_are_distinct_at_every_level(session: CubeSession) -> None:
    result = rows(session.query_names(["customers"], ["manager.team"], totals=True))
    by_team = {r["manager.team"]: r["customers"] for r in result if r["_grouping"] == 0}
    assert by_team == {"North": 2, "South": 1, "(none)": 1}
    grand = next(r for r in result if r["_grouping"] == 1)
    assert grand["customers"] == 2  # customer 10 bought in North and South: counted once


def test_measures_from_two_facts_line_up_on_the_same_members(session: CubeSession) -> None:
    result = rows(
        session.query_names(["revenue", "won_deals", "avg_cycle_days"], ["channel.channel"])
    )
    by_channel = {r["channel.channel"]: r for r in result}
    assert by_channel["Email"]["revenue"] == 400.0
    assert by_channel["Email"]["won_deals"] == 1
    assert by_channel["Display"]["won_deals"] == 1
    assert by_channel["Display"]["avg_cycle_days"] == pytest.approx((20 + 30 + 40 + 50) / 4)
    assert by_channel["Unknown"]["revenue"] == 25.0
    assert by_channel["Unknown"]["won_deals"] is None  # no deal came from Unknown


def test_rows_and_columns_with_subtotals_and_grand_total(session: CubeSession) -> None:
    result = rows(session.query_names(["revenue"], ["manager.team"], ["date.year"], totals=True))
    cells = {(r["manager.team"], r["date.year"], r["_grouping"]): r["revenue"] for r in result}
    assert cells[("North", 2025, 0)] == 150.0
    assert cells[("North", 2026, 0)] == 0.0  # the cancelled order
    assert cells[("North", None, 1)] == 150.0  # row subtotal over years
    assert cells[(None, 2025, 2)] == 450.0  # column total over teams
    assert cells[(None, None, 3)] == 475.0  # grand total


def test_filters_keep_or_drop_members(session: CubeSession) -> None:
    kept = rows(
        session.query_names(["revenue"], ["manager.manager"], filters=["manager.team=North"])
    )
    assert sorted(r["manager.manager"] for r in kept) == ["Anna", "Boris"]
    dropped = rows(session.query_names(["revenue"], [], filters=["date.year!=2025"]))
    assert dropped == [{"_grouping": 0, "revenue": 25.0}]


def test_filter_values_are_bound_parameters_not_sql(session: CubeSession) -> None:
    hostile = "North') or 1=1 --"
    compiled = compile_query(
        ACRM_CUBE, build_query(ACRM_CUBE, ["revenue"], [], filters=[f"manager.team={hostile}"])
    )
    assert hostile not in compiled.sql and hostile in compiled.parameters
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
        ({"measures": ["revenue"], "rows": ["date.year"], "cols": ["date.year"]}, "appears twice"),
        ({"measures": []}, "name at least one measure"),
    ],
)
def test_bad_queries_name_the_bad_part_and_the_choices(kwargs: dict, message: str) -> None:
    with pytest.raises(QueryError, match=message.replace("?", r"\?").replace("(", r"\(")):
        build_query(ACRM_CUBE, **kwargs)


def test_a_missing_published_warehouse_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="acrm run"):
        CubeSession(tmp_path / "nothing.duckdb")
