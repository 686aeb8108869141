# ruff: noqa: N803, N806  (x, t_x, T: the BG/NBD literature's names, kept so the formulas read as published)
"""Customer lifetime value: BG/NBD for repeat purchases, Gamma-Gamma for spend per purchase.

Fitted by maximum likelihood with scipy, following Fader, Hardie & Lee (2005), "Counting
your customers the easy way: an alternative to the Pareto/NBD model", Marketing Science
24(2), and Fader & Hardie (2013), "The Gamma-Gamma model of monetary value". The tests
check the fits against the parameters those papers publish for the CDNOW sample.

Repeat purchases are distinct purchase days after the first one (as in the literature):
several orders on one day are one purchase whose value is their sum.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}


class ClvInputError(ValueError):
    """The transactions cannot be summarised: a named column or value is wrong."""


def summarise(
    transactions: pd.DataFrame,
    customer: str,
    date: str,
    amount: str | None,
    observation_end: dt.date,
    time_unit: str = "week",
) -> pd.DataFrame:
    """Per customer: frequency x (repeat purchase days), recency t_x and age T in time
    units, and the mean value of the repeat purchases (monetary, 0 without repeats)."""
    if time_unit not in UNIT_DAYS:
        raise ClvInputError(f"time unit {time_unit!r}: choose one of {', '.join(UNIT_DAYS)}")
    for column in (customer, date, amount):
        if column is not None and column not in transactions.columns:
            raise ClvInputError(
                f"column {column!r} not found; the columns are: {', '.join(transactions.columns)}"
            )
    frame = pd.DataFrame({"customer": transactions[customer]})
    frame["day"] = pd.to_datetime(transactions[date], errors="coerce").dt.normalize()
    bad = frame["day"].isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ClvInputError(
            f"column {date!r}, row {row + 1}: {transactions[date].iloc[row]!r} is not a date"
        )
    frame["amount"] = (
        pd.to_numeric(transactions[amount], errors="coerce") if amount is not None else 0.0
    )
    if amount is not None and frame["amount"].isna().any():
        row = int(np.flatnonzero(frame["amount"].isna().to_numpy())[0])
        raise ClvInputError(
            f"column {amount!r}, row {row + 1}: {transactions[amount].iloc[row]!r} is not a number"
        )
    end = pd.Timestamp(observation_end)
    frame = frame[frame["day"] <= end]
    days = frame.groupby(["customer", "day"], as_index=False)["amount"].sum()
    days = days.sort_values(["customer", "day"])
    first = days.groupby("customer")["day"].transform("min")
    days["repeat"] = days["day"] > first
    unit = pd.Timedelta(days=UNIT_DAYS[time_unit])
    summary = days.groupby("customer").agg(
        first=("day", "min"), last=("day", "max"), purchase_days=("day", "size")
    )
    repeats = days[days["repeat"]].groupby("customer")["amount"].mean()
    summary["frequency"] = summary["purchase_days"] - 1
    summary["recency"] = (summary["last"] - summary["first"]) / unit
    summary["T"] = (end - summary["first"]) / unit
    summary["monetary"] = repeats.reindex(summary.index).fillna(0.0)
    return summary[["frequency", "recency", "T", "monetary"]].reset_index()


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float

    def probability_alive(self, x, t_x, T) -> np.ndarray:
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        ratio = np.exp((self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))
        odds = np.where(x > 0, self.a / (self.b + np.maximum(x, 1) - 1) * ratio, 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """Expected repeat purchases in the next t units for a customer with (x, t_x, T)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        head = (a + b + x - 1) / (a - 1)
        z = t / (alpha + T + t)
        tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        ratio = ((alpha + T) / (alpha + t_x)) ** (r + x)
        odds = np.where(x > 0, a / (b + np.maximum(x, 1) - 1) * ratio, 0.0)
        return head * tail / (1 + odds)


def bgnbd_log_likelihood(params, x, t_x, T) -> np.ndarray:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return a1 + a2 + np.logaddexp(a3, a4)


LOG_BOUND = 14.0  # parameters stay within exp(+-14): beyond, the likelihood is flat and
# gammaln loses precision, so an optimiser can walk off to a spurious "better" optimum


def _fit(negative_ll, starts: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """Minimise over log-parameters (all are positive) from each start, within bounds, and
    keep the best: one start can stall on flat likelihoods. L-BFGS-B first (a few hundred
    evaluations); Nelder-Mead from where it stopped only when it did not converge (it needs
    thousands, which at 200,000 customers are minutes)."""
    best_x, best_fun = None, np.inf
    # the objective is divided by its size at the first start, so the tolerances are
    # relative: a sum over customers grows with them
    first = float(negative_ll(starts[0]))
    size = max(abs(first), 1.0) if np.isfinite(first) else 1.0

    def objective(p):
        return negative_ll(np.exp(p)) / size

    for start in starts:
        bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
        results = [
            minimize(
                objective,
                np.log(start),
                method="L-BFGS-B",
                bounds=bounds,
                options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000},
            )
        ]
        if not results[0].success:
            results.append(
                minimize(
                    objective,
                    results[0].x,
                    method="Nelder-Mead",
                    bounds=bounds,
                    options={"maxiter": 5000, "xatol": 1e-8, "fatol": 1e-12},
                )
            )
        for result in results:
            if np.isfinite(result.fun) and result.fun < best_fun:
                best_x, best_fun = result.x, float(result.fun)
    if best_x is None:
        raise ClvInputError("the likelihood could not be evaluated: check for empty or zero values")
    return np.exp(best_x), -best_fun * size


