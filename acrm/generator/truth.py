"""The planted truths: measured on the generated data, checked against the plan.

`truth.json` holds the effects the generator planted and the totals of what it wrote. Every
effect is measured here again on the generated tables (not taken on trust from the plan), and
generation fails if the data does not show it: a test that checks the warehouse against
`truth.json` then checks against something that is really in the sources.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from acrm.generator import spec
from acrm.generator.ads import paid_revenue_by_channel
from acrm.generator.web import repeated_purchases
from core.rules import FIRST_YEAR_DAYS, churn_horizon_days


class PlantingError(RuntimeError):
    """The generated data does not show an effect the generator meant to plant."""


def stage_reach(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Deals with the furthest stage position they reached (a skipped stage counts as passed)."""
    return (
        tables["deal_stage_history"]
        .join(tables["deals"].select("deal_id"), on="deal_id")
        .group_by("deal_id")
        .agg(pl.col("manager_id").last(), pl.col("stage_id").max().alias("furthest"))
    )


def conversion_by(reach: pl.DataFrame, stage: str, by: list[str]) -> pl.DataFrame:
    k = spec.STAGES.index(stage) + 1
    return (
        reach.group_by(by)
        .agg(
            (pl.col("furthest") >= k + 1).sum().alias("next"),
            (pl.col("furthest") >= k).sum().alias("reached"),
        )
        .with_columns((pl.col("next") / pl.col("reached")).alias("conversion"))
    )


def measure(
    tables: dict[str, pl.DataFrame],
    calls: pl.DataFrame,
    web: pl.DataFrame,  # flat events (WebEvents.events)
    spend: pl.DataFrame,
) -> dict:
    return {
        **_measure_funnel(tables),
        **_measure_calls(calls),
        **_measure_money(tables, spend),
        "pair_lifts": _pair_lifts(tables),
        "follow_ups": _follow_ups(tables),
        "churn": _measure_churn(tables),
        "first_year_value": _measure_first_year_value(tables),
        "most_engaging_page": _most_engaging_page(web),
        "totals": _totals(tables, calls, web, spend),
    }


def _measure_funnel(tables: dict[str, pl.DataFrame]) -> dict:
    """The weakest and the skipping manager, the leakiest stage, the main loss reason."""
    reach = stage_reach(tables)
    weak = conversion_by(reach, spec.WEAK_STAGE, ["manager_id"]).sort("conversion")
    skipped_k = spec.STAGES.index(spec.SKIPPED_STAGE) + 1
    has_skipped_stage = (
        tables["deal_stage_history"]
        .filter(pl.col("stage_id") == skipped_k)
        .select("deal_id")
        .unique()
        .with_columns(pl.lit(True).alias("visited"))
    )
    skips = (
        reach.filter(pl.col("furthest") > skipped_k)
        .join(has_skipped_stage, on="deal_id", how="left")
        .group_by("manager_id")
        .agg(pl.col("visited").is_null().mean().alias("skip_rate"))
        .sort("skip_rate", descending=True)
    )
    overall = pl.concat(
        [
            conversion_by(reach.with_columns(pl.lit(s).alias("stage")), s, ["stage"])
            for s in spec.OPEN_STAGES
        ]
    ).sort("conversion")
    lost = (
        tables["deals"]
        .filter(pl.col("status") == "lost")
        .join(tables["loss_reasons"], on="loss_reason_id")
        .group_by("name")
        .len()
        .sort("len", descending=True)
    )
    return {
        "weak_manager": (
            int(weak["manager_id"][0]),
            float(weak["conversion"][0]),
            float(weak["conversion"][1:].median()),
        ),
        "skipping_manager": (
            int(skips["manager_id"][0]),
            float(skips["skip_rate"][0]),
            float(skips["skip_rate"][1:].median()),
        ),
        "largest_dropoff_stage": overall["stage"][0],
        "dominant_loss_reason": lost["name"][0],
    }


