"""Cube query latency: a fixed set of analyst queries, ours against hand SQL and pandas.

For each query, in the same run and on the same published warehouse:
- ours: the embedded engine (validate, compile, execute, Arrow result) with its result
  cache emptied before every run, so every answer is computed (a cold result cache);
- lower bound: the same answer by a hand-written DuckDB SQL statement on the same
  connection;
- naive: pandas pivot_table per fact (cubes.frame_engine.PandasBackend) over tables read
  into memory once (the load is timed apart); time functions are ours only.
Every answer is compared with ours (cubes.conformance.differences). Each query runs REPEAT
times after one warm-up, and more while a method has run for under MIN_SECONDS.
Usage: python bench/cube.py [--scales 1 10] [--out data/bench]
"""

from __future__ import annotations

import json
import resource
import statistics
import time
from pathlib import Path

import duckdb
from results import run_scales  # bench/results.py: command line and results file

from cubes import ACRM_CUBE, TopN, build_query
from cubes.conformance import differences
from cubes.duckdb_engine import DuckDBEngine, run_arrow
from cubes.frame_engine import FrameEngine, PandasBackend

REPEAT = 5  # timed runs at least
MIN_SECONDS = 1.0  # and more, up to MAX_REPEAT, until this much time was measured
MAX_REPEAT = 200

