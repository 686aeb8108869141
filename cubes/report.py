"""The visual report for directors: one self-contained HTML file (plotly.js inside), built
from the published warehouse. Every view names what to act on.

The numbers come through the cube (one definition of each measure: stage conversion, ROMI,
missed-call rate, engagement) where it has them, and from the report marts for what is
already a report there (manager scorecard, retention cohorts, the N·V·L decomposition).
"""

from __future__ import annotations

import datetime as dt
import html
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go

from cubes import ACRM_CUBE, CubeSession

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MIN_SHARE = 0.01  # an hour or a page needs this share of the traffic to be named


@dataclass(frozen=True)
class View:
    key: str
    title: str
    finding: str  # what to act on, in one sentence
    figure: go.Figure
    facts: dict[str, object]  # the named members, for tests and the JSON sidecar


def _frame(cube: CubeSession, measures, rows, cols=(), filters=()) -> pd.DataFrame:
    return cube.query_names(list(measures), list(rows), list(cols), list(filters), as_="pandas")


def funnel_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    stages = _frame(cube, ["deals_reached", "stage_conversion", "dropoff_rate"], ["funnel.stage"])
    stages = stages[stages["deals_reached"] > 0]
    leaking = stages.dropna(subset=["stage_conversion"]).sort_values("stage_conversion").iloc[0]
    reasons = _frame(
        cube, ["lost_deals"], ["loss_reason.reason"], filters=["loss_reason.reason!=Unknown"]
    ).sort_values("lost_deals", ascending=False)
    reason = reasons.iloc[0]["loss_reason.reason"] if len(reasons) else "unknown"
    figure = go.Figure(
        go.Funnel(
            y=stages["funnel.stage"],
            x=stages["deals_reached"],
            textinfo="value+percent previous",
        )
    )
    figure.update_layout(title="Deals reaching each stage (share of the previous stage)")
    return View(
        "funnel",
        "Sales funnel: conversion and drop-off per stage",
        f"The funnel leaks most at {leaking['funnel.stage']}: "
        f"{leaking['stage_conversion']:.0%} of deals move on "
        f"({leaking['dropoff_rate']:.0%} drop out). "
        f"The most frequent loss reason is “{reason}”: work on it at that stage first.",
        figure,
        {"weakest_stage": leaking["funnel.stage"], "dominant_loss_reason": reason},
    )


def _optional(fmt: str):
    return lambda v: "" if pd.isna(v) else fmt.format(v)


# the scorecard's columns: (header, column, how a value is written)
SCORECARD = (
    ("manager", "manager_name", None),
    ("team", "team_name", None),
    ("deals", "deals", None),
    ("win rate", "win_rate", "{:.1%}".format),
    ("revenue", "revenue", "{:,.0f}".format),
    ("avg check", "avg_check", "{:,.0f}".format),
    ("missed calls", "missed_calls", None),
    ("missed rings", "missed_rings", None),
    ("call-back, min", "avg_callback_minutes", _optional("{:,.0f}")),
    ("CSAT", "avg_csat", _optional("{:.2f}")),
    ("weakest stage", "weakest_stage", None),
    ("conversion there", "weakest_stage_conversion", "{:.1%}".format),
    ("peers there", "weakest_stage_peer_conversion", "{:.1%}".format),
)


def _scorecard_table(scorecard: pd.DataFrame) -> go.Figure:
    cells = [
        scorecard[column] if write is None else scorecard[column].map(write)
        for _, column, write in SCORECARD
    ]
    figure = go.Figure(
        go.Table(header={"values": [h for h, _, _ in SCORECARD]}, cells={"values": cells})
    )
    figure.update_layout(
        title="Manager scorecard, lowest win rate first", height=160 + 44 * len(scorecard)
    )
    return figure