def _measure_calls(calls: pl.DataFrame) -> dict:
    """Missed calls and rings by manager, the peak hour and the worst-answered hour."""
    whole_calls = call_level(calls)
    hour = pl.col("start").str.slice(11, 2).cast(pl.Int64).alias("hour")
    by_hour = whole_calls.group_by(hour).len().sort("len", descending=True)
    inbound = whole_calls.filter(pl.col("inbound"))
    missed = (
        inbound.group_by(hour)
        .agg((~pl.col("answered")).mean().alias("missed_rate"), pl.len())
        .filter(pl.col("len") >= 0.01 * len(inbound))
        .sort("missed_rate", descending=True)
    )
    missed_by_manager = dict(
        inbound.filter(~pl.col("answered")).group_by("last_manager").len().iter_rows()
    )
    rings = calls.filter(
        (pl.col("dcontext") == "from-trunk") & (pl.col("disposition") != "ANSWERED")
    )
    return {
        "missed_calls_by_manager": missed_by_manager,
        "missed_rings_by_manager": dict(
            rings.group_by(_manager_of("dstchannel")).len().iter_rows()
        ),
        "peak_hour": int(by_hour["hour"][0]),
        "worst_missed_rate_hour": int(missed["hour"][0]),
    }


LINE_REVENUE = pl.col("quantity") * pl.col("unit_price") - pl.col("discount")


