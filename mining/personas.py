"""Personas: latent classes of customers over their demographics, named by the traits that
set each apart, and profiled by how they buy.

Demographics are categorical (age band, income band, education, region, gender), so the
model is a latent class model (a mixture of categorical distributions, the categorical
counterpart of a Gaussian mixture), fitted by EM with StepMix on a sample of at most
5,000 customers. The number of classes is the one with the lowest BIC among `sizes`.
Each customer gets the most probable class, its posterior probability and a distance to
it: -log(posterior), 0 for a sure member.

Classes are numbered by size (largest first), so the same data and seed give the same
persona names. A persona is named by up to three traits with the highest lift (share in
the persona / share overall) among the traits at least 40 % of its members share and
that are at least 1.2 times as common among them as overall.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

TRAITS = {
    "age_band": "age {}",
    "income_band": "income {}",
    "education": "{} education",
    "region": "{}",
    "gender": "{}",
}
MIN_SHARE = 0.4  # a trait names a persona only if this share of its members has it
MIN_LIFT = 1.2  # and it is this much more common among them than overall


class PersonaInputError(ValueError):
    """The customers or a parameter cannot be used; the message names which."""


@dataclass(frozen=True)
class Personas:
    labels: np.ndarray  # persona number per customer, 0 = the largest
    probability: np.ndarray  # posterior probability of that persona
    names: list[str]  # by persona number
    bic: dict[int, float]  # by number of classes tried

    @property
    def distance(self) -> np.ndarray:
        return -np.log(np.clip(self.probability, 1e-300, 1.0))


def _fit(codes: pd.DataFrame, k: int, seed: int):
    from stepmix.stepmix import StepMix

    model = StepMix(
        n_components=k,
        measurement="categorical",
        n_init=3,
        abs_tol=1e-6,
        rel_tol=1e-6,
        random_state=seed,
        verbose=0,
        progress_bar=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a start that did not converge is one of three
        model.fit(codes)
    return model


FIT_SAMPLE = 5000  # customers the classes are fitted on; every customer is then assigned


def fit_personas(customers: pd.DataFrame, sizes=range(2, 8), seed: int = 42) -> Personas:
    """Latent classes over the TRAITS columns of `customers`, the size chosen by BIC on a
    sample of at most FIT_SAMPLE customers, then every customer assigned."""
    missing = [c for c in TRAITS if c not in customers.columns]
    if missing:
        raise PersonaInputError(f"customer columns missing: {', '.join(missing)}")
    sizes = [k for k in sizes if k < len(customers)]
    if len(customers) < 50 or not sizes:
        raise PersonaInputError(f"{len(customers)} customers: personas need at least 50")
    known = [c for c in TRAITS if customers[c].astype(str).nunique() > 1]
    if not known:
        raise PersonaInputError(
            "every customer has the same age band, income, education, region and gender: "
            "the CRM records no demographics to find personas in"
        )
    codes = pd.DataFrame({c: pd.factorize(customers[c].astype(str))[0] for c in TRAITS})
    sample = codes.sample(min(len(codes), FIT_SAMPLE), random_state=seed)
    fitted = {k: _fit(sample, k, seed) for k in sizes}
    bic = {k: float(m.bic(sample)) for k, m in fitted.items()}
    best = fitted[min(bic, key=bic.get)]
    posterior = best.predict_proba(codes)
    raw = posterior.argmax(axis=1)
    order = np.argsort(-np.bincount(raw, minlength=posterior.shape[1]), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    labels = rank[raw]
    names = name_personas(customers, labels)
    return Personas(labels, posterior.max(axis=1), names, bic)


def name_personas(customers: pd.DataFrame, labels: np.ndarray) -> list[str]:
    """Per persona, its most distinctive shared traits, e.g. "age 18-24, income <30k"."""
    names = []
    for persona in range(labels.max() + 1):
        mine = customers[labels == persona]
        traits = []
        for column, template in TRAITS.items():
            share = mine[column].astype(str).value_counts(normalize=True)
            overall = customers[column].astype(str).value_counts(normalize=True)
            for value, s in share[share >= MIN_SHARE].items():
                if s / overall[value] >= MIN_LIFT:
                    traits.append((s / overall[value], template.format(value)))
        traits.sort(key=lambda t: -t[0])
        name = ", ".join(t for _, t in traits[:3]) or f"persona {persona + 1}"
        names.append(name if name not in names else f"{name} ({persona + 1})")
    return names


def profile(customers: pd.DataFrame, labels: np.ndarray, names: list[str], behaviour: list[str]):
    """Per persona: customers, share, and the mean of each behaviour column."""
    frame = customers[behaviour].assign(persona=[names[k] for k in labels])
    table = frame.groupby("persona", sort=False).mean()
    table.insert(0, "customers", frame.groupby("persona", sort=False).size())
    table.insert(1, "share", table["customers"] / len(frame))
    return table.reset_index()
