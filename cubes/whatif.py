"""What-if: what a change would bring, projected from the published marts, with the
assumptions stated in every answer.

Funnel: a manager's conversion out of one stage raised (or lowered) to a target. The
extra deals that would pass the stage follow the manager's own later steps: the share of
their deals past the stage that were won, at the manager's average won amount. Stage
conversion is rpt_manager_stage_conversion's (docs/reference.md), so the actual matches
the cube and the report.

Budget: a share of one channel's ad spend moved to another. `linear` keeps each channel's
revenue per unit spent (so ROMI stays as today's). `saturating` fits a diminishing-returns
curve, revenue = a (1 - exp(-spend / b)), per channel to weekly spend against the revenue
attributed to it (last touch), and projects each week at its new spend; parameter draws
from the fit's covariance give an 80 % interval.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from cubes.access import AccessError

MODELS = ("linear", "saturating")
# the cube's facts each what-if reads: a policy on another dimension must open them all
FUNNEL_FACTS = ("deals", "deal_stages")
BUDGET_FACTS = ("spend", "attributed_revenue")
DRAWS = 500  # parameter draws for the saturating projection's interval


class WhatIfError(ValueError):
    """A what-if parameter cannot be used; the message names which and what is valid."""


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    return con.execute(sql, params or []).fetchall()[0]


def find_manager(
    con: duckdb.DuckDBPyConnection, manager: str, allowed: set | None = None
) -> tuple[int, str]:
    """A manager by key or by name, as dim_managers holds them; among `allowed` keys only
    when the user's access policy limits the managers (AccessError otherwise)."""
    rows = con.execute(
        "select manager_key, manager_name from marts.dim_managers where manager_key <> -1 "
        "order by manager_key"
    ).fetchall()
    rows = [r for r in rows if allowed is None or r[0] in allowed]
    for key, name in rows:
        if manager.strip() in (str(key), name):
            return key, name
    known = ", ".join(f"{k} ({n})" for k, n in rows[:20])
    if allowed is not None:
        raise AccessError(f"manager {manager!r} is not one your access allows: {known}")
    raise WhatIfError(f"manager {manager!r} does not exist; the managers are: {known}")


def find_stage(con: duckdb.DuckDBPyConnection, stage: str) -> tuple[int, str]:
    rows = con.execute(
        "select stage_key, stage_name from marts.dim_funnel_stages where is_open_stage "
        "order by stage_position"
    ).fetchall()
    for key, name in rows:
        if stage.strip().lower() in (str(key), name.lower()):
            return key, name
    raise WhatIfError(
        f"stage {stage!r} is not an open funnel stage; the stages are: "
        + ", ".join(n for _, n in rows)
    )


def funnel(
    con: duckdb.DuckDBPyConnection,
    manager: str,
    stage: str,
    conversion: float | None = None,
    to_peers: bool = False,
    allowed: set | None = None,
) -> dict:
    """Extra won deals and revenue per month if the manager's conversion out of the stage
    were `conversion` (or the other managers', `to_peers`), beside the actual. `allowed`:
    the manager keys a user's access policy allows; peers and fallbacks come from them."""
    if (conversion is None) == (not to_peers):
        raise WhatIfError("give either --conversion (a share in (0, 1]) or --to peers")
    if conversion is not None and not 0 < conversion <= 1:
        raise WhatIfError(f"--conversion {conversion}: give a share in (0, 1], e.g. 0.75")
    manager_key, manager_name = find_manager(con, manager, allowed)
    stage_key, stage_name = find_stage(con, stage)
    found = con.execute(
        "select deals_reached, deals_advanced, conversion, peer_conversion "
        "from marts.rpt_manager_stage_conversion where manager_key = ? and stage_key = ?",
        [manager_key, stage_key],
    ).fetchall()
    if not found:
        raise WhatIfError(f"{manager_name} has no deal that reached {stage_name}")
    reached, advanced, actual, peers = found[0]
    if allowed is not None:  # the peers the user may see, pooled as the mart pools all
        peers = _one(
            con,
            "select sum(deals_advanced) / nullif(sum(deals_reached), 0) "
            "from marts.rpt_manager_stage_conversion where stage_key = ? and manager_key <> ? "
            "and list_contains(?, manager_key)",
            [stage_key, manager_key, sorted(allowed)],
        )[0]
    actual, peers = float(actual), None if peers is None else float(peers)
    target = peers if to_peers else conversion
    if target is None:
        raise WhatIfError(f"no other manager has deals at {stage_name} to compare with")
    history = _manager_history(con, manager_key, stage_key, allowed)
    extra_advanced = reached * (target - actual)
    extra_won = extra_advanced * history.win_after_stage
    months = history.months
    return {
        "manager": manager_name,
        "stage": stage_name,
        "conversion": actual,
        "target_conversion": target,
        "deals_reached": reached,
        "months": months,
        "actual_won_deals_per_month": history.won / months,
        "actual_won_revenue_per_month": history.won_amount / months,
        "extra_won_deals_per_month": extra_won / months,
        "extra_revenue_per_month": extra_won * history.average_won / months,
        "assumptions": [
            f"{reached} of {manager_name}'s deals reached {stage_name} over {months} months; "
            f"{advanced} moved on ({actual:.1%}); at {target:.1%}, "
            f"{extra_advanced:+.1f} more would have",
            f"the extra deals win as {manager_name}'s deals past {stage_name} did: "
            f"{history.win_after_stage:.1%} ({history.win_source})",
            f"at {manager_name}'s average won amount, {history.average_won:,.0f} "
            f"({history.amount_source})",
            "spread evenly over the months of the manager's deals",
        ],
    }


