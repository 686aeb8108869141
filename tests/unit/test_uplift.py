"""Uplift: a planted world where only one segment responds to the campaign, recovered; the
Qini coefficient of a perfect, a random and a reversed ranking."""

import numpy as np
import pandas as pd
import pytest

from mining.uplift import UpliftInputError, evaluate, fit, predict, prepare, qini

BASE = {"Retail": 0.10, "Corporate": 0.30}  # bought anyway in the window
CAUSED = {"Retail": 0.25, "Corporate": 0.0}  # bought because of the campaign


def members(n: int = 4000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    segment = rng.choice(list(BASE), n, p=[0.6, 0.4])
    treated = rng.random(n) < 0.7
    base = np.array([BASE[s] for s in segment])
    caused = np.array([CAUSED[s] for s in segment])
    anyway = rng.random(n) < base
    responded = anyway | (treated & (rng.random(n) < caused))
    return prepare(pd.DataFrame({
        "segment": segment, "persona": rng.choice(["a", "b"], n), "is_treatment": treated,
        "responded": responded, "orders": rng.poisson(3, n), "revenue": rng.gamma(2, 100, n),
        "days_since_order": rng.integers(1, 200, n), "tenure_days": rng.integers(30, 900, n),
    }))  # fmt: skip


def test_the_planted_responders_are_found() -> None:
    rows = members()
    scored = predict(fit(rows), rows).assign(segment=rows["segment"])
    by_segment = scored.groupby("segment")["uplift"].mean()
    truth = {s: CAUSED[s] * (1 - BASE[s]) for s in BASE}  # caused among those who would not
    for segment, value in by_segment.items():
        assert value == pytest.approx(truth[segment], abs=0.04)
    deciles, coefficient = evaluate(rows)
    assert coefficient > 0
    top, bottom = deciles.iloc[0], deciles.iloc[-1]
    assert top["observed_uplift"] > bottom["observed_uplift"]


def test_qini_of_perfect_random_and_reversed_rankings() -> None:
    # 4 treated responders caused by the campaign, 4 treated who did not, 8 in the holdout
    treated = pd.Series([True] * 8 + [False] * 8)
    responded = pd.Series([True] * 4 + [False] * 4 + [False] * 8)
    order = np.r_[0:4, 8:12, 4:8, 12:16]  # the responders first
    best = qini(treated[order].reset_index(drop=True), responded[order].reset_index(drop=True))
    worst = qini(treated[order[::-1]].reset_index(drop=True),
                 responded[order[::-1]].reset_index(drop=True))  # fmt: skip
    assert best > 0 > worst


def test_a_holdout_too_small_is_named() -> None:
    rows = members(200)
    few = rows.assign(is_treatment=np.arange(len(rows)) >= 5)  # 5 in the holdout
    with pytest.raises(UpliftInputError, match="5 holdout members"):
        fit(few)
