"""Forecasting assets: the open deals' win probability and the monthly revenue forecast."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pandas as pd

from core.rules import date_key
from mining.forecast import (
    COLUMNS,
    ETS,
    HORIZON_MONTHS,
    MIN_MONTHS,
    ForecastInputError,
    backtest,
    reconcile,
)
from mining.win import WinInputError
from mining.win import train as train_win_model
from pipelines.mining.outputs import (
    EMPTY_OUTPUTS,
    NO_ORDERS,
    mining_asset,
    nothing_to_mine,
    observation_end,
    write,
)
from pipelines.resources import WarehouseResource

WIN_HORIZON_DAYS = 90
NO_DEALS = "no data: marts.fct_deals has no deals (the CRM has none, or none landed yet)"


@mining_asset(
    "deal_win_probability",
    ["fct_deals", "fct_deal_stage_transitions", "fct_orders"],
    {"python", "scikit-learn", "duckdb"},
    f"Per open deal: the probability of a win within {WIN_HORIZON_DAYS} days (logistic "
    "regression on stage, days in stage, age, manager, channel, amount and the customer's "
    "history, from deal snapshots every 14 days), expected revenue (amount x probability) "
    "and an expected close day. Calibration on a time holdout: mining.win_model_evaluation.",
)
def deal_win_probability(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        end = deals_end(con)
        if end is None:
            return nothing_to_mine(con, NO_DEALS, "deal_win_probability", "win_model_evaluation")
        try:
            evaluation, scored = train_win_model(con, end, WIN_HORIZON_DAYS)
        except WinInputError as exc:
            reason = f"no win model: {exc}"
            return nothing_to_mine(con, reason, "deal_win_probability", "win_model_evaluation")
        write(con, "deal_win_probability", open_deal_table(scored, end))
        write(con, "win_model_evaluation", evaluation_table(evaluation, end))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(scored),
            "test_cutoff": str(evaluation.test_cutoff),
            "brier": dg.MetadataValue.float(round(evaluation.brier, 4)),
            "base_rate_brier": dg.MetadataValue.float(round(evaluation.base_rate_brier, 4)),
            "calibration_error": dg.MetadataValue.float(round(evaluation.calibration_error, 4)),
            "pipeline_expected_revenue": float(
                (scored["amount"] * scored["win_probability"]).sum()
            ),
        }
    )


def deals_end(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The day after the last deal event: creation or close. None without deals."""
    last = con.execute(
        "select max(greatest(created_at, coalesce(closed_at, created_at))) from marts.fct_deals"
    ).fetchall()[0][0]
    return None if last is None else last.date() + dt.timedelta(days=1)