@dataclass(frozen=True)
class _History:
    months: int
    won: int
    won_amount: float
    win_after_stage: float
    win_source: str
    average_won: float
    amount_source: str


def _manager_history(con, manager_key: int, stage_key: int, allowed: set | None) -> _History:
    months, won, won_amount = _one(
        con,
        "select greatest(1, datediff('month', min(created_at), max(created_at)) + 1), "
        "count(*) filter (where is_won), coalesce(sum(won_amount), 0) "
        "from marts.fct_deals where manager_key = ?",
        [manager_key],
    )
    past = (
        "select avg(case when d.is_won then 1.0 else 0.0 end) from "
        "marts.fct_deal_stage_transitions as t join marts.fct_deals as d using (deal_id) "
        "where t.stage_key = ? and t.is_advanced and not d.is_open"
    )
    scope, among = ("", []) if allowed is None else (" and list_contains(?, {}.manager_key)",
                                                     [sorted(allowed)])  # fmt: skip
    win, source = _one(con, past + " and t.manager_key = ?", [stage_key, manager_key])[0], "own"
    if win is None:
        win = _one(con, past + scope.format("t"), [stage_key, *among])[0]
        source = f"{'every' if allowed is None else 'your'} manager's: the manager has none"
    amount = "select avg(won_amount) from marts.fct_deals where is_won"
    average, amount_source = _one(con, amount + " and manager_key = ?", [manager_key])[0], "own"
    if average is None:
        average = _one(con, amount + scope.format("fct_deals"), among)[0]
        amount_source = f"{'every' if allowed is None else 'your'} manager's: the manager won none"
    return _History(
        int(months), int(won), float(won_amount), float(win or 0.0), source,
        float(average or 0.0), amount_source,
    )  # fmt: skip


# Weekly sums rounded to a millionth: a sum of doubles differs in its last bits with the
# order it is added in (threads, another engine), and the saturating fit would carry that
# into its sixth digit; rounded, the same data gives the same fit everywhere.
WEEKLY_SQL = """
with spend as (
    select c.channel, d.date_day, s.spend
    from marts.fct_marketing_spend as s
    join marts.dim_channels as c using (channel_key)
    join marts.dim_dates as d on s.spend_date_key = d.date_key
    where {allowed}
),
revenue as (
    select c.channel, d.date_day, r.attributed_revenue as revenue
    from marts.fct_attributed_revenue as r
    join marts.dim_channels as c using (channel_key)
    join marts.dim_dates as d on r.order_date_key = d.date_key
    where r.attribution_model = 'last_touch' and {allowed}
),
weeks as (
    select channel, cast(date_trunc('week', date_day) as date) as week, sum(spend) as spend,
        0.0 as revenue from spend group by 1, 2
    union all
    select channel, cast(date_trunc('week', date_day) as date), 0.0, sum(revenue)
    from revenue group by 1, 2
)
select channel, week, cast(cast(sum(spend) as decimal(38, 6)) as double) as spend,
    cast(cast(sum(revenue) as decimal(38, 6)) as double) as revenue
from weeks where channel in (select distinct channel from spend)
group by 1, 2 order by 1, 2
"""


