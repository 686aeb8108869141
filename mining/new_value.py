"""New customers' first-year value, predicted at their first purchase.

A customer's first-year value is the revenue of their paid orders within FIRST_YEAR_DAYS of
the first one, the first included (core.rules). A history of one year observes that window
whole for almost nobody, so the model learns from every month it does observe: each
customer contributes one row per whole month of tenure (month 0 is the 30.4 days from the
first order) that the data covers, with the repeat revenue of that month as the target.
A Poisson regression (scikit-learn) over those rows, with the tenure month and what is known
at the first purchase as features: the month enters as a log-linear trend (plus a flag for
month 0), so a customer's expected monthly repeat revenue declines geometrically, as it
does when a constant share drops out each month, and months no customer has reached yet
(month 11 in a one-year history) follow the decline of those observed rather than a guess.
The features scale that curve per customer. A customer's predicted first-year value is the
first order plus the sum of the twelve months' predicted repeat revenue.

Features known at the first purchase: the acquisition channel (of the first paid order),
the persona, the CRM segment, demographics (age band, income band, education, region,
gender), how the first order was placed (online or through a manager), its revenue (log)
and its number of lines. A missing value is a category of its own ("(unknown)").

The backtest holds out the last HOLDOUT_DAYS: the models are fitted on the months before,
then predict each customer's repeat revenue in their whole months inside the holdout.
Beside ours ("profile") stand two baselines: every new customer alike ("average") and the
acquisition channel alone ("channel"), which is what a marketer's spreadsheet would do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.rules import FIRST_YEAR_DAYS

MONTH = dt.timedelta(days=FIRST_YEAR_DAYS / 12)
MONTHS = 12
HOLDOUT_DAYS = 91
MIN_CUSTOMERS = 30  # customers with a whole month of tenure needed to fit
CATEGORIES = [
    "channel",
    "persona",
    "segment",
    "age_band",
    "income_band",
    "education",
    "region",
    "gender",
    "sales_channel",
]
NUMBERS = ["log_first_revenue", "first_lines"]
# The models the backtest compares, by the features each sees beside the tenure month.
MODELS = {"profile": CATEGORIES + NUMBERS, "channel": ["channel"], "average": []}
UNKNOWN = "(unknown)"


class NewValueInputError(ValueError):
    """The orders or a parameter cannot be used; the message names which."""


def prepare(first: pd.DataFrame) -> pd.DataFrame:
    """The first purchases as features: missing categories named, revenue on a log scale."""
    missing = [c for c in ["customer_key", "first_at", "first_revenue", "first_lines",
                           *CATEGORIES] if c not in first.columns]  # fmt: skip
    if missing:
        raise NewValueInputError(f"first-purchase columns missing: {', '.join(missing)}")
    out = first.copy()
    for column in CATEGORIES:
        out[column] = out[column].astype("string").fillna(UNKNOWN).astype(str)
    out["log_first_revenue"] = np.log1p(out["first_revenue"].clip(lower=0).astype(float))
    out["first_lines"] = out["first_lines"].astype(float)
    return out


def tenure_months(first: pd.DataFrame, repeats: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """One row per customer x whole tenure month (0..11) before `end`, with the repeat
    revenue of that month. `repeats`: customer_key, ordered_at, revenue of the orders after
    the first."""
    whole = ((end - first["first_at"]) / MONTH).clip(lower=0).astype(int).clip(upper=MONTHS)
    rows = first.loc[first.index.repeat(whole)].copy()
    rows["month"] = rows.groupby("customer_key").cumcount()
    timed = repeats.merge(first[["customer_key", "first_at"]], on="customer_key")
    timed["month"] = ((timed["ordered_at"] - timed["first_at"]) / MONTH).astype(int)
    revenue = timed.groupby(["customer_key", "month"], as_index=False)["revenue"].sum()
    rows = rows.merge(revenue, on=["customer_key", "month"], how="left")
    rows["revenue"] = rows["revenue"].fillna(0.0)
    return rows


@dataclass(frozen=True)
class ValueModel:
    features: list[str]
    pipeline: object  # a fitted scikit-learn Pipeline

    def monthly(self, first: pd.DataFrame, month: int) -> np.ndarray:
        """Predicted repeat revenue of each customer's tenure month `month`."""
        return self.pipeline.predict(first.assign(month=month))

    def first_year(self, first: pd.DataFrame) -> np.ndarray:
        """Predicted first-year repeat revenue: the sum over the twelve tenure months."""
        return sum(self.monthly(first, m) for m in range(MONTHS))


