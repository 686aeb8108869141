"""The marts recover every planted truth in truth.json, and their totals equal independent
SQL over the source files (SQLite CRM, CDR CSVs, GA4 NDJSON, ad CSVs)."""

import csv
import gzip
import json
import sqlite3
from decimal import Decimal

import duckdb
import pytest


@pytest.fixture(scope="module")
def marts(built_warehouse):
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        yield con


def one(con, sql: str, params=None):
    value = con.execute(sql, params or []).fetchall()[0][0]
    return float(value) if isinstance(value, Decimal) else value


def test_the_weak_manager_converts_worst_out_of_the_planted_stage(marts, truth) -> None:
    rows = marts.execute(
        "select manager_key, conversion, peer_conversion from marts.rpt_manager_stage_conversion "
        "where stage_name = ? order by conversion",
        [truth["weak_manager"]["stage"]],
    ).fetchall()
    manager, conversion, peers = rows[0]
    assert manager == truth["weak_manager"]["manager_id"]
    assert conversion == pytest.approx(truth["measured"]["weak_manager_conversion"], abs=1e-3)
    assert conversion < peers - 0.2
    scorecard = marts.execute(
        "select weakest_stage from marts.rpt_manager_scorecard where manager_key = ?", [manager]
    ).fetchall()
    assert scorecard == [(truth["weak_manager"]["stage"],)]


def test_the_skipping_manager_skips_the_planted_stage(marts, truth) -> None:
    rows = marts.execute(
        "select t.manager_key, avg(case when t.is_skipped then 1.0 else 0 end) as skip_rate "
        "from marts.fct_deal_stage_transitions t join marts.dim_funnel_stages s using (stage_key) "
        "where s.stage_name = ? and t.is_advanced group by 1 order by 2 desc",
        [truth["skipping_manager"]["stage"]],
    ).fetchall()
    assert rows[0][0] == truth["skipping_manager"]["manager_id"]
    assert rows[0][1] == pytest.approx(truth["measured"]["skipping_manager_skip_rate"], abs=1e-3)


def test_the_funnel_leaks_most_at_the_planted_stage_for_the_planted_reason(marts, truth) -> None:
    stage = one(
        marts,
        "select stage_name from marts.rpt_funnel_conversion group by stage_name "
        "having sum(deals_reached) > 0 and min(stage_conversion) is not null "
        "order by sum(deals_advanced) * 1.0 / sum(deals_reached) limit 1",
    )
    reason = one(
        marts,
        "select r.loss_reason from marts.fct_deals d join marts.dim_loss_reasons r "
        "using (loss_reason_key) where d.is_lost group by 1 order by count(*) desc limit 1",
    )
    assert stage == truth["funnel"]["largest_dropoff_stage"]
    assert reason == truth["funnel"]["dominant_loss_reason"]


@pytest.mark.parametrize("model", ["last_touch", "linear"])
def test_romi_ranks_the_planted_channels(marts, truth, model) -> None:
    romi = dict(
        marts.execute(
            "select channel, (sum(attributed_revenue) - sum(spend)) / sum(spend) "
            "from marts.rpt_marketing_romi where attribution_model = ? "
            "group by channel having sum(spend) > 0",
            [model],
        ).fetchall()
    )
    assert min(romi, key=romi.get) == truth["romi"]["negative_channel"]
    assert romi[truth["romi"]["negative_channel"]] < 0
    assert max(romi, key=romi.get) == truth["romi"]["best_channel"]


def test_missed_calls_count_per_call_for_the_manager_rung_last(marts, truth) -> None:
    """Legs are not calls: a queue call that rang three managers and nobody answered is one
    missed call, the last manager's, and three missed rings, one for each."""
    by_manager = dict(
        marts.execute(
            "select manager_key, missed_calls from marts.rpt_manager_scorecard "
            "where missed_calls > 0"
        ).fetchall()
    )
    planted = {int(k): v for k, v in truth["calls"]["missed_calls_by_manager"].items()}
    assert by_manager == planted
    rings = dict(
        marts.execute(
            "select manager_key, missed_rings from marts.rpt_manager_scorecard "
            "where missed_rings > 0"
        ).fetchall()
    )
    assert rings == {int(k): v for k, v in truth["calls"]["missed_rings_by_manager"].items()}
    assert max(by_manager, key=by_manager.get) == truth["calls"]["most_missed_manager"]
    unattributed = one(
        marts, "select count(*) from marts.fct_calls where is_missed and manager_key = -1"
    )
    assert unattributed == 0


def test_call_load_peaks_and_misses_at_the_planted_hours(marts, truth) -> None:
    peak = one(
        marts,
        "select hour_key from marts.rpt_call_load group by 1 order by sum(calls) desc limit 1",
    )
    worst = one(
        marts,
        "select hour_key from marts.rpt_call_load group by 1 "
        "having sum(inbound_calls) >= 0.01 * (select sum(inbound_calls) from marts.rpt_call_load) "
        "order by sum(missed_calls) * 1.0 / sum(inbound_calls) desc limit 1",
    )
    assert peak == truth["calls"]["peak_hour"]
    assert worst == truth["calls"]["worst_missed_rate_hour"]