def manager_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    scorecard = con.sql(
        "select manager_name, team_name, deals, win_rate, revenue::double as revenue, "
        "avg_check, missed_calls, missed_rings, avg_callback_minutes, avg_csat, "
        "weakest_stage, weakest_stage_conversion, "
        "weakest_stage_peer_conversion, weakest_stage_gap "
        "from marts.rpt_manager_scorecard where manager_key <> -1 order by win_rate"
    ).df()
    weakest = scorecard.sort_values("weakest_stage_gap").iloc[0]
    missing = scorecard.sort_values(["missed_calls", "missed_rings"], ascending=False).iloc[0]
    calls = (
        f" {missing['manager_name']} misses the most calls: {missing['missed_calls']:,} inbound "
        f"calls nobody answered after ringing them last, {missing['missed_rings']:,} rings "
        "left unanswered; look at their call load and hours."
        if scorecard["missed_calls"].sum() + scorecard["missed_rings"].sum()
        else " (No call-center data: missed calls and rings are not shown.)"
    )
    return View(
        "managers",
        "Manager scorecard",
        f"{weakest['manager_name']} ({weakest['team_name']}) is weakest at "
        f"{weakest['weakest_stage']}: {weakest['weakest_stage_conversion']:.0%} of deals move "
        f"on against {weakest['weakest_stage_peer_conversion']:.0%} for the other managers. "
        "Coach that step, or move those deals to a stronger colleague." + calls,
        _scorecard_table(scorecard),
        {
            "weakest_manager": weakest["manager_name"],
            "weakest_stage": weakest["weakest_stage"],
            "most_missed_manager": missing["manager_name"] if "No call" not in calls else None,
        },
    )


def romi_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    romi = _frame(cube, ["romi", "spend"], ["channel.channel"], ["attribution.model"])
    romi = romi[romi["spend"] > 0]
    figure = go.Figure(
        [
            go.Bar(name=model, x=group["channel.channel"], y=group["romi"])
            for model, group in romi.groupby("attribution.model")
        ]
    )
    figure.update_layout(
        title="ROMI by channel under each attribution model",
        barmode="group",
        yaxis_tickformat=".0%",
    )
    last = romi[romi["attribution.model"] == "last_touch"].sort_values("romi")
    worst, best = last.iloc[0], last.iloc[-1]
    verdict = "loses money" if worst["romi"] < 0 else "pays back least"
    return View(
        "romi",
        "Marketing: ROMI by channel and attribution model",
        f"{worst['channel.channel']} {verdict} (ROMI {worst['romi']:+.0%} under last touch): "
        f"cut or rework its campaigns. {best['channel.channel']} pays back best "
        f"({best['romi']:+.0%}): move budget there.",
        figure,
        {"worst_channel": worst["channel.channel"], "best_channel": best["channel.channel"]},
    )


def cohort_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    cohorts = con.sql(
        "select cohort_month, months_since_first_order, active_share, cohort_size "
        "from marts.rpt_retention_cohorts order by 1, 2"
    ).df()
    grid = cohorts.pivot(
        index="cohort_month", columns="months_since_first_order", values="active_share"
    )
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[f"+{m}" for m in grid.columns],
            y=list(grid.index),
            colorscale="Blues",
            zmin=0,
            # month 0 is 100 % by definition: scale the colours to the later months
            zmax=float(cohorts.loc[cohorts["months_since_first_order"] > 0, "active_share"].max())
            if (cohorts["months_since_first_order"] > 0).any()
            else 1.0,
            hovertemplate="cohort %{y}, month %{x}: %{z:.0%} active<extra></extra>",
        )
    )
    figure.update_layout(
        title="Share of each first-purchase cohort active N months later",
        yaxis_autorange="reversed",
    )
    month1 = cohorts[cohorts["months_since_first_order"] == 1].dropna(subset=["active_share"])
    weakest = month1.sort_values("active_share").iloc[0] if len(month1) else None
    finding = (
        f"The {weakest['cohort_month']} cohort kept the fewest customers a month on "
        f"({weakest['active_share']:.0%}): look at what those customers were sold and how "
        "they were served."
        if weakest is not None
        else "No cohort is old enough for a second month yet."
    )
    return View(
        "cohorts",
        "Retention cohorts",
        finding,
        figure,
        {"weakest_cohort": None if weakest is None else weakest["cohort_month"]},
    )


