"""The win model's reliability table by hand, and its parameter errors."""

import datetime as dt

import duckdb
import numpy as np
import pytest

from mining.win import WinInputError, reliability, train


def test_reliability_bins_by_predicted_probability() -> None:
    predicted = np.array([0.05, 0.08, 0.15, 0.95, 0.99, 1.0])
    won = np.array([0, 1, 0, 1, 1, 1])
    table = reliability(predicted, won, bins=10)
    assert table["bin"].tolist() == [0, 1, 9]
    assert table["deals"].tolist() == [2, 1, 3]
    assert table["mean_predicted"].tolist() == pytest.approx([0.065, 0.15, (0.95 + 0.99 + 1) / 3])
    assert table["win_rate"].tolist() == [0.5, 0.0, 1.0]
    assert table["bin_from"].tolist() == pytest.approx([0.0, 0.1, 0.9])


def test_bad_parameters_and_no_deals_are_named() -> None:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.fct_deals (created_at timestamp)")
    with pytest.raises(WinInputError, match="horizon 0"):
        train(con, dt.date(2025, 6, 1), horizon=0)
    with pytest.raises(WinInputError, match="no deals"):
        train(con, dt.date(2025, 6, 1))


def test_a_history_shorter_than_two_horizons_is_named() -> None:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.fct_deals as select 1 as deal_id, 1 as customer_key, "
        "1 as manager_key, 'x' as channel_key, 100.0 as amount, "
        "timestamp '2025-05-20' as created_at, null::timestamp as closed_at, false as is_won"
    )
    con.execute(
        "create table marts.fct_deal_stage_transitions as select 1 as deal_id, 1 as stage_key, "
        "1 as stage_position, false as is_skipped, timestamp '2025-05-20' as entered_at, "
        "null::timestamp as exited_at"
    )
    con.execute(
        "create table marts.fct_orders as select 1 as customer_key, true as is_paid, "
        "timestamp '2025-01-01' as ordered_at, 10.0 as revenue"
    )
    with pytest.raises(WinInputError, match="shorter than two 90-day horizons"):
        train(con, dt.date(2025, 6, 1))
