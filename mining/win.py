"""Pipeline forecast: the probability that an open deal is won within a horizon, and when.

A snapshot at a cutoff day holds the deals open then (created before it, not closed before
it) with what was known at the cutoff: the stage the deal was in, days in that stage, the
deal's age, manager, channel, amount, and the customer's paid orders and won deals before
it. Its label: won within `horizon` days after the cutoff.

Snapshots are taken every `step` days. The model (scikit-learn's logistic regression on
one-hot categories and standardised numbers, which is calibrated by construction) is fitted
on the snapshots whose label window ends before the test cutoff `end - horizon`, and judged
on the test snapshot: the Brier score next to the base rate's, and a reliability table.
It is then refitted on every labelled snapshot and scores the deals open at `end`.

The expected close day of an open deal is `end` plus the median days from a snapshot to
the win, among the deals won from the same stage within the horizon.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

CATEGORIES = ["stage_key", "manager_key", "channel_key"]
NUMBERS = ["days_in_stage", "age_days", "log_amount", "prior_orders", "log_prior_revenue",
           "prior_won_deals"]  # fmt: skip

SNAPSHOT_SQL = """
with open_deals as (
    select deal_id, customer_key, manager_key, channel_key, amount, created_at, closed_at,
        is_won
    from marts.fct_deals
    where created_at < $cutoff and (closed_at is null or closed_at >= $cutoff)
),
stage as (
    select deal_id, stage_key, entered_at from marts.fct_deal_stage_transitions
    where not is_skipped and entered_at <= $cutoff and (exited_at is null or exited_at > $cutoff)
    qualify row_number() over (partition by deal_id order by stage_position desc) = 1
),
orders as (
    select customer_key, count(*) as prior_orders, sum(revenue) as prior_revenue
    from marts.fct_orders where is_paid and ordered_at < $cutoff group by 1
),
won as (
    select customer_key, count(*) as prior_won_deals
    from marts.fct_deals where is_won and closed_at < $cutoff group by 1
)
select d.deal_id, d.customer_key, coalesce(d.manager_key, -1) as manager_key,
    coalesce(d.channel_key, 'unknown') as channel_key, s.stage_key,
    cast(d.amount as double) as amount,
    date_diff('second', s.entered_at, $cutoff) / 86400.0 as days_in_stage,
    date_diff('second', d.created_at, $cutoff) / 86400.0 as age_days,
    ln(1 + greatest(cast(d.amount as double), 0)) as log_amount,
    coalesce(o.prior_orders, 0) as prior_orders,
    ln(1 + coalesce(cast(o.prior_revenue as double), 0)) as log_prior_revenue,
    coalesce(w.prior_won_deals, 0) as prior_won_deals,
    coalesce(d.is_won and d.closed_at < $cutoff + to_days($horizon), false) as won,
    case when d.is_won then date_diff('second', $cutoff, d.closed_at) / 86400.0 end
        as days_to_win