def nvl_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    nvl = con.sql(
        "select month_start, revenue, n_customers, v_value, l_loyalty, revenue_change, "
        "change_from_n, change_from_v, change_from_l from marts.rpt_nvl_decomposition "
        "order by month_start"
    ).df()
    figure = go.Figure(
        [
            go.Bar(name="from N (customers)", x=nvl["month_start"], y=nvl["change_from_n"]),
            go.Bar(name="from V (value)", x=nvl["month_start"], y=nvl["change_from_v"]),
            go.Bar(name="from L (loyalty)", x=nvl["month_start"], y=nvl["change_from_l"]),
            go.Scatter(
                name="revenue change",
                x=nvl["month_start"],
                y=nvl["revenue_change"],
                mode="lines+markers",
            ),
        ]
    )
    figure.update_layout(
        title="Month-over-month revenue change split into N, V and L", barmode="relative"
    )
    recent = nvl.dropna(subset=["revenue_change"]).tail(3)
    parts = {
        "the number of customers (N)": recent["change_from_n"].sum(),
        "value per purchase (V)": recent["change_from_v"].sum(),
        "purchases per customer (L)": recent["change_from_l"].sum(),
    }
    weakest = min(parts, key=parts.get)
    return View(
        "nvl",
        "Revenue = N · V · L",
        f"Over the last {len(recent)} months revenue changed by "
        f"{recent['revenue_change'].sum():+,.0f}; {weakest} contributed least "
        f"({parts[weakest]:+,.0f}): that is the lever to work on.",
        figure,
        {"weakest_factor": weakest},
    )


def call_load_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    load = _frame(
        cube, ["calls", "inbound_calls", "missed_call_rate"], ["date.weekday"], ["time.hour"]
    )
    grid = load.pivot(index="date.weekday", columns="time.hour", values="calls").sort_index()
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[f"{h:02d}:00" for h in grid.columns],
            y=[
                WEEKDAYS[d - 1] if isinstance(d, int) and 1 <= d <= 7 else str(d)
                for d in grid.index
            ],
            colorscale="Oranges",
            hovertemplate="%{y} %{x}: %{z} calls<extra></extra>",
        )
    )
    figure.update_layout(title="Calls by weekday and hour (call center's local time)")
    hours = _frame(cube, ["calls", "inbound_calls", "missed_call_rate"], ["time.hour"])
    peak = hours.sort_values("calls", ascending=False).iloc[0]
    busy = hours[hours["inbound_calls"] >= MIN_SHARE * hours["inbound_calls"].sum()]
    worst = busy.sort_values("missed_call_rate", ascending=False).iloc[0]
    return View(
        "calls",
        "Call center load",
        f"Calls peak at {int(peak['time.hour']):02d}:00, and the most calls go unanswered at "
        f"{int(worst['time.hour']):02d}:00 ({worst['missed_call_rate']:.0%} missed): "
        "add operators, or move breaks, at those hours.",
        figure,
        {"peak_hour": int(peak["time.hour"]), "worst_missed_hour": int(worst["time.hour"])},
    )


def content_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    pages = _frame(
        cube, ["page_views", "avg_engagement_seconds", "session_lead_rate"], ["content.page"]
    )
    pages = pages[pages["page_views"] >= 0.005 * pages["page_views"].sum()]
    top = pages.sort_values("avg_engagement_seconds", ascending=False).head(10)
    figure = go.Figure(
        go.Bar(x=top["avg_engagement_seconds"], y=top["content.page"], orientation="h")
    )
    figure.update_layout(
        title="Top content by engagement time per view (pages with 0.5 % of views or more)",
        yaxis_autorange="reversed",
        xaxis_title="seconds per view",
    )
    best = top.iloc[0]
    return View(
        "content",
        "Top content",
        f"{best['content.page']} holds readers longest ({best['avg_engagement_seconds']:.0f} s "
        "per view): link it from the campaigns and the pages that lose visitors.",
        figure,
        {"most_engaging_page": best["content.page"]},
    )


def pipeline_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    months = _frame(cube, ["pipeline_expected_revenue"], ["date.month"], ["manager.team"])
    figure = go.Figure(
        [
            go.Bar(x=team["date.month"], y=team["pipeline_expected_revenue"], name=name)
            for name, team in months.groupby("manager.team")
        ]
    )
    figure.update_layout(
        barmode="stack",
        title="Expected revenue of open deals (amount x win probability) by expected close month",
        yaxis_title="expected revenue",
    )
    managers = _frame(
        cube,
        ["pipeline_expected_revenue", "win_probability", "scored_open_deals"],
        ["manager.manager"],
        filters=["manager.manager!=Unknown"],
    )
    managers = managers[managers["scored_open_deals"] >= 5]
    total = float(months["pipeline_expected_revenue"].sum())
    finding = f"Open deals are expected to bring {total:,.0f} in revenue."
    facts: dict[str, object] = {"lowest_win_chance_manager": None}
    if len(managers):
        weakest = managers.sort_values("win_probability").iloc[0]
        finding += (
            f" {weakest['manager.manager']}'s open deals have the lowest win chance "
            f"({weakest['win_probability']:.0%} on average over "
            f"{int(weakest['scored_open_deals'])} deals): review them first."
        )
        facts["lowest_win_chance_manager"] = weakest["manager.manager"]
    return View(
        "pipeline",
        "Pipeline forecast: what the open deals should bring, and when",
        finding,
        figure,
        facts,
    )


