"""Uplift: who buys because of a campaign, not who would have bought anyway.

A two-model learner per campaign (scikit-learn logistic regressions): one fitted on the
treated members, one on the holdout, each predicting a response from what was known at
the send; a customer's uplift is the difference of the two probabilities. Logistic
regression, not boosting: a holdout has a few hundred members, and a model per group that
small needs the few, stable coefficients a regularised linear model gives.

The evaluation holds out a random EVAL_SHARE of each campaign's members (stratified by
group), fits on the rest and ranks the held-out members by predicted uplift: the observed
uplift by decile, and the Qini coefficient, the mean gap between the Qini curve
(incremental responders among the top k: R_T(k) - R_C(k) N_T(k) / N_C(k)) and the line of
random targeting, per member judged. Random targeting scores 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATEGORIES = ["segment", "persona"]
NUMBERS = ["log_orders", "log_revenue", "log_days_since_order", "log_tenure_days"]
EVAL_SHARE = 0.3
MIN_GROUP = 20  # treated and holdout members each needed to fit a campaign's models
DECILES = 10


class UpliftInputError(ValueError):
    """The members cannot be modelled; the message names the campaign and why."""


def _pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    design = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORIES),
         ("numbers", StandardScaler(), NUMBERS)]
    )  # fmt: skip
    return make_pipeline(design, LogisticRegression(C=1.0, max_iter=1000))


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Features on the model's scale: categories named, counts and amounts logged."""
    out = frame.copy()
    for column in CATEGORIES:
        out[column] = out[column].astype("string").fillna("(unknown)").astype(str)
    for raw in ("orders", "revenue", "days_since_order", "tenure_days"):
        out[f"log_{raw}"] = np.log1p(out[raw].astype(float).clip(lower=0).fillna(9999.0))
    return out


def fit(members: pd.DataFrame):
    """The two models of one campaign: fitted on treated and on holdout members."""
    groups = {}
    for treated in (True, False):
        rows = members[members["is_treatment"] == treated]
        if len(rows) < MIN_GROUP or rows["responded"].nunique() < 2:
            kind = "treated" if treated else "holdout"
            raise UpliftInputError(
                f"{len(rows)} {kind} members, {int(rows['responded'].sum())} responders: "
                f"an uplift model needs at least {MIN_GROUP} and both outcomes"
            )
        model = _pipeline()
        model.fit(rows[CATEGORIES + NUMBERS], rows["responded"].astype(int))
        groups[treated] = model
    return groups


def predict(models, frame: pd.DataFrame) -> pd.DataFrame:
    """p_treated, p_control and uplift for each row of `frame` (prepared)."""
    x = frame[CATEGORIES + NUMBERS]
    p_treated = models[True].predict_proba(x)[:, 1]
    p_control = models[False].predict_proba(x)[:, 1]
    return pd.DataFrame(
        {"p_treated": p_treated, "p_control": p_control, "uplift": p_treated - p_control},
        index=frame.index,
    )


def evaluate(members: pd.DataFrame, seed: int = 42) -> tuple[pd.DataFrame, float]:
    """Uplift by decile of predicted uplift on held-out members, and the Qini coefficient."""
    rng = np.random.default_rng(seed)
    judged = np.zeros(len(members), dtype=bool)
    for treated in (True, False):
        index = np.flatnonzero(members["is_treatment"].to_numpy() == treated)
        judged[rng.choice(index, round(len(index) * EVAL_SHARE), replace=False)] = True
    models = fit(members[~judged])
    test = members[judged].assign(predicted=predict(models, members[judged])["uplift"])
    test = test.sort_values("predicted", ascending=False, kind="stable")
    return _deciles(test), qini(test["is_treatment"], test["responded"])


def _deciles(test: pd.DataFrame) -> pd.DataFrame:
    test = test.assign(decile=np.arange(len(test)) * DECILES // max(len(test), 1) + 1)
    rows = []
    for decile, part in test.groupby("decile"):
        treated, control = part[part["is_treatment"]], part[~part["is_treatment"]]
        rows.append({
            "decile": int(decile), "members": len(part),
            "treated_rate": treated["responded"].mean() if len(treated) else None,
            "control_rate": control["responded"].mean() if len(control) else None,
            "mean_predicted_uplift": float(part["predicted"].mean()),
        })  # fmt: skip
    out = pd.DataFrame(rows)
    out["observed_uplift"] = out["treated_rate"] - out["control_rate"]
    return out


def qini(is_treatment: pd.Series, responded: pd.Series) -> float:
    """The Qini coefficient of members in ranked order (best first), per member."""
    treated = is_treatment.to_numpy(bool)
    response = responded.to_numpy(bool)
    n_t, n_c = np.cumsum(treated), np.cumsum(~treated)
    r_t, r_c = np.cumsum(treated & response), np.cumsum(~treated & response)
    with np.errstate(divide="ignore", invalid="ignore"):
        curve = np.where(n_c > 0, r_t - r_c * n_t / np.maximum(n_c, 1), r_t)
    k = np.arange(1, len(curve) + 1)
    random_line = k / len(curve) * curve[-1]
    return float((curve - random_line).mean() / len(curve))