# (name, query arguments, hand-written SQL giving the same columns and rows)
QUERIES: list[tuple[str, dict, str]] = [
    (
        "revenue by channel",
        {"measures": ["revenue"], "rows": ["channel.channel"]},
        """select c.channel as "channel.channel", 0 as _grouping, sum(o.revenue) as revenue
        from marts.fct_orders o left join marts.dim_channels c using (channel_key) group by 1""",
    ),
    (
        "revenue, orders, avg check by channel with total",
        {
            "measures": ["revenue", "orders", "avg_check"],
            "rows": ["channel.channel"],
            "totals": True,
        },
        """select c.channel as "channel.channel", grouping(c.channel) as _grouping,
            sum(o.revenue) as revenue, sum(o.is_paid::int) as orders,
            sum(o.revenue) / sum(o.is_paid::int) as avg_check
        from marts.fct_orders o left join marts.dim_channels c using (channel_key)
        group by rollup(c.channel)""",
    ),
    (
        "revenue by month",
        {"measures": ["revenue"], "rows": ["date.month"]},
        """select d.month as "date.month", 0 as _grouping, sum(o.revenue) as revenue
        from marts.fct_orders o left join marts.dim_dates d on o.order_date_key = d.date_key
        group by 1""",
    ),
    (
        "revenue by quarter x channel",
        {"measures": ["revenue"], "rows": ["date.quarter"], "cols": ["channel.channel"]},
        """select d.quarter as "date.quarter", c.channel as "channel.channel", 0 as _grouping,
            sum(o.revenue) as revenue
        from marts.fct_orders o left join marts.dim_dates d on o.order_date_key = d.date_key
        left join marts.dim_channels c using (channel_key) group by 1, 2""",
    ),
    (
        "customers by segment with total",
        {"measures": ["customers"], "rows": ["customer.segment"], "totals": True},
        """select c.segment as "customer.segment", grouping(c.segment) as _grouping,
            count(distinct case when o.is_paid then o.customer_key end) as customers
        from marts.fct_orders o left join marts.dim_customers c using (customer_key)
        group by rollup(c.segment)""",
    ),
    (
        "revenue by region, Corporate only",
        {
            "measures": ["revenue"],
            "rows": ["customer.region"],
            "filters": ["customer.segment=Corporate"],
        },
        """select c.region as "customer.region", 0 as _grouping, sum(o.revenue) as revenue
        from marts.fct_orders o left join marts.dim_customers c using (customer_key)
        where c.segment = 'Corporate' group by 1""",
    ),
    (
        "revenue per customer by segment",
        {"measures": ["revenue_per_customer"], "rows": ["customer.segment"]},
        """select c.segment as "customer.segment", 0 as _grouping,
            sum(o.revenue) / count(distinct case when o.is_paid then o.customer_key end)
                as revenue_per_customer
        from marts.fct_orders o left join marts.dim_customers c using (customer_key)
        group by 1""",
    ),
    (
        "revenue by category with total",
        {"measures": ["revenue"], "rows": ["product.category"], "totals": True},
        """select p.category_name as "product.category", grouping(p.category_name) as _grouping,
            sum(l.revenue) as revenue
        from marts.fct_order_lines l left join marts.dim_products p using (product_key)
        group by rollup(p.category_name)""",
    ),
    (
        "top 10 products by revenue",
        {
            "measures": ["revenue", "units"],
            "rows": ["product.product"],
            "top": TopN("product.product", "revenue", 10),
        },
        """select p.product_name as "product.product", 0 as _grouping, sum(l.revenue) as revenue,
            sum(case when l.is_paid then l.quantity else 0 end) as units
        from marts.fct_order_lines l left join marts.dim_products p using (product_key)
        group by 1 order by revenue desc limit 10""",
    ),
    (
        "paid orders by category (distinct)",
        {"measures": ["orders"], "rows": ["product.category"]},
        """select p.category_name as "product.category", 0 as _grouping,
            count(distinct case when l.is_paid then l.order_id end) as orders
        from marts.fct_order_lines l left join marts.dim_products p using (product_key)
        group by 1""",
    ),
    (
        "win rate by manager",
        {"measures": ["win_rate"], "rows": ["manager.manager"]},
        """select m.manager_name as "manager.manager", 0 as _grouping,
            sum(d.is_won::int) / nullif(sum((d.is_won or d.is_lost)::int), 0) as win_rate
        from marts.fct_deals d left join marts.dim_managers m using (manager_key) group by 1""",
    ),
    (
        "win rate and deals by team > manager with subtotals",
        {
            "measures": ["win_rate", "deals"],
            "rows": ["manager.team", "manager.manager"],
            "totals": True,
        },
        """select m.team_name as "manager.team", m.manager_name as "manager.manager",
            grouping(m.team_name, m.manager_name) as _grouping,
            sum(d.is_won::int) / nullif(sum((d.is_won or d.is_lost)::int), 0) as win_rate,
            count(*) as deals
        from marts.fct_deals d left join marts.dim_managers m using (manager_key)
        group by rollup(m.team_name, m.manager_name)""",
    ),
    (
        "cycle days by channel",
        {"measures": ["avg_cycle_days"], "rows": ["channel.channel"]},
        """select c.channel as "channel.channel", 0 as _grouping,
            sum(coalesce(d.cycle_days, 0)) / nullif(sum((d.is_won or d.is_lost)::int), 0)
                as avg_cycle_days
        from marts.fct_deals d left join marts.dim_channels c using (channel_key) group by 1""",
    ),
    (
        "stage conversion by stage",
        {"measures": ["stage_conversion"], "rows": ["funnel.stage"]},
        """select s.stage_name as "funnel.stage", 0 as _grouping,
            sum(t.is_advanced::int) / nullif(sum((not t.is_won_here)::int), 0) as stage_conversion
        from marts.fct_deal_stage_transitions t left join marts.dim_funnel_stages s
            using (stage_key) group by 1""",
    ),
    (
        "Negotiation conversion by manager",
        {
            "measures": ["stage_conversion"],
            "rows": ["manager.manager"],
            "filters": ["funnel.stage=Negotiation"],
        },
        """select m.manager_name as "manager.manager", 0 as _grouping,
            sum(t.is_advanced::int) / nullif(sum((not t.is_won_here)::int), 0) as stage_conversion
        from marts.fct_deal_stage_transitions t
        left join marts.dim_funnel_stages s using (stage_key)
        left join marts.dim_managers m using (manager_key)
        where s.stage_name = 'Negotiation' group by 1""",
    ),
    (
        "drop-off by stage x team",
        {
            "measures": ["dropoff_rate", "deals_lost_at_stage"],
            "rows": ["funnel.stage"],
            "cols": ["manager.team"],
        },
        """select s.stage_name as "funnel.stage", m.team_name as "manager.team", 0 as _grouping,
            sum(t.is_lost_here::int) / count(*) as dropoff_rate,
            sum(t.is_lost_here::int) as deals_lost_at_stage
        from marts.fct_deal_stage_transitions t
        left join marts.dim_funnel_stages s using (stage_key)
        left join marts.dim_managers m using (manager_key) group by 1, 2""",
    ),
    (
        "ROMI by channel (last touch)",
        {"measures": ["romi"], "rows": ["channel.channel"]},
        """with r as (select c.channel, sum(a.attributed_revenue) as revenue
            from marts.fct_attributed_revenue a left join marts.dim_channels c using (channel_key)
            where a.attribution_model = 'last_touch' group by 1),
        s as (select c.channel, sum(f.spend) as spend
            from marts.fct_marketing_spend f left join marts.dim_channels c using (channel_key)
            group by 1)
        select coalesce(r.channel, s.channel) as "channel.channel", 0 as _grouping,
            (coalesce(r.revenue, 0) - coalesce(s.spend, 0)) / nullif(s.spend, 0) as romi
        from r full join s on r.channel is not distinct from s.channel""",
    ),
    (
        "ROMI by channel x attribution model",
        {"measures": ["romi"], "rows": ["channel.channel", "attribution.model"]},
        """with r as (select c.channel, a.attribution_model, sum(a.attributed_revenue) as revenue
            from marts.fct_attributed_revenue a left join marts.dim_channels c using (channel_key)
            group by 1, 2),
        s as (select c.channel, m.attribution_model, sum(f.spend) as spend
            from marts.fct_marketing_spend f left join marts.dim_channels c using (channel_key)
            cross join marts.dim_attribution_models m group by 1, 2)
        select coalesce(r.channel, s.channel) as "channel.channel",
            coalesce(r.attribution_model, s.attribution_model) as "attribution.model",
            0 as _grouping,
            (coalesce(r.revenue, 0) - coalesce(s.spend, 0)) / nullif(s.spend, 0) as romi
        from r full join s on r.channel is not distinct from s.channel
            and r.attribution_model = s.attribution_model""",
    ),
    (
        "spend and CPL by campaign",
        {"measures": ["spend", "cpl"], "rows": ["channel.campaign"]},
        """with s as (select c.campaign_name, sum(f.spend) as spend
            from marts.fct_marketing_spend f left join marts.dim_channels c using (channel_key)
            group by 1),
        l as (select c.campaign_name, count(*) as leads
            from marts.fct_leads f left join marts.dim_channels c
            on f.last_touch_channel_key = c.channel_key group by 1)
        select coalesce(s.campaign_name, l.campaign_name) as "channel.campaign", 0 as _grouping,
            s.spend, s.spend / nullif(l.leads, 0) as cpl
        from s full join l on s.campaign_name is not distinct from l.campaign_name""",
    ),
    (
        "ROMI by source, linear",
        {
            "measures": ["romi"],
            "rows": ["channel.source"],
            "filters": ["attribution.model=linear"],
        },
        """with r as (select c.source, sum(a.attributed_revenue) as revenue
            from marts.fct_attributed_revenue a left join marts.dim_channels c using (channel_key)
            where a.attribution_model = 'linear' group by 1),
        s as (select c.source, sum(f.spend) as spend
            from marts.fct_marketing_spend f left join marts.dim_channels c using (channel_key)
            group by 1)
        select coalesce(r.source, s.source) as "channel.source", 0 as _grouping,
            (coalesce(r.revenue, 0) - coalesce(s.spend, 0)) / nullif(s.spend, 0) as romi
        from r full join s on r.source is not distinct from s.source""",
    ),
    (
        "calls and missed-call rate by hour",
        {"measures": ["calls", "missed_call_rate"], "rows": ["time.hour"]},
        """select t.hour_of_day as "time.hour", 0 as _grouping, count(*) as calls,
            sum(c.is_missed::int) / nullif(sum((c.direction = 'inbound')::int), 0)
                as missed_call_rate
        from marts.fct_calls c left join marts.dim_times t using (hour_key) group by 1""",
    ),
    (
        "call load weekday x hour",
        {"measures": ["calls"], "rows": ["date.weekday"], "cols": ["time.hour"]},
        """select d.day_of_week as "date.weekday", t.hour_of_day as "time.hour", 0 as _grouping,
            count(*) as calls
        from marts.fct_calls c left join marts.dim_dates d on c.call_date_key = d.date_key
        left join marts.dim_times t using (hour_key) group by 1, 2""",
    ),
    (
        "talk time by manager",
        {"measures": ["avg_talk_seconds"], "rows": ["manager.manager"]},
        """select m.manager_name as "manager.manager", 0 as _grouping,
            sum(case when c.is_answered then c.talk_seconds else 0 end)
                / nullif(sum(c.is_answered::int), 0) as avg_talk_seconds
        from marts.fct_calls c left join marts.dim_managers m using (manager_key) group by 1""",
    ),
    (
        "retention and churn by month",
        {"measures": ["retention_rate", "churned_customers"], "rows": ["date.month"]},
        """select d.month as "date.month", 0 as _grouping,
            sum(m.is_retained::int) / nullif(sum(m.is_customer_at_start::int), 0)
                as retention_rate,
            sum(m.is_churned::int) as churned_customers
        from marts.fct_customer_months m left join marts.dim_dates d
            on m.month_date_key = d.date_key group by 1""",
    ),
    (
        "active and new customers by quarter",
        {"measures": ["active_customers", "new_customers"], "rows": ["date.quarter"]},
        """select d.quarter as "date.quarter", 0 as _grouping,
            count(distinct case when m.is_active then m.customer_key end) as active_customers,
            sum(m.is_new::int) as new_customers
        from marts.fct_customer_months m left join marts.dim_dates d
            on m.month_date_key = d.date_key group by 1""",
    ),
    (
        "CSAT and NPS by team",
        {"measures": ["csat", "nps"], "rows": ["manager.team"]},
        """select m.team_name as "manager.team", 0 as _grouping,
            sum(coalesce(s.csat, 0)) / nullif(count(s.csat), 0) as csat,
            (sum(s.is_promoter::int) - sum(s.is_detractor::int)) / nullif(count(s.nps), 0) as nps
        from marts.fct_survey_responses s left join marts.dim_managers m using (manager_key)
        group by 1""",
    ),
    (
        "resolution time by category",
        {"measures": ["avg_resolution_hours", "tickets"], "rows": ["product.category"]},
        """select p.category_name as "product.category", 0 as _grouping,
            sum(case when t.is_resolved then t.resolution_hours else 0 end)
                / nullif(sum(t.is_resolved::int), 0) as avg_resolution_hours,
            count(*) as tickets
        from marts.fct_tickets t left join marts.dim_products p using (product_key) group by 1""",
    ),
    (
        "top 10 pages by views",
        {
            "measures": ["page_views", "avg_engagement_seconds"],
            "rows": ["content.page"],
            "top": TopN("content.page", "page_views", 10),
        },
        """select c.page_path as "content.page", 0 as _grouping,
            sum(e.is_page_view::int) as page_views,
            sum(coalesce(e.engagement_seconds, 0)) / nullif(sum(e.is_page_view::int), 0)
                as avg_engagement_seconds
        from marts.fct_web_events e left join marts.dim_content c using (content_key)
        group by 1 order by page_views desc limit 10""",
    ),
    (
        "sessions and lead rate by channel",
        {"measures": ["sessions", "session_lead_rate"], "rows": ["channel.channel"]},
        """select c.channel as "channel.channel", 0 as _grouping, count(*) as sessions,
            sum(s.has_lead::int) / count(*) as session_lead_rate
        from marts.fct_web_sessions s left join marts.dim_channels c using (channel_key)
        group by 1""",
    ),
    (
        "revenue, previous month and growth",
        {
            "measures": ["revenue", "revenue:previous_period", "revenue:growth"],
            "rows": ["date.month"],
        },
        """with m as (select d.month, sum(o.revenue) as revenue
            from marts.fct_orders o left join marts.dim_dates d on o.order_date_key = d.date_key
            group by 1)
        select month as "date.month", 0 as _grouping, revenue,
            lag(revenue) over (order by month) as "revenue:previous_period",
            (revenue - lag(revenue) over (order by month))
                / lag(revenue) over (order by month) as "revenue:growth"
        from m""",
    ),
    (
        "revenue year to date, 2025",
        {"measures": ["revenue:ytd"], "rows": ["date.month"], "filters": ["date.year=2025"]},
        """with m as (select d.month, sum(o.revenue) as revenue
            from marts.fct_orders o left join marts.dim_dates d on o.order_date_key = d.date_key
            where d.year = 2025 group by 1)
        select month as "date.month", 0 as _grouping,
            sum(revenue) over (order by month) as "revenue:ytd" from m""",
    ),
    (
        "revenue by RFM segment",
        {"measures": ["revenue"], "rows": ["customer.rfm_segment"]},
        """select coalesce(r.rfm_segment, '(no orders)') as "customer.rfm_segment",
            0 as _grouping, sum(o.revenue) as revenue
        from marts.fct_orders o left join marts.rpt_customer_rfm r using (customer_key)
        group by 1""",
    ),
    (
        "lost deals by reason",
        {"measures": ["lost_deals"], "rows": ["loss_reason.reason"]},
        """select r.loss_reason as "loss_reason.reason", 0 as _grouping,
            sum(d.is_lost::int) as lost_deals
        from marts.fct_deals d left join marts.dim_loss_reasons r using (loss_reason_key)
        group by 1""",
    ),
    (
        "revenue and won deals by channel, Q2 range",
        {
            "measures": ["revenue", "won_deals"],
            "rows": ["channel.channel"],
            "filters": ["date.day=2025-04-01..2025-06-30"],
        },
        """with o as (select c.channel, sum(o.revenue) as revenue
            from marts.fct_orders o left join marts.dim_channels c using (channel_key)
            left join marts.dim_dates d on o.order_date_key = d.date_key
            where d.date_day between date '2025-04-01' and date '2025-06-30' group by 1),
        w as (select c.channel, sum(f.is_won::int) as won_deals
            from marts.fct_deals f left join marts.dim_channels c using (channel_key)
            left join marts.dim_dates d on f.created_date_key = d.date_key
            where d.date_day between date '2025-04-01' and date '2025-06-30' group by 1)
        select coalesce(o.channel, w.channel) as "channel.channel", 0 as _grouping,
            o.revenue, w.won_deals
        from o full join w on o.channel is not distinct from w.channel""",
    ),
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def timed(*runs, repeat: int) -> list[tuple[object, list[float]]]:
    """Each run's answer and times: at least `repeat` timed runs after a warm-up, and more
    until MIN_SECONDS have passed (at most MAX_REPEAT). The median of 5 runs of a 5 ms query
    moves by a third between runs of the benchmark, the size of the differences it is there
    to measure; runs compared with each other take turns, so a slower spell of the machine
    falls on both."""
    results = [run() for run in runs]  # warm-up (DuckDB's buffer cache, pandas' first touch)
    times: list[list[float]] = [[] for _ in runs]
    while len(times[0]) < repeat or (
        min(sum(t) for t in times) < MIN_SECONDS and len(times[0]) < MAX_REPEAT
    ):
        for k, run in enumerate(runs):
            started = time.perf_counter()
            results[k] = run()
            times[k].append(time.perf_counter() - started)
    return list(zip(results, times, strict=True))


def with_mining(warehouse: Path, published: Path) -> None:
    """Warehouses built before the mining assets existed get them, and are published again."""
    with duckdb.connect(str(published), read_only=True) as con:
        present = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'mining'"
        ).fetchall()[0][0]
    if present:
        return
    import dagster as dg

    from pipelines.mining.assets import mining_assets
    from pipelines.publish.publisher import publish
    from pipelines.resources import WarehouseResource

    print(f"building the mining tables of {warehouse} ...", flush=True)
    resources = {"warehouse": WarehouseResource(path=str(warehouse))}
    if not dg.materialize(mining_assets, resources=resources).success:
        raise SystemExit(f"the mining assets failed on {warehouse}")
    publish(warehouse, published)