def forecast_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    actual = _frame(cube, ["revenue"], ["date.month"]).dropna()
    ahead = _frame(
        cube,
        ["forecast_revenue", "forecast_revenue_low", "forecast_revenue_high"],
        ["date.month"],
    ).dropna()
    figure = go.Figure(
        [
            go.Scatter(x=actual["date.month"], y=actual["revenue"], name="revenue"),
            go.Scatter(
                x=ahead["date.month"],
                y=ahead["forecast_revenue_high"],
                line={"width": 0},
                showlegend=False,
            ),
            go.Scatter(
                x=ahead["date.month"],
                y=ahead["forecast_revenue_low"],
                fill="tonexty",
                line={"width": 0},
                name="80% interval",
            ),
            go.Scatter(
                x=ahead["date.month"],
                y=ahead["forecast_revenue"],
                name="forecast",
                line={"dash": "dash"},
            ),
        ]
    )
    figure.update_layout(title="Revenue by month and the forecast with its 80% interval")
    judged = con.execute(
        "select model, avg(mase) from mining.forecast_backtest where measure = 'revenue' group by 1"
    ).fetchall()
    mase = dict(judged)
    beats = bool(mase) and mase.get("ets", 1e9) < mase.get("seasonal_naive", 0)
    total = float(ahead["forecast_revenue"].sum())
    last = float(actual[actual["date.month"] < ahead["date.month"].min()].tail(6)["revenue"].sum())
    change = total / last - 1 if last else 0.0
    finding = (
        f"Revenue is forecast at {total:,.0f} over the next {len(ahead)} months "
        f"({change:+.0%} against the last {len(ahead)}): plan budgets and staffing on it. "
        + ("In the backtest it beat last year's months." if beats
           else "In the backtest it did NOT beat last year's months: treat it as a rough guide.")
    )  # fmt: skip
    return View("forecast", "Revenue forecast", finding, figure, {"forecast": f"{total:,.0f}"})


def persona_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    profiles = con.execute(
        "select persona, customers, revenue, online_share from mining.persona_profiles "
        "order by revenue desc"
    ).df()
    figure = go.Figure(go.Bar(x=profiles["revenue"], y=profiles["persona"], orientation="h"))
    figure.update_layout(
        title="Revenue per customer by persona (paid orders, every customer counted)",
        yaxis_autorange="reversed",
        xaxis_title="revenue per customer",
    )
    best = profiles.iloc[0]
    average = float(
        (profiles["revenue"] * profiles["customers"]).sum() / profiles["customers"].sum()
    )
    return View(
        "personas",
        "Personas: who the customers are, and who is worth most",
        f"{best['persona']} bring the most per customer ({best['revenue']:,.0f} against "
        f"{average:,.0f} on average, {best['online_share']:.0%} of their orders online): aim "
        "acquisition campaigns at people like them.",
        figure,
        {"most_valuable_persona": best["persona"]},
    )


def new_value_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    channels = _frame(
        cube,
        ["predicted_value_per_new_customer", "valued_new_customers"],
        ["channel.channel"],
    )
    channels = channels[channels["valued_new_customers"] >= 20].sort_values(
        "predicted_value_per_new_customer", ascending=False
    )
    figure = go.Figure(
        go.Bar(
            x=channels["predicted_value_per_new_customer"],
            y=channels["channel.channel"],
            orientation="h",
            text=[f"{n:,} new customers" for n in channels["valued_new_customers"]],
        )
    )
    figure.update_layout(
        title="Predicted first-year value per new customer, by the channel of the first order",
        yaxis_autorange="reversed",
        xaxis_title="predicted first-year value per new customer",
    )
    best, worst = channels.iloc[0], channels.iloc[-1]
    judged = dict(
        con.execute(
            "select model, poisson_deviance from mining.new_customer_value_evaluation"
        ).fetchall()
    )
    trusted = judged.get("profile", 1e300) < min(judged.get("channel", 0), judged.get("average", 0))
    finding = (
        f"A new customer from {best['channel.channel']} is predicted to be worth "
        f"{best['predicted_value_per_new_customer']:,.0f} in their first year, one from "
        f"{worst['channel.channel']} {worst['predicted_value_per_new_customer']:,.0f}: "
        "weigh acquisition budgets by this value, not by first orders. "
        + ("In the backtest the model beat the channel averages." if trusted
           else "In the backtest the model did NOT beat the channel averages: use them instead.")
    )  # fmt: skip
    return View(
        "new_customers",
        "New customers: which channels bring valuable ones",
        finding,
        figure,
        {"most_valuable_channel": best["channel.channel"]},
    )