def test_the_most_engaging_page_is_the_planted_one(marts, truth) -> None:
    page = one(
        marts,
        "select page_path from marts.rpt_content_engagement "
        "where page_views >= 0.005 * (select sum(page_views) from marts.rpt_content_engagement) "
        "order by avg_engagement_seconds desc limit 1",
    )
    assert page == truth["content"]["most_engaging_page"]


def test_the_planted_segment_has_the_highest_value_per_customer(marts, truth) -> None:
    segment = one(
        marts,
        "select c.segment from marts.dim_customers c left join marts.fct_orders o "
        "using (customer_key) where c.customer_key <> -1 group by 1 "
        "order by sum(coalesce(o.revenue, 0)) / count(distinct c.customer_key) desc limit 1",
    )
    assert segment == truth["clv"]["top_segment"]


def test_the_planted_product_pairs_have_the_highest_lift(marts, truth) -> None:
    planted = {tuple(sorted(pair)) for pair in truth["basket"]["high_lift_pairs"]}
    top = marts.execute(
        "select product_a_key, product_b_key, lift from marts.rpt_product_affinity "
        "where orders_with_both >= 5 order by lift desc limit ?",
        [len(planted)],
    ).fetchall()
    assert {(a, b) for a, b, _ in top} == planted
    assert min(lift for _, _, lift in top) > 3


def test_totals_equal_independent_sql_on_the_sources(marts, small_sources, truth) -> None:
    with sqlite3.connect(small_sources / "crm" / "crm.sqlite") as crm:
        revenue = crm.execute(
            "select sum(l.quantity * l.unit_price - l.discount) from order_lines l "
            "join orders o using (order_id) where o.status = 'paid'"
        ).fetchone()[0]
        won = crm.execute("select count(*) from deals where status = 'won'").fetchone()[0]
    legs = []  # cdr_csv with newcdrcolumns: linkedid is field 20, sequence 21
    for path in (small_sources / "calls").glob("Master-*.csv"):
        text = path.read_bytes().decode("utf-8", errors="replace")
        legs += [row for row in csv.reader(text.splitlines()) if len(row) == 21]
    calls = len({row[19] for row in legs})
    events = [
        json.loads(line)
        for path in (small_sources / "web").glob("events_*json*")
        for line in gzip.decompress(path.read_bytes()).splitlines()
    ]
    transactions = {
        e["ecommerce"]["transaction_id"] for e in events if e["event_name"] == "purchase"
    }
    orders_revenue = one(marts, "select sum(revenue) from marts.fct_orders")
    assert orders_revenue == pytest.approx(revenue, abs=0.01)
    assert one(marts, "select sum(revenue) from marts.fct_order_lines") == pytest.approx(
        revenue, abs=0.01
    )
    for model in ("first_touch", "last_touch", "linear"):
        attributed = one(
            marts,
            "select sum(attributed_revenue) from marts.fct_attributed_revenue "
            "where attribution_model = ?",
            [model],
        )
        assert attributed == pytest.approx(revenue, abs=0.01), model
    assert one(marts, "select count(*) from marts.fct_deals where is_won") == won
    assert one(marts, "select count(*) from marts.fct_calls") == calls == truth["totals"]["calls"]
    assert one(marts, "select count(*) from marts.fct_call_legs") == len(legs)
    # the queue_log tells the same story: every missed inbound call abandoned the queue
    outcomes = dict(
        marts.execute("select outcome, count(*) from marts.fct_queue_calls group by 1").fetchall()
    )
    assert outcomes["abandoned"] == truth["totals"]["missed_calls"]
    assert sum(outcomes.values()) == one(
        marts, "select count(*) from marts.fct_calls where direction = 'inbound'"
    )
    assert one(marts, "select count(*) from marts.fct_web_events") == len(events)
    # GA4 repeats some purchase events: each transaction counts once
    assert (
        len(transactions)
        == truth["totals"]["web_purchases"]
        < sum(e["event_name"] == "purchase" for e in events)
    )
    assert one(marts, "select count(*) from marts.fct_web_events where is_purchase") == len(
        transactions
    )
    # Google's, Yandex's and Meta's own reports (dollars at the rates file's rate), in roubles
    assert one(marts, "select sum(spend) from marts.fct_marketing_spend") == pytest.approx(
        truth["totals"]["spend"], abs=0.05
    )
    assert one(marts, "select sum(revenue) from marts.fct_customer_months") == pytest.approx(
        revenue, abs=0.01
    )


def test_nvl_parts_add_up_to_the_revenue_change(marts) -> None:
    rows = marts.execute(
        "select revenue, n_customers * v_value * l_loyalty, revenue_change, "
        "change_from_n + change_from_v + change_from_l from marts.rpt_nvl_decomposition "
        "order by month_start"
    ).fetchall()
    assert len(rows) >= 12
    for revenue, product, change, parts in rows:
        assert product == pytest.approx(float(revenue), rel=1e-9)
        if change is not None:
            assert parts == pytest.approx(float(change), rel=1e-6, abs=1e-3)


def test_customer_history_has_one_current_version_per_customer(marts, truth) -> None:
    current = one(marts, "select count(*) from marts.dim_customer_history where is_current")
    keys = one(marts, "select count(distinct customer_key) from marts.dim_customer_history")
    assert current == keys == truth["totals"]["customers"]
