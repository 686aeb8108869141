"""New customers' first-year value: tenure months counted right, a planted world's value
recovered by channel and segment, the backtest preferring the model that knows them."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from mining.new_value import (
    MONTH,
    MONTHS,
    NewValueInputError,
    backtest,
    predict,
    tenure_months,
)

START = pd.Timestamp("2025-01-01", tz="UTC")
END = START + pd.Timedelta(days=365)
# Planted: repeat orders per tenure month ~ Poisson(rate x segment x DECAY**month), 100 each.
RATE = {"Referral": 0.6, "Display": 0.15}
SEGMENT = {"Retail": 1.0, "Corporate": 3.0}
DECAY = 0.85
PRICE = 100.0


def planted_truth(channel: str, segment: str) -> float:
    """Expected first-year repeat revenue of a customer of this channel and segment."""
    return PRICE * RATE[channel] * SEGMENT[segment] * sum(DECAY**m for m in range(MONTHS))


def world(n: int = 3000, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    first = pd.DataFrame(
        {
            "customer_key": np.arange(1, n + 1),
            "first_at": START + pd.to_timedelta(rng.uniform(0, 330, n), unit="D"),
            "first_revenue": rng.gamma(2.0, 150.0, n),
            "first_lines": rng.integers(1, 4, n),
            "channel": rng.choice(list(RATE), n),
            "segment": rng.choice(list(SEGMENT), n, p=[0.7, 0.3]),
        }
    )
    for column in ["persona", "age_band", "income_band", "education", "region", "gender"]:
        first[column] = rng.choice(["a", "b"], n)  # noise
    first["sales_channel"] = None  # an unknown category, as a CRM without it gives
    repeats = []
    for row in first.itertuples():
        for month in range(MONTHS):
            rate = RATE[row.channel] * SEGMENT[row.segment] * DECAY**month
            for _ in range(rng.poisson(rate)):
                at = row.first_at + MONTH * (month + rng.uniform(0.01, 0.99))
                if at < END:
                    repeats.append((row.customer_key, at, PRICE))
    return first, pd.DataFrame(repeats, columns=["customer_key", "ordered_at", "revenue"])


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, pd.DataFrame]:
    return world()


def test_tenure_months_counts_whole_months_and_places_repeats() -> None:
    first = pd.DataFrame(
        {"customer_key": [1, 2], "first_at": [START, START + pd.Timedelta(days=80)]}
    )
    repeats = pd.DataFrame(
        {
            "customer_key": [1, 1, 2],
            "ordered_at": [START + pd.Timedelta(days=40), START + pd.Timedelta(days=95), END],
            "revenue": [10.0, 20.0, 5.0],
        }
    )
    rows = tenure_months(first, repeats, START + pd.Timedelta(days=100))
    # 100 days hold 3 whole months of 30.4 days for customer 1, none for customer 2 (20 days);
    # the day-95 order falls in month 3, which is not whole before the end
    assert rows[["customer_key", "month", "revenue"]].values.tolist() == [
        [1, 0, 0.0],
        [1, 1, 10.0],
        [1, 2, 0.0],
    ]


def test_planted_first_year_value_recovered_by_channel_and_segment(planted) -> None:
    first, repeats = planted
    scored = predict(first, repeats, END)
    mean = scored.groupby(["channel", "segment"])["predicted_repeat"].mean()
    for (channel, segment), value in mean.items():
        assert value == pytest.approx(planted_truth(channel, segment), rel=0.12)
    total = scored["predicted_value"] - scored["first_revenue"]
    assert np.allclose(total, scored["predicted_repeat"])


def test_backtest_prefers_the_model_that_knows_the_customer(planted) -> None:
    first, repeats = planted
    judged = backtest(first, repeats, END).set_index("model")
    assert list(judged.index) == ["profile", "channel", "average"]
    deviance = judged["poisson_deviance"]
    assert deviance["profile"] < deviance["channel"] < deviance["average"]
    assert judged.loc["profile", "top_fifth_revenue_share"] > 0.2
    assert judged.loc["profile", "predicted"] == pytest.approx(
        judged.loc["profile", "actual"], rel=0.1
    )
    assert (judged["customers"] == judged.loc["average", "customers"]).all()


def test_the_same_data_gives_the_same_values(planted) -> None:
    first, repeats = planted
    once = predict(first, repeats, END)["predicted_value"]
    again = predict(first.copy(), repeats.copy(), END)["predicted_value"]
    assert once.equals(again)


def test_bad_input_is_named(planted) -> None:
    first, repeats = planted
    with pytest.raises(NewValueInputError, match="columns missing: persona"):
        predict(first.drop(columns="persona"), repeats, END)
    with pytest.raises(NewValueInputError, match="holdout of 10 days"):
        backtest(first, repeats, END, holdout_days=10)
    recent = first.assign(first_at=END - pd.Timedelta(days=20))
    with pytest.raises(NewValueInputError, match="0 customers with a whole month"):
        predict(recent, repeats.iloc[:0], END)
    assert dt.timedelta(days=30) < MONTH < dt.timedelta(days=31)