def open_deal_table(scored: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    table = scored[["deal_id", "customer_key", "manager_key", "channel_key", "stage_key"]].copy()
    table["amount"] = scored["amount"]
    table["win_probability"] = scored["win_probability"]
    table["expected_revenue"] = scored["amount"] * scored["win_probability"]
    table["expected_close_date"] = scored["expected_close_day"]
    table["expected_close_date_key"] = [date_key(d) for d in scored["expected_close_day"]]
    table["observation_end"] = end
    return table


def evaluation_table(evaluation, end: dt.date) -> pd.DataFrame:
    return evaluation.reliability.assign(
        brier=evaluation.brier,
        base_rate_brier=evaluation.base_rate_brier,
        base_rate=evaluation.base_rate,
        calibration_error=evaluation.calibration_error,
        test_cutoff=evaluation.test_cutoff,
        observation_end=end,
    )[[c.split()[0] for c in EMPTY_OUTPUTS["win_model_evaluation"].split(", ")]]


MONTHLY_SQL = """
select date_trunc('month', o.ordered_at)::date as month, {member} as member,
    sum(o.revenue)::double as revenue, count(*)::double as orders
from marts.fct_orders as o
left join marts.dim_channels as ch using (channel_key)
left join marts.dim_customers as cu using (customer_key)
where o.is_paid
group by all
"""
PARTS = {
    "total": "'Total'",
    "channel": "coalesce(ch.channel, 'Unknown')",
    "segment": "coalesce(cu.segment, 'Unknown')",
}
MEASURES = ("revenue", "orders")


@mining_asset(
    "revenue_forecast",
    ["fct_orders", "dim_channels", "dim_customers"],
    {"python", "statsmodels", "duckdb"},
    f"Revenue and paid orders by month, {HORIZON_MONTHS} months ahead, with 80% and 95% "
    "prediction intervals (ETS with a damped trend, a yearly season from two years on): "
    "total, by channel and by segment, the parts scaled to add up to the total. "
    "Rolling-origin backtest beside seasonal naive: mining.forecast_backtest.",
)
def revenue_forecast(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        end = observation_end(con)
        if end is None:
            return nothing_to_mine(con, NO_ORDERS, "revenue_forecast", "forecast_backtest")
        history = monthly_history(con, end)
        try:
            table = pd.concat([forecast_table(history, m, end) for m in MEASURES])
            judged = pd.concat([backtest_table(history, m, end) for m in MEASURES])
        except ForecastInputError as exc:
            reason = f"no forecast: {exc}"
            return nothing_to_mine(con, reason, "revenue_forecast", "forecast_backtest")
        write(con, "revenue_forecast", table)
        write(con, "forecast_backtest", judged)
    return dg.MaterializeResult(metadata=forecast_metadata(table, judged))


def monthly_history(con: duckdb.DuckDBPyConnection, end: dt.date) -> dict:
    """{(level, measure): months x members frame} over whole months only: up to the month
    before `end` (the day after the last order), from the first month unless the history
    starts after its third day. A member's months without orders are zeros."""
    first_day = con.execute(
        "select min(ordered_at) from marts.fct_orders where is_paid"
    ).fetchall()[0][0]
    first = pd.Timestamp(first_day).to_period("M") + (1 if first_day.day > 3 else 0)
    last = pd.Timestamp(end).to_period("M") - 1
    months = pd.period_range(first, last, freq="M").to_timestamp()
    history = {}
    for level, member in PARTS.items():
        frame = con.execute(MONTHLY_SQL.format(member=member)).df()
        frame["month"] = pd.to_datetime(frame["month"])
        for measure in MEASURES:
            wide = frame.pivot_table(index="month", columns="member", values=measure, aggfunc="sum")
            history[level, measure] = wide.reindex(months).fillna(0.0)
    return history


def forecast_table(history: dict, measure: str, end: dt.date) -> pd.DataFrame:
    """Every level's forecasts of one measure, the parts reconciled to the total."""
    total = history["total", measure]
    months = pd.date_range(total.index[-1], periods=HORIZON_MONTHS + 1, freq="MS")[1:]
    overall = ETS.predict(total["Total"].to_numpy(), HORIZON_MONTHS)
    frames = [_rows(overall, "total", "Total", months)]
    for level in ("channel", "segment"):
        wide = history[level, measure]
        parts = {m: ETS.predict(wide[m].to_numpy(), HORIZON_MONTHS) for m in wide.columns}
        frames += [_rows(f, level, m, months) for m, f in reconcile(overall, parts).items()]
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "measure", measure)
    return table.assign(model=ETS.name, observation_end=end)


def _rows(forecast: pd.DataFrame, level: str, member: str, months) -> pd.DataFrame:
    rows = forecast.assign(level=level, member=member, month=months.date)
    rows["month_date_key"] = [date_key(m) for m in months]
    return rows[["level", "member", "month", "month_date_key", *COLUMNS]]


def backtest_table(history: dict, measure: str, end: dt.date) -> pd.DataFrame:
    """The total's rolling-origin backtest of one measure, ETS beside seasonal naive."""
    values = history["total", measure]["Total"].to_numpy()
    judged = backtest(values, HORIZON_MONTHS, min_train=max(MIN_MONTHS, len(values) // 2))
    judged.insert(0, "measure", measure)
    return judged.assign(observation_end=end)


def forecast_metadata(table: pd.DataFrame, judged: pd.DataFrame) -> dict:
    total = table[(table["measure"] == "revenue") & (table["level"] == "total")]
    revenue = judged[judged["measure"] == "revenue"].groupby("model")[["mase", "mape"]].mean()
    return {
        "dagster/row_count": len(table),
        "months": dg.MetadataValue.text(f"{total['month'].min()} to {total['month'].max()}"),
        "forecast_revenue": float(total["forecast"].sum()),
        "backtest_mase": dg.MetadataValue.md(
            "| model | MASE | MAPE |\n|---|---|---|\n"
            + "\n".join(f"| {m} | {r.mase:.3f} | {r.mape:.1%} |" for m, r in revenue.iterrows())
        ),
    }
