"""Ad platforms: daily spend, impressions and clicks per campaign, one CSV per platform and day.

Spend is set so that each paid channel's ROMI under order-channel attribution equals the
planted target; daily spend follows the sessions each campaign brought.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from acrm.generator import spec
from acrm.generator.calendar import Window
from core.formats import AD_SPEND_SCHEMA

CTR = {"Paid Search": 0.045, "Paid Social": 0.009, "Display": 0.003, "Email": 0.12}


def paid_revenue_by_channel(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Revenue of paid orders by the channel of the order's campaign (order attribution)."""
    lines = (
        tables["order_lines"]
        .group_by("order_id")
        .agg(
            (pl.col("quantity") * pl.col("unit_price") - pl.col("discount")).sum().alias("revenue")
        )
    )
    return (
        tables["orders"]
        .filter(pl.col("status") == "paid")
        .join(lines, on="order_id")
        .join(tables["campaigns"].select("campaign_id", "channel"), on="campaign_id")
        .group_by("channel")
        .agg(pl.col("revenue").sum())
    )


def build_ad_spend(
    rng: np.random.Generator,
    window: Window,
    tables: dict[str, pl.DataFrame],
    web_events: pl.DataFrame,  # flat events (WebEvents.events)
) -> pl.DataFrame:
    campaigns = tables["campaigns"]
    revenue = dict(paid_revenue_by_channel(tables).iter_rows())
    sessions = (
        web_events.filter(pl.col("event_name") == "session_start")
        .select("day", "campaign_id")
        .drop_nulls()
        .group_by("day", "campaign_id")
        .agg(pl.len().alias("sessions"))
    )
    session_of = {(d, c): s for d, c, s in sessions.iter_rows()}
    rows = []
    for channel in (c for c in spec.CHANNELS if c.target_romi is not None):
        mine = campaigns.filter(
            (pl.col("channel") == channel.name) & pl.col("platform").is_in(list(spec.PLATFORMS))
        )
        cells = _campaign_days(mine, window, session_of)
        if cells:
            rows += _spend_rows(rng, window, channel, cells, revenue.get(channel.name, 0.0))
    spend = pl.DataFrame(
        rows,
        orient="row",
        schema={**AD_SPEND_SCHEMA, "campaign_id": pl.Int64(), "day": pl.Int64()},
    ).sort("day", "platform", "campaign_id")
    # Meta reports dollars to the cent: the roubles they convert back to are what is spent
    in_usd = (pl.col("spend") / spec.META_RATE).round(2) * spec.META_RATE
    meta = pl.col("platform") == "meta_ads"
    return spend.with_columns(pl.when(meta).then(in_usd).otherwise(pl.col("spend")).alias("spend"))


def _campaign_days(campaigns: pl.DataFrame, window: Window, session_of: dict) -> list[tuple]:
    """(campaign row, day, weight) of each day a campaign ran: its sessions, and a half."""
    cells = []
    for camp in campaigns.iter_rows(named=True):
        start = (np.datetime64(camp["started_on"]) - np.datetime64(window.start)).astype(int)
        end = (np.datetime64(camp["ended_on"]) - np.datetime64(window.start)).astype(int)
        for day in range(int(start), int(end) + 1):
            cells.append((camp, day, session_of.get((day, camp["campaign_id"]), 0) + 0.5))
    return cells


def _spend_rows(rng, window: Window, channel, cells: list[tuple], revenue: float) -> list[tuple]:
    """A channel's spend, spread over its campaign days by weight, so that its ROMI is the
    planted one; clicks and impressions drawn around the sessions."""
    total_weight = sum(w for _, _, w in cells)
    spend_total = revenue / (1.0 + channel.target_romi) if revenue else 200.0 * total_weight
    rows = []
    for camp, day, weight in cells:
        spend = round(spend_total * weight / total_weight, 2)
        clicks = int(np.ceil((weight - 0.5) * rng.uniform(1.1, 1.35))) + int(rng.integers(0, 3))
        impressions = int(clicks / CTR[channel.name] * rng.uniform(0.8, 1.2)) + 10
        rows.append(
            (
                (window.start + dt.timedelta(days=day)).isoformat(),
                camp["platform"],
                f"{camp['platform']}-{1000 + camp['campaign_id']}",
                camp["campaign_id"],
                camp["name"],
                camp["utm_campaign"],
                impressions,
                clicks,
                spend,
                "RUB",
                day,
            )
        )
    return rows