def fit_bgnbd(x, t_x, T) -> BgNbd:
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if len(x) == 0:
        raise ClvInputError("no customers to fit: the transactions are empty before the end")
    starts = [np.ones(4), np.array([1.0, max(float(T.mean()), 1.0), 1.0, 3.0])]
    params, ll = _fit(lambda p: -bgnbd_log_likelihood(p, x, t_x, T).sum(), starts)
    return BgNbd(*map(float, params), log_likelihood=ll)


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    log_likelihood: float
    # The mean spend of a purchase, p * gamma / (q - 1). When the fit runs to q = 1 (spend
    # too heavy-tailed for the model) that is unbounded: the observed mean of repeat
    # purchases stands in, and q_at_bound says so.
    population_mean: float = 0.0
    q_at_bound: bool = False

    def expected_spend(self, x, monetary) -> np.ndarray:
        """E[value of a purchase | x repeat purchases with mean value monetary]; customers
        without repeats get the population mean."""
        x, m = np.asarray(x, dtype=float), np.asarray(monetary, dtype=float)
        population = self.population_mean
        individual = self.p * (self.gamma + x * m) / (self.p * x + self.q - 1)
        return np.where(x > 0, individual, population)


def gamma_gamma_log_likelihood(params, x, m) -> np.ndarray:
    p, q, gamma = params
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(gamma)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(gamma + m * x)
    )


def fit_gamma_gamma(x, monetary) -> GammaGamma:
    """Fit on customers with at least one repeat purchase and a positive mean value."""
    x, m = np.asarray(x, dtype=float), np.asarray(monetary, dtype=float)
    keep = (x > 0) & (m > 0)
    if keep.sum() < 3:
        raise ClvInputError("Gamma-Gamma needs at least 3 customers with repeat purchases")
    x, m = x[keep], m[keep]
    scale = float(m.mean())  # fit in units of the mean spend: gamma is a money scale
    units = m / scale

    def negative_ll(params: np.ndarray) -> float:
        p, q_above_one, gamma = params  # q > 1, or the mean spend is infinite
        return -gamma_gamma_log_likelihood((p, 1 + q_above_one, gamma), x, units).sum()

    params, ll = _fit(negative_ll, [np.ones(3), np.array([2.0, 2.0, 2.0])])
    p, q_above_one, gamma = map(float, params)
    gamma *= scale
    ll = float(ll - len(m) * np.log(scale))  # the likelihood of the spend in its own units
    at_bound = q_above_one < 1e-3
    mean = float((x * m).sum() / x.sum()) if at_bound else p * gamma / q_above_one
    return GammaGamma(p, 1 + q_above_one, gamma, ll, population_mean=mean, q_at_bound=at_bound)


@dataclass(frozen=True)
class ClvResult:
    bgnbd: BgNbd
    gamma_gamma: GammaGamma
    customers: pd.DataFrame  # customer, frequency, recency, T, monetary, p_alive, ...

    def parameters(self) -> dict:
        return {
            "bgnbd": asdict(self.bgnbd),
            "gamma_gamma": asdict(self.gamma_gamma),
        }


def customer_lifetime_value(
    summary: pd.DataFrame,
    horizon: float,
    time_unit: str = "week",
    discount_rate: float = 0.0,
    margin: float = 1.0,
) -> ClvResult:
    """Fit both models on a summary (see `summarise`) and value each customer over the
    next `horizon` time units: expected purchases x expected spend x margin, discounted per
    month at `discount_rate` (a monthly rate)."""
    bgnbd = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    gg = fit_gamma_gamma(summary["frequency"], summary["monetary"])
    x, t_x, T = summary["frequency"], summary["recency"], summary["T"]
    out = summary.copy()
    out["p_alive"] = bgnbd.probability_alive(x, t_x, T)
    out["expected_purchases"] = bgnbd.expected_purchases(horizon, x, t_x, T)
    out["expected_spend"] = gg.expected_spend(x, summary["monetary"])
    months_per_unit = UNIT_DAYS[time_unit] / UNIT_DAYS["month"]
    steps = max(1, int(np.ceil(horizon * months_per_unit)))
    value = np.zeros(len(out))
    previous = np.zeros(len(out))
    for step in range(1, steps + 1):  # purchases month by month, each month discounted
        until = min(horizon, step / months_per_unit)
        cumulative = bgnbd.expected_purchases(until, x, t_x, T)
        value += (cumulative - previous) / (1 + discount_rate) ** step
        previous = cumulative
    out["clv"] = value * out["expected_spend"] * margin
    return ClvResult(bgnbd, gg, out)