def _paid_lines(tables: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    paid = tables["orders"].filter(pl.col("status") == "paid")
    return paid, tables["order_lines"].join(paid.select("order_id"), on="order_id")


def _measure_money(tables: dict[str, pl.DataFrame], spend: pl.DataFrame) -> dict:
    """ROMI by channel and revenue per customer by segment."""
    revenue = paid_revenue_by_channel(tables)
    spend_by_channel = (
        spend.join(tables["campaigns"].select("campaign_id", "channel"), on="campaign_id")
        .group_by("channel")
        .agg(pl.col("spend").sum())
    )
    romi = (
        revenue.join(spend_by_channel, on="channel")
        .with_columns(((pl.col("revenue") - pl.col("spend")) / pl.col("spend")).alias("romi"))
        .sort("romi")
    )
    paid, paid_lines = _paid_lines(tables)
    per_customer = (
        paid_lines.join(paid.select("order_id", "customer_id"), on="order_id")
        .group_by("customer_id")
        .agg(LINE_REVENUE.sum().alias("revenue"))
    )
    clv = (
        tables["customers"]
        .select("customer_id", "segment")
        .join(per_customer, on="customer_id", how="left")
        .group_by("segment")
        .agg(pl.col("revenue").fill_null(0).mean())
        .sort("revenue", descending=True)
    )
    return {
        "romi": dict(romi.select("channel", "romi").iter_rows()),
        "segment_revenue": dict(clv.iter_rows()),
    }


def _most_engaging_page(web: pl.DataFrame) -> str:
    pages = web.filter(pl.col("event_name").is_in(["page_view", "user_engagement"])).select(
        "event_name", "page", "engagement"
    )
    content = (
        pages.group_by("page")
        .agg(
            (pl.col("event_name") == "page_view").sum().alias("views"),
            pl.col("engagement").sum().alias("engagement_msec"),
        )
        .filter(pl.col("views") >= 0.005 * pages.height)
        .with_columns((pl.col("engagement_msec") / pl.col("views")).alias("avg_engagement"))
        .sort("avg_engagement", descending=True)
    )
    return content["page"][0]


CHURN_HORIZON_DAYS = churn_horizon_days()  # as the marts define churn (one definition)
MIN_TO_TELL = 50  # low-CSAT customers needed before the driver is checked, not just measured


def _measure_churn(tables: dict[str, pl.DataFrame]) -> dict:
    """The planted churn driver, measured: among customers who bought at least the horizon
    before the last order, the share with no paid order in the horizon since, for those who
    rated a ticket 1 or 2 (CSAT) and for the others."""
    paid = tables["orders"].filter(pl.col("status") == "paid")
    day = pl.col("ordered_at").str.slice(0, 10).str.to_date()
    end = paid.select(day.max()).item()
    cutoff = end - dt.timedelta(days=CHURN_HORIZON_DAYS)
    buyers = (
        paid.group_by("customer_id")
        .agg(day.min().alias("first"), day.max().alias("last"))
        .filter(pl.col("first") <= cutoff)
    )
    low = (
        tables["survey_responses"]
        .group_by("customer_id")
        .agg((pl.col("csat").min() <= 2).alias("low_csat"))
    )
    rates = (
        buyers.join(low, on="customer_id", how="left")
        .with_columns(pl.col("low_csat").fill_null(False), (pl.col("last") < cutoff).alias("gone"))
        .group_by("low_csat")
        .agg(pl.col("gone").mean().alias("rate"), pl.len().alias("customers"))
    )
    by = {row["low_csat"]: row for row in rates.iter_rows(named=True)}
    return {
        "low_csat_churn_rate": by.get(True, {}).get("rate"),
        "other_churn_rate": by.get(False, {}).get("rate"),
        "low_csat_customers": by.get(True, {}).get("customers", 0),
    }


def _measure_first_year_value(tables: dict[str, pl.DataFrame]) -> dict[str, dict]:
    """By the channel that first brought them (the customer's first UTM medium): buyers, and
    their repeat revenue per month of their first year that the data covers (the history may
    be shorter than a year, so a rate: repeat revenue / months observed)."""
    paid, paid_lines = _paid_lines(tables)
    at = pl.col("ordered_at").str.to_datetime(time_zone="UTC")
    orders = paid.select("order_id", "customer_id", at.alias("at")).join(
        paid_lines.group_by("order_id").agg(LINE_REVENUE.sum().alias("revenue")), on="order_id"
    )
    year, end = dt.timedelta(days=FIRST_YEAR_DAYS), orders["at"].max()
    first = (
        orders.sort("at", "order_id")
        .group_by("customer_id")
        .agg(pl.col("at").first().alias("first"), pl.col("order_id").first().alias("first_order"))
    )
    observed = pl.min_horizontal(pl.lit(end), pl.col("first") + year) - pl.col("first")
    repeat = (
        orders.join(first, on="customer_id")
        .filter(
            (pl.col("order_id") != pl.col("first_order")) & (pl.col("at") < pl.col("first") + year)
        )
        .group_by("customer_id")
        .agg(pl.col("revenue").sum().alias("repeat"))
    )
    medium = {c.medium: c.name for c in spec.CHANNELS}
    value = (
        first.join(repeat, on="customer_id", how="left")
        .join(tables["customers"].select("customer_id", "first_utm_medium"), on="customer_id")
        .with_columns(
            pl.col("first_utm_medium").replace_strict(medium).alias("channel"),
            (observed.dt.total_seconds() / (86400 * FIRST_YEAR_DAYS / 12)).alias("months"),
        )
        .group_by("channel")
        .agg(
            pl.len().alias("customers"),
            (pl.col("repeat").fill_null(0).sum() / pl.col("months").sum()).alias("monthly_repeat"),
        )
    )
    return {row.pop("channel"): row for row in value.sort("channel").iter_rows(named=True)}


def _totals(tables, calls: pl.DataFrame, web: pl.DataFrame, spend: pl.DataFrame) -> dict:
    """What the generated sources hold, as the marts must count it."""
    paid, paid_lines = _paid_lines(tables)
    whole_calls = call_level(calls)
    inbound = whole_calls.filter(pl.col("inbound"))
    return {
        "customers": tables["customers"].height,
        "deals": tables["deals"].height,
        "won_deals": tables["deals"].filter(pl.col("status") == "won").height,
        "lost_deals": tables["deals"].filter(pl.col("status") == "lost").height,
        "orders": paid.height,
        "orders_all": tables["orders"].height,
        "revenue": round(float(paid_lines.select(LINE_REVENUE.sum()).item()), 2),
        "calls": whole_calls.height,
        "call_legs": calls.height,
        "missed_calls": int(len(inbound) - inbound["answered"].sum()),
        "web_events": web.height + repeated_purchases(web).height,
        "web_purchases": web.filter(pl.col("event_name") == "purchase").height,
        "repeated_purchase_events": repeated_purchases(web).height,
        "spend": round(float(spend["spend"].sum()), 2),
    }


def _manager_of(channel: str) -> pl.Expr:
    """The manager whose extension a channel (SIP/101-0000002a) belongs to."""
    extension = pl.col(channel).str.extract(r"^[^/]+/(\d+)", 1).cast(pl.Int64, strict=False)
    return (extension - spec.FIRST_EXTENSION + 1).alias("manager_id")


def call_level(legs: pl.DataFrame) -> pl.DataFrame:
    """One row per call (linkedid): its start, direction, whether any leg was answered, and
    the manager rung last (for a missed call: who missed it)."""
    return (
        legs.with_columns(_manager_of("dstchannel").alias("leg_manager"))
        .sort("linkedid", "sequence")
        .group_by("linkedid", maintain_order=True)
        .agg(
            pl.col("start").min(),
            (pl.col("dcontext").first() == "from-trunk").alias("inbound"),
            (pl.col("disposition") == "ANSWERED").any().alias("answered"),
            pl.col("leg_manager").last().alias("last_manager"),
        )
    )


def _pair_lifts(tables: dict[str, pl.DataFrame]) -> dict[tuple[int, int], float]:
    names = dict(zip(tables["products"]["name"], tables["products"]["product_id"], strict=True))
    baskets = tables["order_lines"].select("order_id", "product_id").unique()
    n_orders = baskets["order_id"].n_unique()
    support = dict(baskets.group_by("product_id").len().iter_rows())
    lifts = {}
    for a_name, b_name in spec.BASKET_PAIRS:
        a, b = names[a_name], names[b_name]
        both = (
            baskets.filter(pl.col("product_id").is_in([a, b]))
            .group_by("order_id")
            .len()
            .filter(pl.col("len") == 2)
            .height
        )
        if support.get(a) and support.get(b):
            lifts[(a, b)] = both * n_orders / (support[a] * support[b])
    return lifts


def _follow_ups(tables: dict[str, pl.DataFrame]) -> list[dict]:
    """Per planted follow-up (X, Y), over paid orders: the share of X's buyers who bought Y
    in a later order than their first X, against the share of everyone else who bought Y."""
    names = dict(zip(tables["products"]["name"], tables["products"]["product_id"], strict=True))
    bought = (
        tables["order_lines"]
        .join(tables["orders"].filter(pl.col("status") == "paid"), on="order_id")
        .group_by("customer_id", "product_id")
        .agg(pl.col("ordered_at").min().alias("first"), pl.col("ordered_at").max().alias("last"))
    )
    customers = tables["customers"].height
    found = []
    for x_name, y_name in spec.FOLLOW_UPS:
        x, y = names[x_name], names[y_name]
        x_buyers = bought.filter(pl.col("product_id") == x).select("customer_id", "first")
        y_buyers = bought.filter(pl.col("product_id") == y).select("customer_id", "last")
        later = x_buyers.join(y_buyers, on="customer_id").filter(pl.col("last") > pl.col("first"))
        others = y_buyers.join(x_buyers, on="customer_id", how="anti").height
        found.append(
            {
                "product_id": x,
                "follow_up_id": y,
                "buyers": x_buyers.height,
                "later_share": later.height / max(x_buyers.height, 1),
                "others_share": others / max(customers - x_buyers.height, 1),
            }
        )
    return found


def check_and_build(
    tables, calls, web, spend, managers_plan: tuple[int, int, int], members=None
) -> dict:
    """Measure every effect, fail if one is not there, and return the truth document.
    `members`: the campaign members with what each would have done anyway (crm.py)."""
    m = measure(tables, calls, web, spend)
    m["campaigns"] = [] if members is None else campaign_truths(tables, members)
    problems = _problems(m, managers_plan)
    if problems:
        raise PlantingError(
            "the generated data does not show these planted effects (is --scale too small? "
            "try 0.05 or more):\n  " + "\n  ".join(problems)
        )
    return _document(m, managers_plan)


PLANTED = {  # what measure() must find, as spec plants it
    "largest_dropoff_stage": spec.STAGES[spec.STAGES.index("Proposal")],
    "dominant_loss_reason": spec.DOMINANT_LOSS_REASON,
    "peak_hour": spec.PEAK_CALL_HOUR,
    "worst_missed_rate_hour": spec.WORST_MISSED_HOUR,
    "most_engaging_page": spec.MOST_ENGAGING_PAGE,
}


def _problems(m: dict, managers_plan: tuple[int, int, int]) -> list[str]:
    """Each planted effect the measured data does not show."""
    weak_id, skip_id, slow_id = managers_plan
    problems = []
    for kind in ("missed_calls_by_manager", "missed_rings_by_manager"):
        counts = m[kind]
        top = sorted(counts.values(), reverse=True)
        if max(counts, key=counts.get) != slow_id or top[0] < 1.5 * top[1]:
            problems.append(f"{kind}: planted manager {slow_id}, measured {counts}")
    if m["weak_manager"][0] != weak_id or m["weak_manager"][1] > 0.7 * m["weak_manager"][2]:
        problems.append(f"weak manager: planted {weak_id}, measured {m['weak_manager']}")
    if m["skipping_manager"][0] != skip_id:
        problems.append(f"skipping manager: planted {skip_id}, measured {m['skipping_manager']}")
    problems += [f"{k}: planted {v!r}, measured {m[k]!r}" for k, v in PLANTED.items() if m[k] != v]
    romi = m["romi"]
    if romi and (
        min(romi, key=romi.get) != spec.NEGATIVE_ROMI_CHANNEL
        or max(romi, key=romi.get) != spec.BEST_ROMI_CHANNEL
        or romi[spec.NEGATIVE_ROMI_CHANNEL] >= 0
    ):
        problems.append(f"romi: measured {romi}")
    segments = m["segment_revenue"]
    if max(segments, key=segments.get) != spec.CLV_TOP_SEGMENT:
        problems.append(f"clv top segment: measured revenue per customer {segments}")
    churn = m["churn"]
    if churn["low_csat_customers"] >= MIN_TO_TELL and not (
        churn["low_csat_churn_rate"] > churn["other_churn_rate"]
    ):
        problems.append(f"churn driver {spec.CHURN_DRIVER}: measured {churn}")
    weak_follow_ups = [
        f
        for f in m["follow_ups"]
        if f["buyers"] >= MIN_TO_TELL and f["later_share"] < 3 * f["others_share"]
    ]
    if weak_follow_ups:
        problems.append(f"follow-ups not bought more by the product's buyers: {weak_follow_ups}")
    problems += _first_year_problems(m["first_year_value"])
    weak_pairs = {p: lift for p, lift in m["pair_lifts"].items() if lift < 3}
    if weak_pairs or len(m["pair_lifts"]) != len(spec.BASKET_PAIRS):
        problems.append(f"basket pairs without high lift: {m['pair_lifts']}")
    return problems


def campaign_truths(tables: dict[str, pl.DataFrame], members: pl.DataFrame) -> list[dict]:
    """Per planted campaign: its members, and its true uplift on the treated, overall and
    per segment: the share who bought in the window only because of it (the members keep
    whether they would have bought anyway)."""
    planted = {name: (kind, window, p) for name, kind, _, window, p in spec.MEMBER_CAMPAIGNS}
    names = dict(tables["campaigns"].select("campaign_id", "name").iter_rows())
    caused = (pl.col("responded") & ~pl.col("bought_anyway")).mean()
    found = []
    for (campaign_id,), rows in members.sort("campaign_id").group_by(
        "campaign_id", maintain_order=True
    ):
        kind, window, response = planted[names[campaign_id]]
        treated = rows.filter(pl.col("group") == "treatment")
        by_segment = treated.group_by("segment").agg(caused.alias("uplift"), pl.len().alias("n"))
        found.append(
            {
                "campaign_id": campaign_id,
                "name": names[campaign_id],
                "type": kind,
                "response_window_days": window,
                "planted_response": response,
                "treated": treated.height,
                "holdout": rows.height - treated.height,
                "true_uplift": treated.select(caused).item(),
                "true_uplift_by_segment": {
                    seg: round(u, 4) for seg, u, _ in by_segment.sort("segment").iter_rows()
                },
            }
        )
    return found


def _first_year_problems(by_channel: dict[str, dict]) -> list[str]:
    """The customers loyal channels brought (dropout factor below 1), pooled, must be worth
    more a month in their first year than those the fickle channels (above 1) brought,
    where both pools have enough customers to tell. Pooled, not channel by channel: at small
    scales one channel's few dozen customers are swayed by a handful of corporate buyers."""
    factor = spec.ACQUISITION_DROPOUT_FACTOR
    pools = {"loyal": [0.0, 0], "fickle": [0.0, 0]}
    for channel, measured in by_channel.items():
        kind = {True: "loyal", False: "fickle"}.get(factor.get(channel, 1.0) < 1.0)
        if factor.get(channel, 1.0) != 1.0:
            pools[kind][0] += measured["monthly_repeat"] * measured["customers"]
            pools[kind][1] += measured["customers"]
    if min(n for _, n in pools.values()) < MIN_TO_TELL:
        return []
    loyal, fickle = (total / n for total, n in pools.values())
    if loyal <= fickle:
        return [f"first-year value by acquisition channel: measured {by_channel}"]
    return []


def _document(m: dict, managers_plan: tuple[int, int, int]) -> dict:
    """truth.json: what was planted, and what measure() found."""
    weak_id, skip_id, slow_id = managers_plan
    return {
        "weak_manager": {"manager_id": weak_id, "stage": spec.WEAK_STAGE},
        "skipping_manager": {"manager_id": skip_id, "stage": spec.SKIPPED_STAGE},
        "romi": {
            "negative_channel": spec.NEGATIVE_ROMI_CHANNEL,
            "best_channel": spec.BEST_ROMI_CHANNEL,
        },
        "funnel": {
            "largest_dropoff_stage": PLANTED["largest_dropoff_stage"],
            "dominant_loss_reason": spec.DOMINANT_LOSS_REASON,
        },
        "calls": {
            "peak_hour": spec.PEAK_CALL_HOUR,
            "worst_missed_rate_hour": spec.WORST_MISSED_HOUR,
            "timezone": spec.CALL_CENTER_TZ,
            "most_missed_manager": slow_id,
            "missed_calls_by_manager": {
                str(k): v for k, v in sorted(m["missed_calls_by_manager"].items())
            },
            "missed_rings_by_manager": {
                str(k): v for k, v in sorted(m["missed_rings_by_manager"].items())
            },
        },
        "basket": {"high_lift_pairs": [list(p) for p in m["pair_lifts"]]},
        "recommend": {
            "follow_up_probability": spec.FOLLOW_UP_PROBABILITY,
            "follow_ups": [
                {k: _rounded(v) if isinstance(v, float) else v for k, v in f.items()}
                for f in m["follow_ups"]
            ],
        },
        "churn": {
            "driver": spec.CHURN_DRIVER,
            "horizon_days": CHURN_HORIZON_DAYS,
            "low_csat_churn_rate": _rounded(m["churn"]["low_csat_churn_rate"]),
            "other_churn_rate": _rounded(m["churn"]["other_churn_rate"]),
            "low_csat_customers": m["churn"]["low_csat_customers"],
        },
        "clv": {"top_segment": spec.CLV_TOP_SEGMENT},
        "campaigns": [
            {**c, "true_uplift": round(c["true_uplift"], 4)} for c in m.get("campaigns", [])
        ],
        "new_customers": {
            "first_year_days": FIRST_YEAR_DAYS,
            "dropout_factor_by_channel": spec.ACQUISITION_DROPOUT_FACTOR,
            "first_year_value_by_channel": {
                c: {"customers": v["customers"], "monthly_repeat": round(v["monthly_repeat"], 2)}
                for c, v in m["first_year_value"].items()
            },
        },
        "personas": {
            "file": "truth_personas.csv",
            "names": [p[0] for p in spec.PERSONAS],
            "traits": "age at sign-up, income band and education (spec.PERSONAS)",
        },
        "content": {"most_engaging_page": spec.MOST_ENGAGING_PAGE},
        "totals": m["totals"],
        "measured": {
            "weak_manager_conversion": round(m["weak_manager"][1], 4),
            "other_managers_median_conversion": round(m["weak_manager"][2], 4),
            "skipping_manager_skip_rate": round(m["skipping_manager"][1], 4),
            "romi_by_channel": {k: round(v, 4) for k, v in sorted(m["romi"].items())},
            "basket_pair_lifts": [round(v, 2) for v in m["pair_lifts"].values()],
        },
        "definitions": DEFINITIONS,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


DEFINITIONS = {
    "stage_conversion": "deals whose furthest stage is at or past stage k+1 / deals at or past "
    "stage k (a skipped stage counts as passed)",
    "weak_manager": "the manager whose conversion out of `stage` is lowest, far below the rest",
    "skipping_manager": "the manager who most often passes `stage` without a history row for it",
    "largest_dropoff_stage": "the open stage with the lowest stage conversion",
    "dominant_loss_reason": "the most frequent loss reason over all lost deals",
    "romi": "(revenue of paid orders whose campaign belongs to the channel - spend) / spend",
    "peak_hour": "local hour (call-center time zone) with the most calls",
    "worst_missed_rate_hour": "local hour with the highest share of inbound calls not answered",
    "high_lift_pairs": "product id pairs bought together far more often than chance (lift > 3)",
    "recommend.follow_ups": "product_id's buyers add follow_up_id to a later order "
    "(follow_up_probability per order until bought); later_share: of the product's buyers, "
    "those who bought the follow-up after their first purchase of the product; others_share: "
    "of every other customer, those who bought the follow-up",
    "churn.driver": "the feature that drives dropout: low CSAT after a bad service experience",
    "clv.top_segment": "customer segment with the highest value per customer",
    "campaigns": "CRM campaigns sent to existing customers, each split at random into "
    "treatment and holdout; planted_response: chance a treated customer of the segment "
    "places an extra paid order in the response window because of it; true_uplift: among "
    "the treated, the share who bought in the window only because of the campaign",
    "new_customers.first_year_value_by_channel": "by the customer's first UTM medium's "
    "channel: buyers, and their repeat revenue (paid orders after the first, within "
    "first_year_days of it) per month of that first year the history covers",
    "new_customers.dropout_factor_by_channel": "planted: the chance of dropping out after a "
    "purchase is multiplied by this for customers the channel first brought (1 if not named)",
    "most_engaging_page": "page path with the highest engagement time per page view",
    "revenue": "sum of quantity * unit_price - discount over lines of orders with status paid",
    "orders": "orders with status paid; orders_all counts every order",
    "web_events": "lines of the GA4 export, repeated purchase events included",
    "web_purchases": "purchases: one per transaction_id, however often GA4 sent the event",
    "calls": "calls (a linkedid, one or more CDR legs), inbound and outbound",
    "call_legs": "CDR lines: one per leg (a queue call rings several managers)",
    "most_missed_manager": "manager with the most missed inbound calls (a call no leg answered, "
    "counted for the manager rung last) and the most missed rings (an unanswered leg that rang "
    "the manager's extension)",
}