def budget(
    con: duckdb.DuckDBPyConnection,
    move: float,
    source: str,
    target: str,
    model: str,
    allowed: set | None = None,
) -> dict:
    """Projected attributed revenue and ROMI per channel with `move` (a share) of the
    source channel's spend moved to the target channel; `allowed`: the channel keys an
    access policy allows (spend and revenue of those only), None for all."""
    if model not in MODELS:
        raise WhatIfError(f"--model {model!r}: choose {' or '.join(MODELS)}")
    if not 0 < move <= 1:
        raise WhatIfError(
            f"--move {move:.0%}: move more than 0% and at most 100% of a channel's budget"
        )
    weeks = _weekly(con, allowed)
    channels = sorted(weeks["channel"].unique())
    for name, flag in ((source, "--from"), (target, "--to")):
        if name not in channels:
            raise WhatIfError(f"{flag} {name!r}: no ad spend; the channels with spend are: "
                              + ", ".join(channels))  # fmt: skip
    if source == target:
        raise WhatIfError("--from and --to name the same channel")
    totals = weeks.groupby("channel")[["spend", "revenue"]].sum()
    moved = float(totals.loc[source, "spend"]) * move
    scale = {source: 1 - move, target: 1 + moved / float(totals.loc[target, "spend"])}
    project = _linear if model == "linear" else _saturating
    rows = [project(channel, weeks[weeks["channel"] == channel], scale.get(channel, 1.0))
            for channel in channels]  # fmt: skip
    table = pd.DataFrame(rows)
    table["romi"] = (table["revenue"] - table["spend"]) / table["spend"]
    table["projected_romi"] = (table["projected_revenue"] - table["projected_spend"]) / table[
        "projected_spend"
    ]
    return {
        "model": model,
        "moved_spend": moved,
        # against the model's own revenue at today's spend, so a fit's error is not a change
        "revenue_change": float((table["projected_revenue"] - table["fitted_revenue"]).sum()),
        "channels": table.to_dict("records"),
        "assumptions": _budget_assumptions(model, move, source, target),
    }


def _weekly(con: duckdb.DuckDBPyConnection, allowed: set | None) -> pd.DataFrame:
    """Spend and last-touch revenue per channel and week, of the allowed channel keys."""
    if allowed is None:
        return con.execute(WEEKLY_SQL.format(allowed="true")).df()
    limited = WEEKLY_SQL.format(allowed="list_contains($keys, c.channel_key)")
    return con.execute(limited, {"keys": sorted(allowed)}).df()


def _budget_assumptions(model: str, move: float, source: str, target: str) -> list[str]:
    said = [
        f"{move:.0%} of {source}'s spend moves to {target}, week by week in proportion",
        "revenue is what last-touch attribution credits to the channel (rpt_marketing_romi)",
    ]
    if model == "linear":
        said.append("each channel keeps today's revenue per unit spent: ROMI does not change")
    else:
        said.append(
            "revenue per week = a (1 - exp(-spend / b)) per channel, fitted by least squares; "
            "the interval is the 10th to 90th percentile over parameter draws from the fit"
        )
    return said


def _linear(channel: str, weeks: pd.DataFrame, scale: float) -> dict:
    spend, revenue = float(weeks["spend"].sum()), float(weeks["revenue"].sum())
    return {"channel": channel, "spend": spend, "revenue": revenue, "fitted_revenue": revenue,
            "projected_spend": spend * scale, "projected_revenue": revenue * scale}  # fmt: skip


def _saturating(channel: str, weeks: pd.DataFrame, scale: float) -> dict:
    from scipy.optimize import OptimizeWarning, curve_fit

    x, y = weeks["spend"].to_numpy(float), weeks["revenue"].to_numpy(float)
    row = _linear(channel, weeks, scale)
    start = [max(y.max(), 1.0) * 2, max(x.mean(), 1.0)]
    if len(x) < 4:
        raise WhatIfError(f"{channel}: {len(x)} weeks of spend, too few to fit a curve")
    with warnings.catch_warnings():
        # a flat fit has no covariance (inf): the interval is then the point, as drawn below
        warnings.simplefilter("ignore", OptimizeWarning)
        try:
            bounds = ([0, 1e-9], [np.inf, np.inf])
            (a, b), cov = curve_fit(_curve, x, y, p0=start, bounds=bounds)
        except (RuntimeError, ValueError) as exc:
            raise WhatIfError(f"{channel}: the saturating curve did not fit ({exc})") from None
    fitted = _curve(x, a, b)
    r2 = 1 - ((y - fitted) ** 2).sum() / max(((y - y.mean()) ** 2).sum(), 1e-12)
    with warnings.catch_warnings():  # a covariance a hair from positive semi-definite
        warnings.simplefilter("ignore", RuntimeWarning)
        rng = np.random.default_rng(0)
        draws = rng.multivariate_normal([a, b], np.nan_to_num(cov, posinf=0.0), DRAWS)
    draws = draws[(draws > 0).all(axis=1)]
    projected = [_curve(x * scale, *p).sum() for p in draws] or [_curve(x * scale, a, b).sum()]
    return row | {
        "fitted_revenue": float(fitted.sum()),
        "projected_revenue": float(_curve(x * scale, a, b).sum()),
        "projected_revenue_low": float(np.percentile(projected, 10)),
        "projected_revenue_high": float(np.percentile(projected, 90)),
        "fit_saturation_per_week": float(a),
        "fit_half_effect_spend": float(b * np.log(2)),
        "fit_r2": float(r2),
        "weeks": len(x),
    }


def _curve(spend: np.ndarray, a: float, b: float) -> np.ndarray:
    return a * (1 - np.exp(-spend / b))