def actions_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    effects = con.execute(
        "select campaign_name, uplift, uplift_low, uplift_high, incremental_revenue, verdict, "
        "treated, holdout, is_retention_complete, retention_uplift, retention_uplift_low, "
        "retention_uplift_high, churn_change, churn_change_low, churn_change_high "
        "from marts.rpt_campaign_effect order by uplift desc"
    ).df()
    figure = go.Figure(
        go.Bar(
            x=effects["uplift"],
            y=effects["campaign_name"],
            orientation="h",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": effects["uplift_high"] - effects["uplift"],
                "arrayminus": effects["uplift"] - effects["uplift_low"],
            },
            text=effects["verdict"],
        )
    )
    figure.update_layout(
        title="Purchases each campaign caused: treated - holdout response rate, 95% interval",
        yaxis_autorange="reversed",
        xaxis_tickformat=".0%",
    )
    said = {verdict: list(rows["campaign_name"]) for verdict, rows in effects.groupby("verdict")}
    parts = []
    if said.get("worked"):
        best = effects[effects["verdict"] == "worked"].iloc[0]
        parts.append(
            f"{', '.join(said['worked'])} worked ({best['campaign_name']}: "
            f"{best['uplift']:+.0%} purchases, {best['incremental_revenue']:,.0f} added "
            "revenue): send them again"
        )
    if said.get("no effect shown"):
        parts.append(f"{', '.join(said['no effect shown'])} showed no effect: stop or rework")
    if said.get("harmed"):
        parts.append(f"{', '.join(said['harmed'])} harmed purchases: stop it")
    if said.get("too early"):
        parts.append(f"{', '.join(said['too early'])}: too early to tell")
    if said.get("no holdout"):
        parts.append(f"{', '.join(said['no holdout'])} kept no holdout: it cannot be judged")
    parts += _retention_sentences(effects) + _audience_sentences(con)
    parts += _nvl_change_sentences(con)
    return View(
        "actions",
        "What our actions did: campaigns against their holdouts",
        "; ".join(parts) + ".",
        figure,
        {
            "worked": ", ".join(said.get("worked", [])),
            "no_effect": ", ".join(said.get("no effect shown", [])),
            "retention_too_early": ", ".join(
                effects.loc[~effects["is_retention_complete"].astype(bool), "campaign_name"]
            ),
        },
    )


def _retention_sentences(effects: pd.DataFrame) -> list[str]:
    """What the campaigns did to retention and churn (rpt_campaign_effect's control
    outcomes), or that their retention windows are still open."""
    done = effects[effects["is_retention_complete"].astype(bool)]
    open_ = effects[~effects.index.isin(done.index)]
    parts = []
    for row in done.itertuples():
        if row.retention_uplift_low > 0 or row.churn_change_high < 0:
            parts.append(
                f"{row.campaign_name} kept customers: retention {row.retention_uplift:+.1%} "
                f"({row.retention_uplift_low:+.1%} to {row.retention_uplift_high:+.1%}), "
                f"churn {row.churn_change:+.1%}"
            )
        elif row.retention_uplift_high < 0 or row.churn_change_low > 0:
            parts.append(f"{row.campaign_name} cost retention ({row.retention_uplift:+.1%})")
        else:
            parts.append(f"{row.campaign_name} showed no retention or churn effect")
    if len(open_):
        parts.append(
            f"retention and churn of {', '.join(open_['campaign_name'])}: too early to tell"
        )
    return parts


