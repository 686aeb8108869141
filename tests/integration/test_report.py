"""The directors' report that `acrm run` writes: every view names the planted weak spot."""

import re
from pathlib import Path

import duckdb
import plotly

from cubes.report import build_views, report_path


def test_the_run_writes_a_self_contained_report(built_warehouse) -> None:
    path = report_path(built_warehouse.published)
    assert path.stat().st_mode & 0o444 == 0o444  # readable by everyone
    page = path.read_text()
    sections = (
        "funnel", "managers", "romi", "cohorts", "nvl", "calls", "content", "pipeline",
        "forecast", "personas", "new_customers", "actions", "whatif",
    )  # fmt: skip
    for section in sections:
        assert f'<section id="{section}">' in page
    assert page.count("Act on:") == len(sections)
    assert not re.search(r"<script[^>]*\ssrc=", page)  # no script from elsewhere
    bundled = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text()
    assert "Plotly.newPlot" in page and page.count(bundled) == 1  # plotly.js inside, once


def test_each_view_names_what_to_act_on(built_warehouse, truth) -> None:
    views = {view.key: view for view in build_views(built_warehouse.published)}
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        weak_manager = con.execute(
            "select manager_name from marts.dim_managers where manager_id = ?",
            [truth["weak_manager"]["manager_id"]],
        ).fetchall()[0][0]
        most_missed = con.execute(
            "select manager_name from marts.dim_managers where manager_id = ?",
            [truth["calls"]["most_missed_manager"]],
        ).fetchall()[0][0]
        forecast = con.execute(
            "select sum(forecast) from mining.revenue_forecast "
            "where measure = 'revenue' and level = 'total'"
        ).fetchall()[0][0]
        most_valuable = con.execute(  # revenue per customer by persona, from the marts
            "select p.persona from mining.customer_personas as p left join "
            "(select customer_key, sum(revenue) as revenue from marts.fct_orders where is_paid "
            "group by 1) as o using (customer_key) group by 1 "
            "order by sum(coalesce(o.revenue, 0)) / count(*) desc limit 1"
        ).fetchall()[0][0]
        best_channel = con.execute(  # first-year value per new customer, from the table
            "select c.channel from mining.new_customer_value as v join marts.dim_channels as c "
            "using (channel_key) group by 1 having count(*) >= 20 "
            "order by avg(v.predicted_value) desc limit 1"
        ).fetchall()[0][0]
        lowest_win_chance = con.execute(  # independent SQL over the mining table
            "select m.manager_name from mining.deal_win_probability as d "
            "join marts.dim_managers as m using (manager_key) where m.manager_key <> -1 "
            "group by 1 having count(*) >= 5 order by avg(d.win_probability) limit 1"
        ).fetchall()[0][0]
    assert views["funnel"].facts == {
        "weakest_stage": truth["funnel"]["largest_dropoff_stage"],
        "dominant_loss_reason": truth["funnel"]["dominant_loss_reason"],
    }
    assert views["managers"].facts == {
        "weakest_manager": weak_manager,
        "weakest_stage": truth["weak_manager"]["stage"],
        "most_missed_manager": most_missed,
    }
    assert views["romi"].facts == {
        "worst_channel": truth["romi"]["negative_channel"],
        "best_channel": truth["romi"]["best_channel"],
    }
    assert views["calls"].facts == {
        "peak_hour": truth["calls"]["peak_hour"],
        "worst_missed_hour": truth["calls"]["worst_missed_rate_hour"],
    }
    assert views["content"].facts["most_engaging_page"] == truth["content"]["most_engaging_page"]
    assert views["pipeline"].facts["lowest_win_chance_manager"] == lowest_win_chance
    assert views["forecast"].facts["forecast"] == f"{forecast:,.0f}"
    assert views["personas"].facts["most_valuable_persona"] == most_valuable
    assert views["new_customers"].facts["most_valuable_channel"] == best_channel
    duds = [c["name"] for c in truth["campaigns"] if not any(c["planted_response"].values())]
    # the dud never "worked"; at this small scale a real campaign may also show no effect
    assert all(d in views["actions"].facts["no_effect"] for d in duds)
    assert not any(d in views["actions"].facts["worked"] for d in duds)
    # the newsletter goes out 0.85 into the year: its 90-day retention window is still open
    assert all(d in views["actions"].facts["retention_too_early"] for d in duds)
    assert views["whatif"].facts["budget_from"] == truth["romi"]["negative_channel"]
    for view in views.values():
        assert view.finding and all(str(v) in view.finding for v in view.facts.values() if v)
