"""Monthly forecasts: seasonal naive by hand, ETS against it on a series with a planted trend
and season, intervals, reconciliation and bad parameters."""

import numpy as np
import pandas as pd
import pytest

from mining.forecast import (
    COLUMNS,
    ForecastInputError,
    backtest,
    ets_forecast,
    reconcile,
    seasonal_naive,
)


def planted(months: int = 48, seed: int = 3) -> np.ndarray:
    """100 growing by 2 a month, a yearly swing of +-15 peaking in December, noise sd 4."""
    t = np.arange(months)
    season = 15 * np.cos(2 * np.pi * (t - 11) / 12)
    return 100 + 2 * t + season + np.random.default_rng(seed).normal(0, 4, months)


def test_seasonal_naive_repeats_last_year_and_widens_by_seasons() -> None:
    history = np.arange(1.0, 27.0)  # 26 months: every year-on-year change is 12
    forecast = seasonal_naive(history, 14)
    assert forecast["forecast"].tolist()[:12] == history[-12:].tolist()
    assert forecast["forecast"].tolist()[12:] == history[-12:-10].tolist()
    # the changes never vary: a zero spread, the interval is the forecast itself
    assert (forecast["high_95"] == forecast["forecast"]).all()
    short = seasonal_naive(np.array([1.0, 3, 2, 4, 3, 5, 4, 6, 5]), 2)
    assert short["forecast"].tolist() == [5.0, 5.0]  # under 14 months: the last month
    spread = np.std(np.diff([1.0, 3, 2, 4, 3, 5, 4, 6, 5]), ddof=1)
    # two months ahead of a month-on-month naive: sqrt(2) times the one-step spread
    width = short["high_80"][1] - short["forecast"][1]
    assert width == pytest.approx(1.2816 * spread * np.sqrt(2), 1e-3)


def test_ets_beats_seasonal_naive_on_a_planted_trend_and_season() -> None:
    judged = backtest(planted(), horizon=6, min_train=24)
    means = judged.groupby("model")[["mase", "mape"]].mean()
    assert means.loc["ets", "mase"] < 0.6 * means.loc["seasonal_naive", "mase"]
    assert set(judged["horizon"]) == set(range(1, 7))
    assert judged.loc[judged["horizon"] == 1, "origins"].tolist() == [24, 24]
    coverage = judged[judged["model"] == "ets"]["interval_coverage"].mean()
    assert 0.6 <= coverage <= 1.0  # near the nominal 80 % on 24 origins x 6 horizons


def test_ets_intervals_nest_and_follow_the_trend() -> None:
    history = planted()
    forecast = ets_forecast(history, 6)
    assert list(forecast.columns) == COLUMNS
    assert (forecast["low_95"] < forecast["low_80"]).all()
    assert (forecast["low_80"] < forecast["forecast"]).all()
    assert (forecast["forecast"] < forecast["high_80"]).all()
    assert (forecast["high_80"] < forecast["high_95"]).all()
    # truth for months 48..53 without noise; the forecast is within the 95 % band of it
    t = np.arange(48, 54)
    truth = 100 + 2 * t + 15 * np.cos(2 * np.pi * (t - 11) / 12)
    assert ((forecast["low_95"] < truth) & (truth < forecast["high_95"])).all()
    assert ets_forecast(history, 6).equals(forecast)  # the same fit every time


def test_reconciled_parts_add_up_to_the_total() -> None:
    total = pd.DataFrame({c: [100.0, 120.0] for c in COLUMNS})
    parts = {
        "a": pd.DataFrame({c: [30.0, 50.0] for c in COLUMNS}),
        "b": pd.DataFrame({c: [50.0, 50.0] for c in COLUMNS}),
    }
    fitted = reconcile(total, parts)
    summed = fitted["a"]["forecast"] + fitted["b"]["forecast"]
    assert summed.tolist() == [100.0, 120.0]
    assert fitted["a"]["forecast"].tolist() == [37.5, 60.0]  # scaled by 100/80, 120/100
    assert fitted["a"]["high_95"].tolist() == [37.5, 60.0]


@pytest.mark.parametrize(
    ("history", "horizon", "message"),
    [
        (np.arange(20.0), 0, "horizon 0"),
        (np.arange(5.0), 3, "5 complete months"),
    ],
)
def test_bad_parameters_are_named(history, horizon, message) -> None:
    for forecaster in (ets_forecast, seasonal_naive):
        with pytest.raises(ForecastInputError, match=message):
            forecaster(history, horizon)
    with pytest.raises(ForecastInputError, match="min_train 30"):
        backtest(np.arange(20.0), 6, 30)
