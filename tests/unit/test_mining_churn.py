"""Churn propensity: features and labels as of a cutoff on a tiny warehouse, computed by
hand; the model's probability and per-customer drivers by hand; a fixed seed repeats."""

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from mining.churn import ChurnModel, snapshot, train

CUTOFF = dt.date(2025, 7, 1)

TINY = """
create schema marts;
create table marts.fct_orders as select * from (values
    (1, timestamp '2025-01-10', 100.0, true), (1, timestamp '2025-06-20', 50.0, true),
    (1, timestamp '2025-07-15', 70.0, true),   -- 1 buys again in the window: retained
    (2, timestamp '2025-05-01', 300.0, true),  -- 2 does not: churned
    (2, timestamp '2025-05-02', 999.0, false), -- not paid: ignored
    (3, timestamp '2024-11-01', 80.0, true),   -- 3 last bought 242 days before: not active
    (-1, timestamp '2025-06-01', 10.0, true)   -- unknown customer: ignored
) t(customer_key, ordered_at, revenue, is_paid);
create table marts.fct_tickets as select * from (values
    (2, timestamp '2025-05-10', 30.0), (2, timestamp '2025-06-01', 10.0),
    (1, timestamp '2025-08-01', 5.0)           -- after the cutoff: not a feature yet
) t(customer_key, opened_at, resolution_hours);
create table marts.dim_dates as select * from (values
    (20250515, date '2025-05-15'), (20250801, date '2025-08-01')
) t(date_key, date_day);
create table marts.fct_survey_responses as select * from (values
    (2, 20250515, 1), (1, 20250801, 1)         -- 1's low rating comes after the cutoff
) t(customer_key, responded_date_key, csat);
create table marts.fct_calls as select * from (values
    (1, timestamp '2025-06-01', false), (1, timestamp '2025-06-02', true)
) t(customer_key, started_at, is_missed);
create table marts.fct_web_sessions as select * from (values
    (1, timestamp '2025-03-01'), (1, timestamp '2025-04-01'), (2, timestamp '2025-04-01')
) t(customer_key, started_at);
"""


@pytest.fixture
def tiny() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(TINY)
    return con


def test_features_and_labels_as_of_the_cutoff(tiny) -> None:
    frame = snapshot(tiny, CUTOFF, window=90, active_days=180).set_index("customer_key")
    assert sorted(frame.index) == [1, 2]  # 3 is not active, -1 is unknown
    one, two = frame.loc[1], frame.loc[2]
    assert (one.recency_days, one.frequency, one.monetary, one.tenure_days) == (11, 2, 150, 172)
    assert (two.recency_days, two.frequency, two.monetary) == (61, 1, 300)
    assert (one.tickets, two.tickets, two.resolution_hours) == (0, 2, 20.0)
    assert (one.csat, one.surveyed, two.csat, two.surveyed) == (0, 0, 1, 1)
    assert (one.calls, one.missed_calls, one.web_sessions, two.web_sessions) == (2, 1, 2, 1)
    assert (bool(one.churned), bool(two.churned)) == (False, True)


def test_probability_and_drivers_by_hand() -> None:
    model = ChurnModel(
        ["tickets", "frequency"],
        mean=np.array([1.0, 3.0]),
        scale=np.array([1.0, 2.0]),
        coefficients=np.array([2.0, -1.0]),
        intercept=-0.5,
        auc=0.0,
        train_rows=0,
        test_rows=0,
        train_cutoff=CUTOFF,
        test_cutoff=CUTOFF,
    )
    customers = pd.DataFrame({"tickets": [2.0, 0.0], "frequency": [3.0, 1.0]})
    # z = 2 * (2 - 1) / 1 - 1 * (3 - 3) / 2 - 0.5 = 1.5;  z = 2 * -1 - 1 * -1 - 0.5 = -1.5
    assert model.probability(customers) == pytest.approx(1 / (1 + np.exp([-1.5, 1.5])))
    # customer 0: tickets raise the risk (+2); customer 1: few orders raise it (+1)
    assert model.customer_drivers(customers) == ["tickets", "frequency"]
    assert model.drivers()["feature"].tolist() == ["tickets", "frequency"]


def test_training_is_deterministic_for_a_seed(tiny) -> None:
    rows = []
    for customer in range(4, 64):  # enough customers in both snapshots to fit
        day = dt.date(2025, 1, 1) + dt.timedelta(days=customer)
        rows.append((customer, day, 10.0 * customer))
        if customer % 3:  # two in three buy again: retained in the first window
            rows.append((customer, day + dt.timedelta(days=200), 5.0))
        if customer % 2:  # half buy a third time: retained in the second window
            rows.append((customer, day + dt.timedelta(days=290), 5.0))
    more = pd.DataFrame(rows, columns=["customer_key", "ordered_at", "revenue"])
    tiny.register("more", more)
    tiny.execute("insert into marts.fct_orders select *, true from more")
    end = dt.date(2025, 12, 31)
    first, scored_first = train(tiny, end, window=90, active_days=180, seed=7)
    second, scored_second = train(tiny, end, window=90, active_days=180, seed=7)
    assert first.coefficients == pytest.approx(second.coefficients, rel=1e-12, abs=1e-15)
    pd.testing.assert_frame_equal(scored_first, scored_second, rtol=1e-12)