def _audience_sentences(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Each audience made with `acrm audience create`, its treated members against its
    holdout (cubes.control), once its response window has closed."""
    from cubes import audiences, control  # control loads statsmodels: only when reporting

    path = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchall()[0][0]  # fetchall: a result left open would refuse the next register()
    parts = []
    for about in audiences.listing(audiences.folder_of(Path(path))):
        members, _ = audiences.read(audiences.folder_of(Path(path)), about["audience"])
        sent = dt.datetime.fromisoformat(about["created_at"])
        found = control.effect(con, members, sent)
        said = f"audience {about['audience']}: {found['verdict']}"
        if found["purchase"] and found["verdict"] != "no holdout":
            said += f" ({found['purchase']['difference']:+.1%} purchases)"
        elif found["verdict"] == "too early":
            said += f" to tell (its window ends {found['response_window_ends'][:10]})"
        parts.append(said)
    return parts


def _nvl_change_sentences(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The last month's R = N·V·L change against the month before (rpt_nvl_decomposition)."""
    last = con.execute(
        "select month_start, revenue_change, change_from_n, change_from_v, change_from_l "
        "from marts.rpt_nvl_decomposition where revenue_change is not null "
        "order by month_start desc limit 1"
    ).fetchall()
    if not last:
        return ["no month has a previous one to compare R = N·V·L with"]
    month, change, n, v, l_ = last[0]
    return [
        f"against the month before, {month:%B %Y}'s revenue moved {change:+,.0f} "
        f"(from N {n:+,.0f}, V {v:+,.0f}, L {l_:+,.0f})"
    ]


def whatif_view(cube: CubeSession, con: duckdb.DuckDBPyConnection) -> View:
    from cubes import whatif

    weakest = con.execute(
        "select manager_key, stage_name from marts.rpt_manager_stage_conversion "
        "where manager_key <> -1 and peer_conversion is not null "
        "order by conversion_gap limit 1"
    ).fetchall()
    lines, facts = [], {}
    figure = go.Figure()
    coached = None
    if weakest:
        try:
            coached = whatif.funnel(con, str(weakest[0][0]), weakest[0][1], to_peers=True)
        except whatif.WhatIfError as exc:
            lines.append(f"no funnel what-if: {exc}")
    if coached:
        lines.append(
            f"Coaching {coached['manager']} at {coached['stage']} up to the peers' "
            f"{coached['target_conversion']:.0%} would add "
            f"{coached['extra_revenue_per_month']:,.0f} a month "
            f"({coached['extra_won_deals_per_month']:+.1f} won deals)"
        )
        figure.add_bar(
            x=["actual", "with coaching"],
            y=[coached["actual_won_revenue_per_month"],
               coached["actual_won_revenue_per_month"] + coached["extra_revenue_per_month"]],
            name=f"{coached['manager']}: won revenue per month",
        )  # fmt: skip
        facts["coached_manager"] = coached["manager"]
    romi = con.execute(
        "select channel, (sum(attributed_revenue) - sum(spend)) / sum(spend) as romi "
        "from marts.rpt_marketing_romi where attribution_model = 'last_touch' and spend > 0 "
        "group by 1 having sum(spend) > 0 order by romi"
    ).fetchall()
    if len(romi) >= 2:
        worst, best = romi[0][0], romi[-1][0]
        linear = whatif.budget(con, 0.2, worst, best, "linear")["revenue_change"]
        said = f"at today's ROMI {linear:+,.0f}"
        try:
            fitted = whatif.budget(con, 0.2, worst, best, "saturating")["revenue_change"]
            said = f"{fitted:+,.0f} if returns diminish as fitted ({said})"
        except whatif.WhatIfError:
            pass  # too few weeks to fit a curve: today's ROMI alone
        lines.append(f"moving 20% of {worst}'s budget to {best} would change revenue by {said}")
        facts["budget_from"], facts["budget_to"] = worst, best
    figure.update_layout(title="What-if: the weakest manager coached to the peers' conversion")
    return View(
        "whatif",
        "What-if: where a change would pay",
        ("; ".join(lines) + ".") if lines else "Not enough deals or spend for a what-if.",
        figure,
        facts,
    )


VIEWS = (
    funnel_view,
    manager_view,
    romi_view,
    cohort_view,
    nvl_view,
    call_load_view,
    content_view,
    pipeline_view,
    forecast_view,
    persona_view,
    new_value_view,
    actions_view,
    whatif_view,
)
# The fact each view cannot do without, and the source that fills it.
NEEDS = {
    funnel_view: ("marts.fct_deals", "the CRM's deals"),
    manager_view: ("marts.fct_deals", "the CRM's deals"),
    romi_view: ("marts.fct_marketing_spend", "ad-platform spend files (ads/)"),
    cohort_view: ("marts.fct_orders", "the CRM's orders"),
    nvl_view: ("marts.fct_orders", "the CRM's orders"),
    call_load_view: ("marts.fct_calls", "call-center CDR files (calls/)"),
    content_view: ("marts.fct_web_events", "the website's GA4 export (web/)"),
    pipeline_view: ("mining.deal_win_probability", "the CRM's open deals"),
    forecast_view: ("mining.revenue_forecast", "eight whole months of the CRM's orders"),
    persona_view: ("mining.persona_profiles", "the CRM's customers"),
    new_value_view: ("mining.new_customer_value", "a month of the CRM's paid orders"),
    actions_view: ("marts.rpt_campaign_effect", "the CRM's campaign members"),
    whatif_view: ("marts.rpt_manager_stage_conversion", "the CRM's deals"),
}


def no_data_view(view, what: str) -> View:
    key = view.__name__.removesuffix("_view")
    figure = go.Figure()
    figure.update_layout(title=f"No data: {what} not landed")
    return View(
        {"call_load": "calls", "cohort": "cohorts", "manager": "managers"}.get(key, key),
        key.replace("_", " ").capitalize() + ": no data",
        f"No data for this view: {what} has not been landed. Add the export to the sources "
        "folder and run `acrm run` again.",
        figure,
        {"no_data": what},
    )


def _has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """False for an empty table, and for one a build older than this view never wrote."""
    schema, name = table.split(".")
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()[0][0]
    return bool(exists) and bool(con.execute(f"select count(*) from {table}").fetchall()[0][0])


def build_views(published: Path) -> list[View]:
    cube = CubeSession(published, ACRM_CUBE)
    try:
        with duckdb.connect(str(published), read_only=True) as con:
            views = []
            for view in VIEWS:
                table, what = NEEDS[view]
                empty = not _has_rows(con, table)
                views.append(no_data_view(view, what) if empty else view(cube, con))
            return views
    finally:
        cube.engine.close()


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>ACRM report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
h1 {{ margin-bottom: 0; }} .meta {{ color: #666; margin-top: .3rem; }}
section {{ margin: 2.5rem 0; }} .act {{ background: #fff4e5; border-left: 4px solid #f08c00;
padding: .6rem 1rem; }} ul.summary li {{ margin: .3rem 0; }}
</style></head><body>
<h1>ACRM: what to act on</h1>
<p class="meta">From the published build of {built}, report written {written}.</p>
<ul class="summary">{summary}</ul>
{sections}
</body></html>
"""


def render(views: list[View], built: str) -> str:
    sections = []
    for i, view in enumerate(views):
        chart = view.figure.to_html(
            full_html=False, include_plotlyjs=(i == 0), div_id=f"chart-{view.key}"
        )
        sections.append(
            f'<section id="{view.key}"><h2>{html.escape(view.title)}</h2>'
            f'<p class="act"><b>Act on:</b> {html.escape(view.finding)}</p>{chart}</section>'
        )
    summary = "".join(
        f'<li><a href="#{v.key}">{html.escape(v.title)}</a>: {html.escape(v.finding)}</li>'
        for v in views
    )
    written = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return PAGE.format(built=built, written=written, summary=summary, sections="".join(sections))


def report_path(published: Path) -> Path:
    """Where the pipeline writes the report: beside the published copy."""
    return published.parent / "report.html"


def write_report(published: Path, out: Path) -> list[View]:
    """Build every view from `published` and write the HTML to `out` (replaced by rename);
    returns the views."""
    if not published.exists():
        raise FileNotFoundError(
            f"no published warehouse at {published}: run `acrm run` (or `make demo`) first"
        )
    views = build_views(published)
    built = dt.datetime.fromtimestamp(published.stat().st_mtime, dt.UTC).isoformat(
        timespec="seconds"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=out.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(render(views, built))
    os.chmod(tmp, 0o444)  # readable by the web server and BI users, like the publication
    os.replace(tmp, out)
    return views
