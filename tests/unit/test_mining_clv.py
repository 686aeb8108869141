"""CLV: BG/NBD and Gamma-Gamma fitted on the CDNOW sample match the published results."""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mining.clv import (
    ClvInputError,
    customer_lifetime_value,
    fit_bgnbd,
    fit_gamma_gamma,
    summarise,
)

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return pd.read_csv(
        DATA / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "quantity", "amount"],
        dtype={"date": str},
    )


def test_bgnbd_recovers_the_published_cdnow_parameters(published) -> None:
    model = fit_bgnbd(published["x"], published["t_x"], published["T"])
    assert (model.r, model.alpha, model.a, model.b) == pytest.approx(
        (0.243, 4.414, 0.793, 2.426), abs=1e-3
    )
    assert model.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    # the paper's example: x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in 39 weeks
    assert model.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=1e-3)
    assert model.probability_alive(0, 0, 38.86) == 1.0  # no repeat yet: cannot have died


def test_gamma_gamma_recovers_the_published_parameters(published) -> None:
    model = fit_gamma_gamma(published["x"], published["zbar"])
    assert (model.p, model.q, model.gamma) == pytest.approx((6.25, 3.74, 15.44), abs=0.01)
    # a customer's expected spend shrinks their own mean towards the population mean
    population = model.p * model.gamma / (model.q - 1)
    own = float(model.expected_spend(1, 100.0))
    assert population < own < 100.0


def test_the_summary_of_raw_transactions_equals_the_published_one(transactions, published):
    summary = summarise(
        transactions, "customer_id", "date", "amount", dt.date(1997, 9, 30), "week"
    ).merge(published, left_on="customer", right_on="ID")
    assert len(summary) == len(published) == 2357
    assert (summary["frequency"] == summary["x"]).all()  # distinct purchase days - 1
    assert np.allclose(summary["recency"], summary["t_x"], atol=0.01)
    assert np.allclose(summary["T_x"], summary["T_y"], atol=0.01)
    assert np.allclose(summary["monetary"], summary["zbar"], atol=0.01)


def test_two_orders_on_one_day_are_one_purchase() -> None:
    frame = pd.DataFrame(
        {
            "c": ["a", "a", "a", "b"],
            "d": ["2025-01-01", "2025-01-08", "2025-01-08", "2025-01-01"],
            "v": [10, 20, 30, 5],
        }
    )
    summary = summarise(frame, "c", "d", "v", dt.date(2025, 1, 15), "day").set_index("customer")
    assert summary.loc["a"].tolist() == [1, 7, 14, 50.0]
    assert summary.loc["b"].tolist() == [0, 0, 14, 0.0]


def test_clv_is_deterministic_and_ranks_frequent_recent_customers_higher(published) -> None:
    summary = published.rename(
        columns={"x": "frequency", "t_x": "recency", "zbar": "monetary"}
    ).assign(customer=published["ID"])
    first = customer_lifetime_value(summary, horizon=52, discount_rate=0.01)
    second = customer_lifetime_value(summary, horizon=52, discount_rate=0.01)
    assert first.customers["clv"].equals(second.customers["clv"])
    by_frequency = first.customers.groupby(first.customers["frequency"] >= 5)["clv"].mean()
    assert by_frequency[True] > 5 * by_frequency[False]
    assert (first.customers["clv"] >= 0).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customer": "client"}, "column 'client' not found"),
        ({"time_unit": "fortnight"}, "time unit 'fortnight'"),
    ],
)
def test_bad_input_names_the_column_or_parameter(transactions, kwargs, message) -> None:
    arguments = {
        "customer": "customer_id",
        "date": "date",
        "amount": "amount",
        "observation_end": dt.date(1997, 9, 30),
    } | kwargs
    with pytest.raises(ClvInputError, match=message):
        summarise(transactions, **arguments)


def test_a_bad_date_names_its_row() -> None:
    frame = pd.DataFrame({"c": ["a", "b"], "d": ["2025-01-01", "soon"], "v": [1, 2]})
    with pytest.raises(ClvInputError, match="row 2: 'soon' is not a date"):
        summarise(frame, "c", "d", "v", dt.date(2025, 2, 1))
