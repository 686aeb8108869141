"""Churn propensity: a scikit-learn model on warehouse features, split by time.

Features are computed by SQL over the marts as of a cutoff day, from what happened before
it; the label says whether a customer who bought in the churn horizon before the cutoff
made no paid order in the `window` days after it. The model is trained on the snapshot at
`end - 2 * window` and tested on the one at `end - window` (a time-based split: the test
customers' futures are later than anything the model saw), then scores every active
customer as of `end`.

The model is a standardised logistic regression, so each customer's drivers are exact:
coefficient x standardised value, per feature. Global drivers rank features by the size of
their standardised coefficient.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

FEATURES = {
    "recency_days": "days since the last paid order",
    "frequency": "paid orders",
    "monetary": "revenue of paid orders",
    "tenure_days": "days since the first paid order",
    "tickets": "service tickets opened",
    "resolution_hours": "average hours to resolve a ticket (0 without tickets)",
    "csat": "1 when the customer rated a ticket's resolution CSAT 1 or 2 (dissatisfied)",
    "surveyed": "1 when the customer answered a CSAT survey",
    "calls": "calls with the call center",
    "missed_calls": "inbound calls not answered",
    "web_sessions": "web sessions",
}

FEATURES_SQL = """
with orders as (
    select customer_key, ordered_at, revenue from marts.fct_orders
    where is_paid and customer_key <> -1 and ordered_at < $cutoff
),
buyers as (
    select customer_key,
        date_diff('day', max(ordered_at), $cutoff) as recency_days,
        count(*) as frequency,
        sum(revenue) as monetary,
        date_diff('day', min(ordered_at), $cutoff) as tenure_days
    from orders group by customer_key
),
tickets as (
    select customer_key, count(*) as tickets, avg(resolution_hours) as resolution_hours
    from marts.fct_tickets where opened_at < $cutoff group by customer_key
),
surveys as (
    select s.customer_key, min(s.csat) as csat
    from marts.fct_survey_responses as s
    inner join marts.dim_dates as d on s.responded_date_key = d.date_key
    where d.date_day < $cutoff and s.csat is not null group by s.customer_key
),
calls as (
    select customer_key, count(*) as calls,
        sum(case when is_missed then 1 else 0 end) as missed_calls
    from marts.fct_calls where started_at < $cutoff group by customer_key
),
web as (
    select customer_key, count(*) as web_sessions
    from marts.fct_web_sessions where started_at < $cutoff group by customer_key
),
future as (
    select distinct o.customer_key from marts.fct_orders as o
    where o.is_paid and o.ordered_at >= $cutoff and o.ordered_at < $window_end
)
select buyers.customer_key,
    buyers.recency_days, buyers.frequency, buyers.monetary, buyers.tenure_days,
    coalesce(tickets.tickets, 0) as tickets,
    coalesce(tickets.resolution_hours, 0) as resolution_hours,
    coalesce(surveys.csat <= 2, false) as csat,
    surveys.csat is not null as surveyed,
    coalesce(calls.calls, 0) as calls,
    coalesce(calls.missed_calls, 0) as missed_calls,
    coalesce(web.web_sessions, 0) as web_sessions,
    future.customer_key is null as churned
from buyers
left join tickets using (customer_key)
left join surveys using (customer_key)
left join calls using (customer_key)
left join web using (customer_key)
left join future using (customer_key)
where buyers.recency_days <= $active_days
"""


def snapshot(
    con: duckdb.DuckDBPyConnection, cutoff: dt.date, window: int, active_days: int
) -> pd.DataFrame:
    """Features as of `cutoff` of customers who bought in the `active_days` before it, and
    whether they then made no paid order for `window` days."""
    start = dt.datetime.combine(cutoff, dt.time())
    frame = con.sql(
        FEATURES_SQL,
        params={
            "cutoff": start,
            "window_end": start + dt.timedelta(days=window),
            "active_days": active_days,
        },
    ).df()
    frame[list(FEATURES)] = frame[list(FEATURES)].astype("float64")
    return frame


@dataclass
class ChurnModel:
    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coefficients: np.ndarray
    intercept: float
    auc: float
    train_rows: int
    test_rows: int
    train_cutoff: dt.date
    test_cutoff: dt.date

    def standardise(self, frame: pd.DataFrame) -> np.ndarray:
        return (frame[self.features].to_numpy(float) - self.mean) / self.scale

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        z = self.standardise(frame) @ self.coefficients + self.intercept
        return 1 / (1 + np.exp(-z))

    def drivers(self) -> pd.DataFrame:
        """Features by the size of their standardised coefficient; positive raises churn."""
        table = pd.DataFrame({"feature": self.features, "coefficient": self.coefficients}).assign(
            weight=lambda t: t["coefficient"].abs()
        )
        return table.sort_values("weight", ascending=False, ignore_index=True)

    def customer_drivers(self, frame: pd.DataFrame, top: int = 3) -> list[str]:
        """Per customer, the features that raise their risk most, strongest first."""
        contributions = self.standardise(frame) * self.coefficients
        order = np.argsort(-contributions, axis=1)[:, :top]
        return [
            ", ".join(self.features[j] for j in row if contributions[i, j] > 0)
            for i, row in enumerate(order)
        ]


def train(
    con: duckdb.DuckDBPyConnection,
    end: dt.date,
    window: int = 90,
    active_days: int = 180,
    seed: int = 42,
) -> tuple[ChurnModel, pd.DataFrame]:
    """Fit on the earlier snapshot, measure AUC on the later one; return the model and the
    scored customers as of `end`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from threadpoolctl import threadpool_limits

    test_cutoff = end - dt.timedelta(days=window)
    train_cutoff = test_cutoff - dt.timedelta(days=window)
    train_set = snapshot(con, train_cutoff, window, active_days)
    test_set = snapshot(con, test_cutoff, window, active_days)
    if train_set["churned"].nunique() < 2 or test_set["churned"].nunique() < 2:
        raise ValueError(
            f"churn model: the snapshots at {train_cutoff} and {test_cutoff} need churned "
            f"and retained customers both; the history is too short for a {window}-day window"
        )
    features = list(FEATURES)
    x = train_set[features].to_numpy(float)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(max_iter=1000, C=1.0, random_state=seed)
    # one BLAS thread: a multi-threaded sum adds in a varying order, so two fits of the
    # same data could differ in the last bits; 11 features gain nothing from threads
    with threadpool_limits(limits=1):
        model.fit((x - mean) / scale, train_set["churned"].astype(int))
    fitted = ChurnModel(
        features,
        mean,
        scale,
        model.coef_[0],
        float(model.intercept_[0]),
        auc=0.0,
        train_rows=len(train_set),
        test_rows=len(test_set),
        train_cutoff=train_cutoff,
        test_cutoff=test_cutoff,
    )
    fitted.auc = float(roc_auc_score(test_set["churned"].astype(int), fitted.probability(test_set)))
    current = snapshot(con, end, window, active_days)
    scored = current[["customer_key", *features]].copy()
    scored["churn_probability"] = fitted.probability(current)
    scored["top_drivers"] = fitted.customer_drivers(current)
    return fitted, scored
