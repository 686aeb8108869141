"""The forecast against seasonal naive on three years of generated sales: customers arrive
with a yearly season and the base builds up, so revenue trends and swings. Read straight
from the generated CRM file, through the backtest the forecast asset runs on the marts."""

import datetime as dt
import sqlite3

import pandas as pd
import pytest

from mining.forecast import backtest


@pytest.fixture(scope="module")
def monthly_revenue(tmp_path_factory: pytest.TempPathFactory) -> pd.Series:
    from acrm.generator import generate

    out = tmp_path_factory.mktemp("three-years")
    generate(out, scale=0.1, seed=42, start=dt.date(2023, 1, 1), days=3 * 365)
    with sqlite3.connect(out / "crm" / "crm.sqlite") as con:
        frame = pd.read_sql(
            "select substr(o.ordered_at, 1, 7) as month, "
            "sum(l.quantity * l.unit_price - l.discount) as revenue "
            "from orders as o join order_lines as l using (order_id) "
            "where o.status = 'paid' group by 1 order by 1",
            con,
        )
    return frame.set_index("month")["revenue"].iloc[:-1]  # the last month is cut short


def test_ets_beats_seasonal_naive_over_three_years(monthly_revenue: pd.Series) -> None:
    assert len(monthly_revenue) == 35
    judged = backtest(monthly_revenue.to_numpy(), horizon=6, min_train=24)
    means = judged.groupby("model")[["mase", "mape"]].mean()
    assert means.loc["ets", "mase"] < means.loc["seasonal_naive", "mase"]
    assert means.loc["ets", "mape"] < means.loc["seasonal_naive", "mape"]