def measure(scale: float, out: Path) -> dict:
    warehouse = out / f"warehouse-{scale:g}" / "acrm.duckdb"
    published = warehouse.parent / "published" / "acrm.duckdb"
    if not published.exists():
        raise SystemExit(
            f"no published warehouse at {published}: run `python bench/warehouse.py "
            f"--scales {scale:g}` first (make bench does)"
        )
    with_mining(warehouse, published)
    engine = DuckDBEngine(ACRM_CUBE, published)
    backend = PandasBackend(ACRM_CUBE, published)
    started = time.perf_counter()
    backend.load()
    pandas_load = time.perf_counter() - started
    # the process's peak resident memory once pandas holds the facts (Linux reports KiB)
    pandas_peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    frames = FrameEngine(ACRM_CUBE, published, backend)
    hand = duckdb.connect(str(published), read_only=True)
    rows = []
    for name, arguments, sql in QUERIES:
        query = build_query(ACRM_CUBE, **arguments)

        def ours(query=query):
            engine.cache.clear()  # a cold result cache: every answer is computed
            return engine.query(query)

        # the hand-written SQL's lower bound: the faster of DuckDB's two ways to Arrow (a lazy
        # relation binds the query twice, a DB-API result copies the rows once)
        (answer, ours_s), *by_call = timed(
            ours,
            lambda sql=sql: hand.sql(sql).to_arrow_table(),
            lambda sql=sql: run_arrow(hand, sql),
            repeat=REPEAT,
        )
        hand_answer, hand_s = min(by_call, key=lambda run: statistics.median(run[1]))
        row = {
            "query": name,
            "rows": answer.num_rows,
            "ours_ms": [round(t * 1000, 2) for t in ours_s],
            "hand_sql_ms": [round(t * 1000, 2) for t in hand_s],
            "differs_from_hand_sql": differences(query, answer, hand_answer)[:3],
        }
        if not any(":" in m for m in query.measures):
            [(pandas_answer, pandas_s)] = timed(
                lambda query=query: frames.query(query), repeat=REPEAT
            )
            row["pandas_ms"] = [round(t * 1000, 2) for t in pandas_s]
            row["differs_from_pandas"] = differences(query, answer, pandas_answer)[:3]
        rows.append(row)
        print(
            f"scale {scale:g} | {name:55s} ours {statistics.median(ours_s) * 1000:7.1f} ms"
            f" | hand {statistics.median(hand_s) * 1000:7.1f} ms"
            + (
                f" | pandas {statistics.median(pandas_s) * 1000:8.1f} ms"
                if "pandas_ms" in row
                else ""
            )
            + (
                " | DIFFERS"
                if row["differs_from_hand_sql"] or row.get("differs_from_pandas")
                else ""
            ),
            flush=True,
        )
    hand.close()
    engine.close()

    def summary(key: str) -> dict:
        """Percentiles over the queries, each counted once by its median latency (queries
        that ran more often, being faster, do not weigh more)."""
        values = [statistics.median(r[key]) for r in rows if key in r]
        return {
            "p50_ms": round(percentile(values, 0.5), 2),
            "p95_ms": round(percentile(values, 0.95), 2),
        }

    per_query = [
        statistics.median(r["ours_ms"]) / statistics.median(r["hand_sql_ms"]) for r in rows
    ]
    same_queries = [r for r in rows if "pandas_ms" in r]
    result = {
        "scale": scale,
        "queries": len(rows),
        "repeat": REPEAT,
        "ours": summary("ours_ms"),
        "hand_sql": summary("hand_sql_ms"),
        "pandas": summary("pandas_ms")
        | {
            "load_s": round(pandas_load, 1),
            "peak_rss_gb": round(pandas_peak_gb, 1),
            "queries": len(same_queries),
        },
        "ours_p95_vs_hand_sql_p95": round(
            summary("ours_ms")["p95_ms"] / summary("hand_sql_ms")["p95_ms"], 2
        ),
        "ours_vs_hand_sql_median_of_query_ratios": round(statistics.median(per_query), 2),
        "ours_vs_hand_sql_worst_query_ratio": round(max(per_query), 2),
        "worst_query": rows[per_query.index(max(per_query))]["query"],
        "pandas_vs_ours_p50": round(
            percentile([statistics.median(r["pandas_ms"]) for r in same_queries], 0.5)
            / percentile([statistics.median(r["ours_ms"]) for r in same_queries], 0.5),
            1,
        ),
        "answers_differ": [
            r["query"] for r in rows if r["differs_from_hand_sql"] or r.get("differs_from_pandas")
        ],
        "detail": rows,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "detail"}), flush=True)
    return result


def main() -> None:
    run_scales(__doc__, "cube", measure, scales=(1.0, 10.0))


if __name__ == "__main__":
    main()