from open_deals as d
join stage as s using (deal_id)
left join orders as o on o.customer_key = d.customer_key and d.customer_key <> -1
left join won as w on w.customer_key = d.customer_key and d.customer_key <> -1
"""


class WinInputError(ValueError):
    """A parameter or the history cannot be used; the message names which."""


def snapshot(con: duckdb.DuckDBPyConnection, cutoff: dt.date, horizon: int) -> pd.DataFrame:
    """The deals open at `cutoff`, their features then, and whether they were won within
    `horizon` days."""
    frame = con.execute(
        SNAPSHOT_SQL,
        {"cutoff": dt.datetime.combine(cutoff, dt.time()), "horizon": horizon},
    ).df()
    frame["cutoff"] = cutoff
    return frame


@dataclass
class WinEvaluation:
    test_cutoff: dt.date
    train_deals: int  # deal x snapshot rows
    test_deals: int
    brier: float
    base_rate_brier: float  # predicting the training win rate for every deal
    base_rate: float
    reliability: pd.DataFrame  # bin, deals, mean predicted, observed win rate

    @property
    def calibration_error(self) -> float:
        """Expected calibration error: |mean predicted - win rate| weighted by deals."""
        table = self.reliability
        gaps = (table["mean_predicted"] - table["win_rate"]).abs()
        return float((gaps * table["deals"]).sum() / table["deals"].sum())


def _model(seed: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features = ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORIES),
            ("numbers", StandardScaler(), NUMBERS),
        ]
    )
    return make_pipeline(features, LogisticRegression(max_iter=2000, C=1.0, random_state=seed))


def _fit(frame: pd.DataFrame, seed: int):
    from threadpoolctl import threadpool_limits

    if frame["won"].nunique() < 2:
        raise WinInputError(
            "win model: the labelled snapshots need won and not-won deals both; "
            "the deal history is too short or every deal ended the same way"
        )
    model = _model(seed)
    with threadpool_limits(limits=1):  # one BLAS thread: the same fit bit for bit
        model.fit(frame[CATEGORIES + NUMBERS], frame["won"].astype(int))
    return model


def reliability(predicted: np.ndarray, won: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Deals by predicted probability in equal-width bins: mean prediction and win rate."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(predicted, edges[1:-1]), 0, bins - 1)
    table = pd.DataFrame({"bin": which, "predicted": predicted, "won": won.astype(float)})
    grouped = table.groupby("bin").agg(
        deals=("won", "size"), mean_predicted=("predicted", "mean"), win_rate=("won", "mean")
    )
    grouped["bin_from"], grouped["bin_to"] = edges[grouped.index], edges[grouped.index + 1]
    return grouped.reset_index()


def snapshots(
    con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date, step: int, horizon: int
) -> pd.DataFrame:
    cutoffs = [first + dt.timedelta(days=d) for d in range(0, (last - first).days + 1, step)]
    frames = [f for f in (snapshot(con, c, horizon) for c in cutoffs) if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def train(
    con: duckdb.DuckDBPyConnection,
    end: dt.date,
    horizon: int = 90,
    step: int = 14,
    seed: int = 42,
) -> tuple[WinEvaluation, pd.DataFrame]:
    """Fit, judge on the time holdout, refit on every labelled snapshot, score the deals
    open at `end`: (evaluation, scored open deals)."""
    if horizon < 1 or step < 1:
        raise WinInputError(f"horizon {horizon}, step {step}: give at least 1 day for each")
    start = con.execute("select min(created_at) from marts.fct_deals").fetchall()[0][0]
    if start is None:
        raise WinInputError("win model: marts.fct_deals has no deals")
    test_cutoff = end - dt.timedelta(days=horizon)
    first = start.date() + dt.timedelta(days=step)
    history = snapshots(con, first, test_cutoff - dt.timedelta(days=horizon), step, horizon)
    test = snapshot(con, test_cutoff, horizon)
    if history.empty or test.empty:
        raise WinInputError(
            f"win model: no open deals to learn from before {test_cutoff}; the deal history "
            f"is shorter than two {horizon}-day horizons"
        )
    evaluation = _evaluate(_fit(history, seed), history, test, test_cutoff)
    labelled = pd.concat([history, test], ignore_index=True)
    model = _fit(labelled, seed)
    scored = snapshot(con, end, horizon)
    scored["win_probability"] = model.predict_proba(scored[CATEGORIES + NUMBERS])[:, 1]
    scored["expected_close_day"] = _close_days(labelled, scored, end)
    return evaluation, scored


def _evaluate(model, history: pd.DataFrame, test: pd.DataFrame, cutoff: dt.date) -> WinEvaluation:
    predicted = model.predict_proba(test[CATEGORIES + NUMBERS])[:, 1]
    won = test["won"].to_numpy(bool)
    base_rate = float(history["won"].mean())
    return WinEvaluation(
        test_cutoff=cutoff,
        train_deals=len(history),
        test_deals=len(test),
        brier=float(np.mean((predicted - won) ** 2)),
        base_rate_brier=float(np.mean((base_rate - won) ** 2)),
        base_rate=base_rate,
        reliability=reliability(predicted, won),
    )


def _close_days(labelled: pd.DataFrame, scored: pd.DataFrame, end: dt.date) -> list[dt.date]:
    """`end` + the median days to the win from the deal's stage (all stages' median when a
    stage has no win in the history)."""
    wins = labelled[labelled["won"]]
    by_stage = wins.groupby("stage_key")["days_to_win"].median()
    overall = float(wins["days_to_win"].median()) if len(wins) else 0.0
    days = scored["stage_key"].map(by_stage).fillna(overall)
    return [end + dt.timedelta(days=int(np.ceil(d))) for d in days]
