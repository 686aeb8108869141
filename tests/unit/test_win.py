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
