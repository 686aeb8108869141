"""Personas: planted latent classes recovered, named by their traits, the same for a seed."""

import numpy as np
import pandas as pd
import pytest

from mining.personas import PersonaInputError, fit_personas, name_personas, profile

# (age band, income, education) each persona mostly has; region and gender are noise
PLANTED = {
    "young": ("18-24", "<30k", "secondary"),
    "pro": ("45-54", "100-200k", "master"),
    "trades": ("35-44", "30-60k", "vocational"),
}
BANDS = {
    "age_band": ["18-24", "25-34", "35-44", "45-54", "55+"],
    "income_band": ["<30k", "30-60k", "60-100k", "100-200k", ">200k"],
    "education": ["secondary", "vocational", "bachelor", "master", "doctorate"],
}


def customers(n: int = 1500, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    persona = rng.choice(list(PLANTED), size=n, p=[0.5, 0.3, 0.2])
    columns = {}
    for j, (column, values) in enumerate(BANDS.items()):
        typical = np.array([PLANTED[p][j] for p in persona], dtype=object)
        other = rng.choice(values, size=n)
        columns[column] = np.where(rng.random(n) < 0.8, typical, other)
    columns["region"] = rng.choice(["Moscow", "Kazan", "Omsk"], size=n)
    columns["gender"] = rng.choice(["female", "male"], size=n)
    return pd.DataFrame(columns).assign(planted=persona, revenue=rng.gamma(2, 100, size=n))


def oracle(frame: pd.DataFrame) -> np.ndarray:
    """The most probable planted persona of each customer under the true parameters."""
    priors = {"young": 0.5, "pro": 0.3, "trades": 0.2}
    scores = []
    for name, typical in PLANTED.items():
        likelihood = np.full(len(frame), priors[name])
        for j, column in enumerate(BANDS):
            likelihood *= np.where(frame[column] == typical[j], 0.8 + 0.2 / 5, 0.2 / 5)
        scores.append(likelihood)
    return np.argmax(np.column_stack(scores), axis=1)


def test_the_planted_classes_are_recovered_and_named_by_their_traits() -> None:
    from sklearn.metrics import adjusted_rand_score

    frame = customers()
    found = fit_personas(frame, sizes=range(2, 6), seed=1)
    assert len(found.names) == 3  # BIC picks the planted number
    # as good as the Bayes rule that knows the planted parameters, within two points
    best = adjusted_rand_score(frame["planted"], oracle(frame))
    assert adjusted_rand_score(frame["planted"], found.labels) >= best - 0.02
    assert np.bincount(found.labels).tolist() == sorted(np.bincount(found.labels), reverse=True)
    largest = found.names[0]  # the young, half the customers
    assert {"age 18-24", "income <30k", "secondary education"} == set(largest.split(", "))
    assert (found.probability > 0).all() and (found.distance >= 0).all()
    again = fit_personas(frame, sizes=range(2, 6), seed=1)
    assert (again.labels == found.labels).all() and again.names == found.names


def test_names_skip_traits_everyone_shares_and_stay_unique() -> None:
    frame = pd.DataFrame(
        {
            "age_band": ["18-24"] * 6,
            "income_band": ["<30k"] * 3 + [">200k"] * 3,
            "education": ["master"] * 6,
            "region": ["Omsk"] * 6,
            "gender": ["male"] * 6,
        }
    )
    names = name_personas(frame, np.array([0, 0, 0, 1, 1, 1]))
    assert names == ["income <30k", "income >200k"]  # shared traits set no one apart
    same = name_personas(frame.assign(income_band="<30k"), np.array([0, 0, 0, 1, 1, 1]))
    assert same == ["persona 1", "persona 2"]


def test_profiles_give_size_share_and_means() -> None:
    frame = pd.DataFrame({"revenue": [10.0, 20.0, 30.0, 40.0]})
    table = profile(frame, np.array([0, 0, 1, 1]), ["a", "b"], ["revenue"])
    assert table.to_dict("list") == {
        "persona": ["a", "b"],
        "customers": [2, 2],
        "share": [0.5, 0.5],
        "revenue": [15.0, 35.0],
    }


def test_too_few_customers_or_a_missing_column_are_named() -> None:
    with pytest.raises(PersonaInputError, match="at least 50"):
        fit_personas(customers(n=30))
    with pytest.raises(PersonaInputError, match="education"):
        fit_personas(customers().drop(columns="education"))
    unknown = customers().assign(
        **{c: "Unknown" for c in BANDS}, region="Unknown", gender="Unknown"
    )
    with pytest.raises(PersonaInputError, match="no demographics"):
        fit_personas(unknown)