def fit(rows: pd.DataFrame, features: list[str]) -> ValueModel:
    """A Poisson regression of a tenure month's repeat revenue on the month and `features`."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import PoissonRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if rows["customer_key"].nunique() < MIN_CUSTOMERS:
        raise NewValueInputError(
            f"{rows['customer_key'].nunique()} customers with a whole month after their "
            f"first order: the value model needs at least {MIN_CUSTOMERS}"
        )
    categorical = [f for f in features if f in CATEGORIES]
    numeric = ["month", "first_month"] + [f for f in features if f in NUMBERS]
    design = ColumnTransformer(
        [("numbers", StandardScaler(), numeric)]
        + (
            [("categories", OneHotEncoder(handle_unknown="ignore"), categorical)]
            if categorical
            else []
        )
    )
    pipeline = make_pipeline(design, PoissonRegressor(alpha=1e-4, max_iter=1000))
    scale = max(float(rows["revenue"].mean()), 1e-9)  # lbfgs converges on unit-sized targets
    pipeline.fit(_design(rows, features), rows["revenue"] / scale)
    return ValueModel(features, _Scaled(pipeline, scale, features))


def _design(rows: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """The model's inputs: the tenure month (a log-linear trend, so months nobody has reached
    yet follow the decline of those observed), whether it is the first, and `features`."""
    return rows[["month", *features]].assign(first_month=(rows["month"] == 0).astype(float))


@dataclass(frozen=True)
class _Scaled:
    pipeline: object
    scale: float
    features: list[str]

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict(_design(rows, self.features)) * self.scale


def predict(first: pd.DataFrame, repeats: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Every customer's predicted first-year value (first order + twelve months' repeat
    revenue), from the profile model fitted on every whole month before `end`."""
    first = prepare(first)
    model = fit(tenure_months(first, repeats, end), MODELS["profile"])
    repeat = model.first_year(first)
    return first.assign(
        predicted_repeat=repeat, predicted_value=first["first_revenue"].astype(float) + repeat
    )


def backtest(
    first: pd.DataFrame, repeats: pd.DataFrame, end: pd.Timestamp, holdout_days: int = HOLDOUT_DAYS
) -> pd.DataFrame:
    """Per model: fitted on the months before end - holdout_days, its prediction of each
    customer's repeat revenue in their whole tenure months inside the holdout, against what
    they spent (columns: see _judge)."""
    if holdout_days < MONTH.days + 1:
        raise NewValueInputError(
            f"holdout of {holdout_days} days: give at least {MONTH.days + 1} (a whole month)"
        )
    first = prepare(first)
    cutoff = end - dt.timedelta(days=holdout_days)
    known = first[first["first_at"] < cutoff]
    train = tenure_months(known, repeats[repeats["ordered_at"] < cutoff], cutoff)
    judged = _holdout_months(known, repeats, cutoff, end)
    if judged.empty:
        raise NewValueInputError("no customer has a whole tenure month inside the holdout")
    return pd.DataFrame([_judge(name, fit(train, f), judged) for name, f in MODELS.items()])


def _holdout_months(first, repeats, cutoff, end) -> pd.DataFrame:
    """Tenure months that start on or after `cutoff` and end by `end`, with their revenue."""
    rows = tenure_months(first, repeats, end)
    starts = rows["first_at"] + rows["month"] * MONTH
    return rows[starts >= cutoff]


def _judge(name: str, model: ValueModel, months: pd.DataFrame) -> dict:
    """A model's scores on the holdout months, per customer: Poisson deviance and RMSE (both
    judge a mean, which the model predicts), the share of the holdout revenue earned by the
    fifth of customers it ranks highest, and its total against the actual."""
    from sklearn.metrics import mean_poisson_deviance

    predicted = model.pipeline.predict(months)
    judged = months.assign(predicted=predicted).groupby("customer_key")[["revenue", "predicted"]]
    per_customer = judged.sum().sort_values("predicted", ascending=False, kind="stable")
    top = per_customer.head(max(len(per_customer) // 5, 1))
    error = per_customer["predicted"] - per_customer["revenue"]
    return {
        "model": name,
        "customers": len(per_customer),
        "poisson_deviance": float(
            mean_poisson_deviance(per_customer["revenue"], per_customer["predicted"])
        ),
        "rmse": float(np.sqrt((error**2).mean())),
        "top_fifth_revenue_share": float(top["revenue"].sum() / per_customer["revenue"].sum()),
        "predicted": float(per_customer["predicted"].sum()),
        "actual": float(per_customer["revenue"].sum()),
    }
