"""The operational CRM: customers, managers, deals through the funnel, orders, service.

Customers follow a BG/NBD-like process: opportunities arrive as a Poisson process while the
customer is alive, and after each purchase the customer drops out with a probability that
the planted churn driver (bad service experience, seen as low CSAT) raises. Each opportunity
is a sales-assisted deal or an online order; deals move through the funnel with the planted
manager effects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from acrm.generator import people, spec
from acrm.generator.calendar import (
    Window,
    format_timestamps,
    sample_business_time,
    sample_days,
)

REPEAT_CHANNEL_WEIGHTS = {"Email": 0.35, "Direct": 0.25, "Organic Search": 0.15, "same": 0.25}
PHONE_LEAD_SHARE = 0.3  # deals that start with an inbound call rather than a web form
LOSS_REASON_CUMULATIVE = {stage: np.cumsum(w) for stage, w in spec.LOSS_REASON_WEIGHTS.items()}


@dataclass
class Campaigns:
    frame: pl.DataFrame
    by_channel: dict[str, list[int]]  # channel -> campaign ids
    start_day: np.ndarray  # indexed by campaign_id - 1
    end_day: np.ndarray

    def pick(self, rng: np.random.Generator, channel: str, day: float) -> int | None:
        """A campaign of the channel running on that day (the always-on brand one at least)."""
        ids = self.by_channel.get(channel)
        if not ids:
            return None
        active = [c for c in ids if self.start_day[c - 1] <= day <= self.end_day[c - 1]]
        active = active or ids[:1]
        return active[int(rng.random() * len(active))]

    def add(self, name: str, kind: str, start: int, end: int) -> int:
        """A campaign the CRM sends itself (spec.MEMBER_CAMPAIGNS); journeys never pick it."""
        campaign_id = self.frame.height + 1
        row = {
            "campaign_id": campaign_id,
            "name": name,
            "channel": "Email",
            "platform": spec.MEMBER_PLATFORM,
            "utm_source": spec.MEMBER_PLATFORM,
            "utm_medium": CHANNEL_BY_NAME["Email"].medium,
            "utm_campaign": f"crm_{kind.replace('-', '_')}",
            "start_day": start,
            "end_day": end,
            "quality": 1.0,
        }
        self.frame = pl.concat([self.frame, pl.DataFrame([row], schema=self.frame.schema)])
        self.start_day = np.append(self.start_day, start)
        self.end_day = np.append(self.end_day, end)
        return campaign_id


@dataclass
class Crm:
    """The generated CRM tables plus what the other sources need to stay consistent."""

    tables: dict[str, pl.DataFrame]
    customer_phone_e164: np.ndarray  # canonical digits or None, by customer_id - 1
    customer_created_day: np.ndarray
    customer_owner: np.ndarray
    customer_country: np.ndarray
    customer_web_user_id: np.ndarray
    weak_manager_id: int
    skipping_manager_id: int
    products: pl.DataFrame
    touches: pl.DataFrame  # one row per web/phone touch that the website or calls must show
    extra: dict[str, object] = field(default_factory=dict)


def build_managers(rng: np.random.Generator) -> pl.DataFrame:
    n = len(spec.TEAMS) * spec.MANAGERS_PER_TEAM
    is_female = rng.random(n) < 0.5
    first, last = people.names(rng, np.ones(n, dtype=bool), is_female)
    ids = np.arange(1, n + 1)
    return pl.DataFrame(
        {
            "manager_id": ids,
            "full_name": [f"{f} {s}" for f, s in zip(first, last, strict=True)],
            "email": [
                f"{people.transliterate(f)[0]}.{people.transliterate(s)}@example.ru"
                for f, s in zip(first, last, strict=True)
            ],
            "extension": (ids + spec.FIRST_EXTENSION - 1).astype(str),
            "team_id": (ids - 1) // spec.MANAGERS_PER_TEAM + 1,
        }
    )


def build_teams() -> pl.DataFrame:
    return pl.DataFrame({"team_id": range(1, len(spec.TEAMS) + 1), "name": list(spec.TEAMS)})


def build_campaigns(rng: np.random.Generator, window: Window) -> Campaigns:
    rows = []
    by_channel: dict[str, list[int]] = {}
    for platform, (channel, sources) in spec.PLATFORMS.items():
        themes = ["brand", *rng.choice(spec.CAMPAIGN_THEMES[1:], size=2, replace=False)]
        for theme in themes:
            campaign_id = len(rows) + 1
            if theme == "brand":
                start, end = 0, window.days - 1
            else:
                length = int(rng.integers(60, 150))
                start = int(rng.integers(0, max(1, window.days - length)))
                end = min(window.days - 1, start + length)
            source = sources[int(rng.integers(len(sources)))]
            rows.append(
                {
                    "campaign_id": campaign_id,
                    "name": f"{platform} · {theme.replace('_', ' ')}",
                    "channel": channel,
                    "platform": platform,
                    "utm_source": source,
                    "utm_medium": next(c.medium for c in spec.CHANNELS if c.name == channel),
                    "utm_campaign": f"{source}_{theme}",
                    "start_day": start,
                    "end_day": end,
                    "quality": float(np.round(rng.uniform(0.8, 1.1), 3)),
                }
            )
            by_channel.setdefault(channel, []).append(campaign_id)
    frame = pl.DataFrame(rows)
    return Campaigns(frame, by_channel, frame["start_day"].to_numpy(), frame["end_day"].to_numpy())


def build_products(rng: np.random.Generator) -> pl.DataFrame:
    rows = []
    anchors = {a for a, _ in (*spec.BASKET_PAIRS, *spec.FOLLOW_UPS)}
    companions = {b for _, b in (*spec.BASKET_PAIRS, *spec.FOLLOW_UPS)}
    for category_id, (category, (names, (low, high))) in enumerate(spec.CATALOG.items(), 1):
        for name in names:
            price = float(np.round(np.exp(rng.uniform(np.log(low), np.log(high))), -1))
            popularity = float(rng.pareto(1.5) + 0.3)
            if name in anchors:  # bought often enough to be seen at any scale
                popularity = 1.2
            elif name in companions:  # rarely bought alone: the planted link stands out
                popularity = 0.08
            rows.append(
                {
                    "product_id": len(rows) + 1,
                    "name": name,
                    "category_id": category_id,
                    "category": category,
                    "list_price": price,
                    "popularity": popularity,
                }
            )
    return pl.DataFrame(rows)


class Baskets:
    """Draws order baskets: popular products, segment-sized quantities, planted pairs."""

    def __init__(self, products: pl.DataFrame) -> None:
        self.ids = products["product_id"].to_numpy()
        self.prices = products["list_price"].to_numpy()
        weights = products["popularity"].to_numpy()
        self.cumulative = np.cumsum(weights / weights.sum())
        by_name = dict(zip(products["name"], self.ids, strict=True))
        self.companion = {by_name[a]: by_name[b] for a, b in spec.BASKET_PAIRS}
        self.follow_up = {by_name[a]: by_name[b] for a, b in spec.FOLLOW_UPS}

    def draw(self, rng: np.random.Generator, segment: str) -> list[tuple[int, int, float, float]]:
        n = 1 + min(int(rng.poisson(0.8)), 5)
        drawn = np.searchsorted(self.cumulative, rng.random(n) * self.cumulative[-1])
        chosen = list(dict.fromkeys(int(self.ids[i]) for i in drawn))
        for product in list(chosen):
            extra = self.companion.get(product)
            if extra and extra not in chosen and rng.random() < spec.BASKET_COMPANION_PROBABILITY:
                chosen.append(extra)
        lines = []
        scale = spec.SEGMENT_QUANTITY[segment]
        for product in chosen:
            quantity = 1 + int(rng.poisson(scale - 1)) if scale > 1 else 1
            price = float(self.prices[product - 1])
            discount = (
                float(np.round(price * quantity * rng.uniform(0.05, 0.15), 2))
                if rng.random() < 0.12
                else 0.0
            )
            lines.append((product, quantity, price, discount))
        return lines

    def follow_ups(self, basket: list) -> set[int]:
        """The planted follow-ups of a bought basket's products, not already in it."""
        bought = {line[0] for line in basket}
        return {self.follow_up[p] for p in bought if p in self.follow_up} - bought

    def add_follow_ups(self, rng: np.random.Generator, basket: list, pending: set[int]) -> list:
        """The basket with each pending follow-up added at FOLLOW_UP_PROBABILITY, one unit
        at list price. `rng` is the follow-ups' own stream, so the other draws stay put."""
        there = {line[0] for line in basket}
        added = [
            (p, 1, float(self.prices[p - 1]), 0.0)
            for p in sorted(pending - there)
            if rng.random() < spec.FOLLOW_UP_PROBABILITY
        ]
        return basket + added


@dataclass
class Funnel:
    weak_manager: int
    skipping_manager: int

    def run(
        self, rng: np.random.Generator, start: float, manager: int, quality: float, horizon: float
    ) -> tuple[list[tuple[int, float, float | None]], str, float | None, str | None]:
        """Stage history [(stage index, entered, exited)], status, closed day, loss reason."""
        history: list[tuple[int, float, float | None]] = []
        stage, t = 0, start
        while True:
            name = spec.STAGES[stage]
            if name == "Won":
                history.append((stage, t, None))
                return history, "won", t, None
            exit_t = t + spec.STAGE_MEDIAN_DAYS[name] * float(rng.lognormal(0.0, 0.6))
            if exit_t > horizon:
                history.append((stage, t, None))
                return history, "open", None, None
            history.append((stage, t, exit_t))
            if rng.random() >= self._conversion(name, manager, quality):
                cumulative = LOSS_REASON_CUMULATIVE[name]
                reason = int(np.searchsorted(cumulative, rng.random() * cumulative[-1]))
                return history, "lost", exit_t, spec.LOSS_REASONS[reason]
            stage += 1
            if spec.STAGES[stage] == spec.SKIPPED_STAGE:
                skip = (
                    spec.SKIP_RATE_SKIPPER
                    if manager == self.skipping_manager
                    else spec.SKIP_RATE_OTHERS
                )
                if rng.random() < skip:
                    stage += 1
            t = exit_t

    def _conversion(self, stage: str, manager: int, quality: float) -> float:
        if stage == spec.WEAK_STAGE and manager == self.weak_manager:
            return spec.WEAK_CONVERSION
        base = spec.BASE_CONVERSION[stage]
        return min(0.98, base * quality) if stage in ("Lead", "Qualified") else base


@dataclass
class _World:
    """What every customer's journey draws on, and the rows the journeys write."""

    campaigns: Campaigns
    baskets: Baskets
    funnel: Funnel
    team_members: dict[str, list[int]]
    horizon: float
    attrs: dict  # the customers' attributes (_customers)
    follow_up_rng: np.random.Generator  # the planted follow-ups' own stream
    campaign_quality: list = field(default_factory=list)  # by campaign_id - 1
    campaign_source: list = field(default_factory=list)
    deals: list = field(default_factory=list)
    history: list = field(default_factory=list)
    orders: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    touches: list = field(default_factory=list)
    pending: dict = field(default_factory=dict)  # customer index -> follow-ups still due


CHANNEL_NAMES = [c.name for c in spec.CHANNELS]
CHANNEL_BY_NAME = {c.name: c for c in spec.CHANNELS}
TOUCH_SCHEMA = {
    "customer_id": pl.Int64,
    "day": pl.Float64,
    "kind": pl.String,
    "deal_id": pl.Int64,
    "order_id": pl.Int64,
    "channel": pl.String,
    "campaign_id": pl.Int64,
    "utm_source": pl.String,
}


@dataclass(frozen=True)
class Streams:
    """The random streams of effects planted after the first version: their own, so the
    main stream's draws (and every earlier effect) stay where they were."""

    follow_up: np.random.Generator
    persona: np.random.Generator
    campaign: np.random.Generator


def build_crm(rng: np.random.Generator, window: Window, n_customers: int, streams: Streams) -> Crm:
    managers = build_managers(rng)
    campaigns = build_campaigns(rng, window)
    products = build_products(rng)
    baskets = Baskets(products)
    weak, skipper = (
        int(x) for x in rng.choice(managers["manager_id"].to_numpy(), 2, replace=False)
    )
    team_members = {
        team: managers.filter(pl.col("team_id") == i + 1)["manager_id"].to_list()
        for i, team in enumerate(spec.TEAMS)
    }
    personas = _personas(streams.persona, n_customers)
    attrs = _customers(rng, window, n_customers, team_members, personas)
    world = _World(
        campaigns,
        baskets,
        Funnel(weak, skipper),
        team_members,
        float(window.days),
        attrs,
        streams.follow_up,
        campaigns.frame["quality"].to_list(),
        campaigns.frame["utm_source"].to_list(),
    )
    attrs["first_campaign"] = np.full(n_customers, None, dtype=object)
    attrs["cancelled_day"] = np.full(n_customers, np.nan)
    for i in range(n_customers):
        _journey(rng, world, i)
    members = _member_campaigns(streams.campaign, world)
    tables = _frames(
        rng,
        window,
        attrs,
        managers,
        campaigns,
        products,
        world.deals,
        world.history,
        world.orders,
        world.lines,
        attrs["phone_e164"],
        attrs["web_user_id"],
        attrs["created_day"],
    )
    tables["campaign_members"] = _campaign_member_table(window, members)
    return Crm(
        tables=tables,
        customer_phone_e164=np.where(attrs["has_phone"], attrs["phone_e164"], None),
        customer_created_day=attrs["created_day"],
        customer_owner=attrs["owner"],
        customer_country=attrs["country"],
        customer_web_user_id=attrs["web_user_id"],
        weak_manager_id=weak,
        skipping_manager_id=skipper,
        products=products,
        touches=pl.DataFrame(world.touches, schema=TOUCH_SCHEMA, orient="row"),
        extra={
            "campaigns": campaigns,
            "personas": [spec.PERSONAS[k][0] for k in personas],
            "campaign_members": members,
        },
    )


MEMBER_SCHEMA = {
    "campaign_id": pl.Int64,
    "customer_id": pl.Int64,
    "group": pl.String,
    "sent_day": pl.Float64,
    "segment": pl.String,
    "bought_anyway": pl.Boolean,  # a paid order of their own in the response window
    "responded": pl.Boolean,  # an extra paid order because of the campaign (treated only)
}


def _member_campaigns(rng: np.random.Generator, world: _World) -> pl.DataFrame:
    """spec.MEMBER_CAMPAIGNS, sent after the journeys: each campaign's members split at
    random into treatment and holdout, and the treated responders' extra orders. The rows
    keep what each member would have done anyway, so the truth knows the real uplift."""
    attrs = world.attrs
    own = {}  # customer index -> their paid order days, before any campaign order
    for order in world.orders:
        if order[5] == "paid":
            own.setdefault(order[1] - 1, []).append(order[4])
    rows = []
    for name, kind, at, window_days, uplift in spec.MEMBER_CAMPAIGNS:
        sent = float(int(at * world.horizon))
        if sent + window_days + 1 > world.horizon:
            continue  # the history is too short for its response window
        campaign_id = world.campaigns.add(name, kind, int(sent), int(sent + window_days))
        alive = (attrs["created_day"] < sent) & ~(attrs["cancelled_day"] < sent)
        chosen = np.flatnonzero(alive & (rng.random(len(alive)) < spec.MEMBER_SHARE))
        holdout = rng.random(len(chosen)) < spec.HOLDOUT_SHARE
        for i, held in zip(chosen, holdout, strict=True):
            sent_at = sent + rng.uniform(0.3, 0.45)
            segment = attrs["segment"][i]
            anyway = any(sent_at <= d < sent_at + window_days for d in own.get(i, ()))
            responded = (not held) and rng.random() < uplift[segment]
            if responded:
                t = sent_at + window_days * rng.beta(1.0, 3.0)
                basket = world.baskets.add_follow_ups(
                    world.follow_up_rng, world.baskets.draw(rng, segment), world.pending[i]
                )
                visit = (i, t, "Email", campaign_id, spec.MEMBER_PLATFORM)
                _order(world, visit, (t, None, None), basket, 0.0)
            group = "holdout" if held else "treatment"
            rows.append((campaign_id, i + 1, group, sent_at, segment, anyway, responded))
    return pl.DataFrame(rows, schema=MEMBER_SCHEMA, orient="row")


def _campaign_member_table(window, members: pl.DataFrame) -> pl.DataFrame:
    """campaign_members as the CRM holds them: who was sent what, or kept as holdout."""
    sent = _ts(window, members["sent_day"].to_numpy())
    return members.select(
        pl.int_range(1, members.height + 1, dtype=pl.Int64).alias("campaign_member_id"),
        "campaign_id",
        "customer_id",
        pl.col("group").alias("member_group"),
        pl.Series("sent_at", sent, dtype=pl.String),
        pl.Series("updated_at", sent, dtype=pl.String),
    )


def _personas(rng: np.random.Generator, n: int) -> np.ndarray:
    """Each customer's planted persona (index into spec.PERSONAS)."""
    shares = np.array([p[1] for p in spec.PERSONAS])
    return rng.choice(len(spec.PERSONAS), size=n, p=shares / shares.sum())


def _by_persona(uniform: np.ndarray, personas: np.ndarray, field: int, labels) -> np.ndarray:
    """A categorical column from uniforms through each persona's weights (spec.PERSONAS)."""
    out = np.empty(len(uniform), dtype=object)
    for k, persona in enumerate(spec.PERSONAS):
        cdf = np.cumsum(persona[field]) / np.sum(persona[field])
        mine = personas == k
        out[mine] = np.asarray(labels, dtype=object)[
            np.minimum(cdf.searchsorted(uniform[mine], side="right"), len(labels) - 1)
        ]
    return out


def _customers(rng, window: Window, n: int, team_members: dict, personas: np.ndarray) -> dict:
    """Every customer's attributes, drawn a column at a time; age, income and education
    through the planted persona's ranges and weights."""
    created_day = np.sort(sample_days(rng, window, n) + sample_business_time(rng, n))
    region_idx = rng.choice(
        len(spec.REGIONS),
        size=n,
        p=np.array([r[3] for r in spec.REGIONS]) / sum(r[3] for r in spec.REGIONS),
    )
    regions = np.array([spec.REGIONS[i][0] for i in region_idx], dtype=object)
    country = np.array([spec.REGIONS[i][4] for i in region_idx], dtype=object)
    is_russian = np.isin(country, ["RU", "KZ"]) & (rng.random(n) < 0.97)
    is_female = rng.random(n) < 0.52
    first, last = people.names(rng, is_russian, is_female)
    segment = rng.choice(spec.SEGMENTS, size=n, p=spec.SEGMENT_WEIGHTS)
    # the same draw as before, mapped into the persona's age range
    position = rng.random(n)
    ages = np.array([spec.PERSONAS[k][2] for k in personas], dtype=float)
    age_days = (ages[:, 0] + position * (ages[:, 1] + 1 - ages[:, 0])) * 365.25
    contact = _contact_details(rng, n, country, first, last, is_russian)
    acquisition_p = np.array([c.acquisition_weight for c in spec.CHANNELS])
    acquisition_p /= acquisition_p.sum()
    acquisition = rng.choice(len(CHANNEL_NAMES), size=n, p=acquisition_p)
    bad_experience = rng.random(n) < spec.BAD_EXPERIENCE_SHARE
    rate = np.array([spec.SEGMENT_RATE[s] for s in segment]) * rng.gamma(2.0, 0.5, size=n)
    dropout = np.where(
        bad_experience, spec.DROPOUT_BAD, rng.beta(1.0, 9.0, size=n) + spec.DROPOUT_GOOD / 2
    )
    loyalty = np.array([spec.ACQUISITION_DROPOUT_FACTOR.get(c, 1.0) for c in CHANNEL_NAMES])
    dropout = np.minimum(dropout * loyalty[acquisition], spec.MAX_DROPOUT)
    owner = np.array(
        [
            team_members[spec.TEAM_OF_REGION[r]][int(u * spec.MANAGERS_PER_TEAM)]
            for r, u in zip(regions, rng.random(n), strict=True)
        ]
    )
    return {
        "n": n,
        "created_day": created_day,
        "first": first,
        "last": last,
        "is_female": is_female,
        "birth": [window.start - dt.timedelta(days=float(a)) for a in age_days],
        "regions": regions,
        "region_idx": region_idx,
        "country": country,
        "segment": segment,
        **contact,
        "acquisition": acquisition,
        "bad_experience": bad_experience,
        "rate": rate,
        "dropout": dropout,
        "owner": owner,
        "persona": personas,
    }


def _contact_details(rng, n: int, country, first, last, is_russian) -> dict:
    """Phones (canonical), emails and web accounts: some customers have none of each."""
    phone_e164 = people.mobile_numbers(rng, country)
    has_phone = rng.random(n) < 0.9
    phone_style = rng.integers(0, 5, size=n)
    email_pick = rng.random(n)
    has_email = rng.random(n) < 0.85
    emails = [
        people.email_address(first[i], last[i], bool(is_russian[i]), email_pick[i], i)
        if has_email[i]
        else None
        for i in range(n)
    ]
    has_account = rng.random(n) < 0.6
    web_user_id = np.array(
        [f"U{(i * 7919 + 104729) % 10_000_000:07d}" if has_account[i] else None for i in range(n)],
        dtype=object,
    )
    return {
        "phone_e164": phone_e164,
        "has_phone": has_phone,
        "phone_style": phone_style,
        "emails": emails,
        "web_user_id": web_user_id,
    }


def _journey(rng, world: _World, i: int) -> None:
    """One customer's buying, from sign-up to the horizon: a deal through the funnel (sales
    segments) or a direct order, then a gap, until they cancel or drop out."""
    attrs = world.attrs
    t = float(attrs["created_day"][i])
    channel = CHANNEL_NAMES[attrs["acquisition"][i]]
    campaign = world.campaigns.pick(rng, channel, t)
    attrs["first_campaign"][i] = campaign
    will_cancel = rng.random() < 0.03
    pending: set[int] = set()  # follow-ups of bought products, until they are bought
    while t < world.horizon:
        source = CHANNEL_BY_NAME[channel].sources[
            int(rng.integers(len(CHANNEL_BY_NAME[channel].sources)))
        ]
        quality = 1.0 if campaign is None else world.campaign_quality[campaign - 1]
        if campaign is not None:
            source = world.campaign_source[campaign - 1]
        visit = (i, t, channel, campaign, source)
        sales = rng.random() < spec.SEGMENT_SALES_SHARE[attrs["segment"][i]]
        basket = world.baskets.draw(rng, attrs["segment"][i])
        basket = world.baskets.add_follow_ups(world.follow_up_rng, basket, pending)
        purchase = _deal(rng, world, visit, quality, basket) if sales else (t, None, None)
        if purchase[0] is not None and purchase[0] < world.horizon:
            _order(world, visit, purchase, basket, rng.random())
            pending = (pending | world.baskets.follow_ups(basket)) - {line[0] for line in basket}
            if will_cancel:
                attrs["cancelled_day"][i] = min(
                    world.horizon - 0.01, purchase[0] + rng.uniform(5, 90)
                )
                break
            if rng.random() < attrs["dropout"][i]:
                break
        t += max(float(rng.exponential(365.0 / attrs["rate"][i])), 1.0)
        channel = _next_channel(rng, attrs["acquisition"][i])
        campaign = world.campaigns.pick(rng, channel, t)
    world.pending[i] = pending  # a campaign's order later brings what is still due


def _deal(rng, world: _World, visit: tuple, quality: float, basket: list) -> tuple:
    """A deal through the funnel, its stage history and its lead touch; (when its order is
    placed or None, the order's manager, its deal) for a won deal."""
    i, t, channel, campaign, source = visit
    attrs = world.attrs
    deal_id = len(world.deals) + 1
    team = world.team_members[spec.TEAM_OF_REGION[attrs["regions"][i]]]
    manager = int(attrs["owner"][i]) if rng.random() < 0.9 else team[int(rng.random() * len(team))]
    stages, status, closed, reason = world.funnel.run(rng, t, manager, quality, world.horizon)
    via_phone = rng.random() < PHONE_LEAD_SHARE
    amount = sum(q * p - d for _, q, p, d in basket)
    world.deals.append(
        (
            deal_id,
            i + 1,
            manager,
            stages[-1][0],
            status,
            amount,
            campaign,
            source,
            CHANNEL_BY_NAME[channel].medium,
            t,
            closed,
            reason,
            "phone" if via_phone else "web_form",
        )
    )
    for stage, entered, exited in stages:
        world.history.append((deal_id, stage, entered, exited, manager))
    kind = "lead_call" if via_phone else "lead_form"
    world.touches.append((i + 1, t, kind, deal_id, None, channel, campaign, source))
    if status == "won":
        return float(closed) + float(rng.uniform(0.01, 1.0)), manager, deal_id
    return None, None, None


def _order(world: _World, visit: tuple, purchase: tuple, basket: list, status_roll: float):
    """An order with its lines (and, bought online, its purchase touch)."""
    i, _, channel, campaign, source = visit
    purchased_at, order_manager, order_deal = purchase
    order_id = len(world.orders) + 1
    order_status = (
        "paid" if status_roll < 0.94 else "cancelled" if status_roll < 0.98 else "refunded"
    )
    world.orders.append(
        (
            order_id,
            i + 1,
            order_deal,
            order_manager,
            purchased_at,
            order_status,
            campaign,
            source,
            CHANNEL_BY_NAME[channel].medium,
            "sales" if order_deal else "online",
        )
    )
    for product, quantity, price, discount in basket:
        world.lines.append((order_id, product, quantity, price, discount))
    if order_deal is None:
        world.touches.append(
            (i + 1, purchased_at, "purchase", None, order_id, channel, campaign, source)
        )


def _next_channel(rng, acquisition: int) -> str:
    """The channel a customer comes back through: email, direct, search or their first."""
    roll = rng.random()
    if roll < REPEAT_CHANNEL_WEIGHTS["Email"]:
        return "Email"
    if roll < REPEAT_CHANNEL_WEIGHTS["Email"] + REPEAT_CHANNEL_WEIGHTS["Direct"]:
        return "Direct"
    if roll < 1.0 - REPEAT_CHANNEL_WEIGHTS["same"]:
        return "Organic Search"
    return CHANNEL_NAMES[acquisition]


def _ts(window: Window, days: np.ndarray) -> np.ndarray:
    """CRM timestamps: UTC text, NaN days become None."""
    days = np.asarray(days, dtype=float)
    out = np.full(len(days), None, dtype=object)
    ok = ~np.isnan(days)
    out[ok] = format_timestamps(window.epoch_seconds_utc(days[ok]))
    return out


DEAL_SCHEMA = {
    "deal_id": pl.Int64,
    "customer_id": pl.Int64,
    "manager_id": pl.Int64,
    "stage_idx": pl.Int64,
    "status": pl.String,
    "amount": pl.Float64,
    "campaign_id": pl.Int64,
    "utm_source": pl.String,
    "utm_medium": pl.String,
    "created_day": pl.Float64,
    "closed_day": pl.Float64,
    "loss_reason": pl.String,
    "lead_source": pl.String,
}
HISTORY_SCHEMA = {
    "deal_id": pl.Int64,
    "stage_idx": pl.Int64,
    "entered_day": pl.Float64,
    "exited_day": pl.Float64,
    "manager_id": pl.Int64,
}
ORDER_SCHEMA = {
    "order_id": pl.Int64,
    "customer_id": pl.Int64,
    "deal_id": pl.Int64,
    "manager_id": pl.Int64,
    "ordered_day": pl.Float64,
    "status": pl.String,
    "campaign_id": pl.Int64,
    "utm_source": pl.String,
    "utm_medium": pl.String,
    "sales_channel": pl.String,
}
LINE_SCHEMA = {
    "order_id": pl.Int64,
    "product_id": pl.Int64,
    "quantity": pl.Int64,
    "unit_price": pl.Float64,
    "discount": pl.Float64,
}


def _frames(
    rng,
    window,
    meta,
    managers,
    campaigns,
    products,
    deals,
    history,
    orders,
    lines,
    phone_e164,
    web_user_id,
    created_day,
) -> dict[str, pl.DataFrame]:
    """The CRM's tables as its database holds them (ids, timestamps, updated_at)."""
    history_frame = pl.DataFrame(history, schema=HISTORY_SCHEMA, orient="row")
    order_frame = pl.DataFrame(orders, schema=ORDER_SCHEMA, orient="row")
    line_frame = (
        pl.DataFrame(lines, schema=LINE_SCHEMA, orient="row")
        .with_row_index("order_line_id", offset=1)
        .with_columns(pl.col("order_line_id").cast(pl.Int64))
    )
    customers = _customer_table(rng, window, meta, campaigns, phone_e164, web_user_id, created_day)
    contacts = _contacts(rng, customers, phone_e164, meta, window, created_day)
    deal_frame = pl.DataFrame(deals, schema=DEAL_SCHEMA, orient="row")
    orders_out, lines_out = _order_tables(window, order_frame, line_frame)
    tickets, surveys = _service(rng, window, meta, orders_out, line_frame, order_frame)
    return {
        **_reference_tables(window, managers, products),
        "campaigns": _campaign_table(window, campaigns),
        "customers": customers,
        "contacts": contacts,
        "deals": _deal_table(window, deal_frame, history_frame),
        "deal_stage_history": _stage_history_table(window, history_frame),
        "orders": orders_out,
        "order_lines": lines_out,
        "tickets": tickets,
        "survey_responses": surveys,
    }


def _campaign_table(window, campaigns: Campaigns) -> pl.DataFrame:
    campaign_start = [window.start + dt.timedelta(days=int(d)) for d in campaigns.start_day]
    campaign_end = [window.start + dt.timedelta(days=int(d)) for d in campaigns.end_day]
    return campaigns.frame.select(
        "campaign_id", "name", "channel", "platform", "utm_source", "utm_medium", "utm_campaign"
    ).with_columns(
        pl.Series("started_on", [d.isoformat() for d in campaign_start]),
        pl.Series("ended_on", [d.isoformat() for d in campaign_end]),
        pl.lit(_ts(window, np.zeros(1))[0]).alias("updated_at"),
    )


def _customer_table(rng, window, meta, campaigns, phone_e164, web_user_id, created_day):
    """Customers in their current state; updated_at is the last change."""
    n = meta["n"]
    last_change = np.maximum(created_day, np.nan_to_num(meta["cancelled_day"], nan=0.0))
    status = np.where(np.isnan(meta["cancelled_day"]), "active", "cancelled")
    first_campaign = meta["first_campaign"]
    first_source = [
        campaigns.frame["utm_source"][c - 1]
        if c is not None
        else spec.CHANNELS[meta["acquisition"][i]].sources[0]
        for i, c in enumerate(first_campaign)
    ]
    first_utm_campaign = [
        campaigns.frame["utm_campaign"][c - 1] if c is not None else None for c in first_campaign
    ]
    phones = [
        people.crm_phone_format(phone_e164[i], int(meta["phone_style"][i]))
        if meta["has_phone"][i]
        else None
        for i in range(n)
    ]
    income = _by_persona(rng.random(n), meta["persona"], 3, spec.INCOME_BANDS)
    education = _by_persona(rng.random(n), meta["persona"], 4, spec.EDUCATION_LEVELS)
    return pl.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "first_name": meta["first"],
            "last_name": meta["last"],
            "gender": np.where(meta["is_female"], "female", "male"),
            "birth_date": [b.isoformat() for b in meta["birth"]],
            "income_band": income,
            "education": education,
            "region": meta["regions"],
            "city": [spec.REGIONS[i][1] for i in meta["region_idx"]],
            "timezone": [spec.REGIONS[i][2] for i in meta["region_idx"]],
            "segment": meta["segment"],
            "email": meta["emails"],
            "phone": phones,
            "web_user_id": web_user_id,
            "first_utm_source": first_source,
            "first_utm_medium": [spec.CHANNELS[a].medium for a in meta["acquisition"]],
            "first_utm_campaign": first_utm_campaign,
            "owner_manager_id": meta["owner"],
            "status": status,
            "created_at": _ts(window, created_day),
            "cancelled_at": _ts(window, meta["cancelled_day"]),
            "updated_at": _ts(window, last_change),
        }
    )


def _deal_table(window, deal_frame: pl.DataFrame, history_frame: pl.DataFrame) -> pl.DataFrame:
    """Deals at their current stage; updated_at is the last stage entered or the close."""
    deals_out = deal_frame.with_columns(
        (pl.col("stage_idx") + 1).alias("stage_id"),
        pl.col("loss_reason")
        .replace_strict(
            {r: i + 1 for i, r in enumerate(spec.LOSS_REASONS)}, default=None, return_dtype=pl.Int64
        )
        .alias("loss_reason_id"),
    )
    deals_out = deals_out.with_columns(
        pl.Series("created_at", _ts(window, deals_out["created_day"].to_numpy())),
        pl.Series("closed_at", _ts(window, deals_out["closed_day"].fill_null(np.nan).to_numpy())),
    )
    last_history = history_frame.group_by("deal_id").agg(pl.col("entered_day").max())
    deals_out = deals_out.join(last_history, on="deal_id", how="left").sort("deal_id")
    last_change = np.fmax(
        deals_out["entered_day"].to_numpy(), deals_out["closed_day"].fill_null(np.nan).to_numpy()
    )
    return deals_out.with_columns(pl.Series("updated_at", _ts(window, last_change))).select(
        "deal_id",
        "customer_id",
        "manager_id",
        pl.lit(1).alias("pipeline_id"),
        "stage_id",
        "status",
        "amount",
        "campaign_id",
        "utm_source",
        "utm_medium",
        "lead_source",
        "loss_reason_id",
        "created_at",
        "closed_at",
        "updated_at",
    )


def _stage_history_table(window, history_frame: pl.DataFrame) -> pl.DataFrame:
    ordered = history_frame.sort("deal_id", "entered_day")
    stage_history = ordered.with_row_index("history_id", offset=1).with_columns(
        pl.col("history_id").cast(pl.Int64),
        (pl.col("stage_idx") + 1).alias("stage_id"),
        pl.Series("entered_at", _ts(window, ordered["entered_day"].to_numpy())),
        pl.Series("exited_at", _ts(window, ordered["exited_day"].fill_null(np.nan).to_numpy())),
    )
    return stage_history.with_columns(
        pl.coalesce("exited_at", "entered_at").alias("updated_at")
    ).select(
        "history_id", "deal_id", "stage_id", "manager_id", "entered_at", "exited_at", "updated_at"
    )


def _order_tables(window, order_frame: pl.DataFrame, line_frame: pl.DataFrame):
    """Orders and their lines, a line's updated_at its order's."""
    orders_out = (
        order_frame.with_columns(
            pl.Series("ordered_at", _ts(window, order_frame["ordered_day"].to_numpy())),
        )
        .with_columns(pl.col("ordered_at").alias("updated_at"))
        .select(
            "order_id",
            "customer_id",
            "deal_id",
            "manager_id",
            "ordered_at",
            "status",
            "sales_channel",
            "campaign_id",
            "utm_source",
            "utm_medium",
            "updated_at",
        )
    )
    lines_out = (
        line_frame.join(orders_out.select("order_id", "updated_at"), on="order_id")
        .sort("order_line_id")
        .select(
            "order_line_id",
            "order_id",
            "product_id",
            "quantity",
            "unit_price",
            "discount",
            "updated_at",
        )
    )
    return orders_out, lines_out


def _reference_tables(window, managers: pl.DataFrame, products: pl.DataFrame) -> dict:
    """Teams, managers, the pipeline and its stages, loss reasons, products and categories:
    written once, at the start of the window."""
    stamp = _ts(window, np.zeros(1))[0]
    return {
        "teams": build_teams().with_columns(pl.lit(stamp).alias("updated_at")),
        "managers": managers.with_columns(pl.lit(stamp).alias("updated_at")),
        "pipelines": pl.DataFrame(
            {"pipeline_id": [1], "name": [spec.PIPELINE_NAME], "updated_at": [stamp]}
        ),
        "pipeline_stages": pl.DataFrame(
            {
                "stage_id": range(1, len(spec.STAGES) + 1),
                "pipeline_id": [1] * len(spec.STAGES),
                "name": list(spec.STAGES),
                "position": range(1, len(spec.STAGES) + 1),
                "is_won": [s == "Won" for s in spec.STAGES],
                "updated_at": [stamp] * len(spec.STAGES),
            }
        ),
        "loss_reasons": pl.DataFrame(
            {
                "loss_reason_id": range(1, len(spec.LOSS_REASONS) + 1),
                "name": list(spec.LOSS_REASONS),
                "updated_at": [stamp] * len(spec.LOSS_REASONS),
            }
        ),
        "product_categories": products.select("category_id", "category")
        .unique(maintain_order=True)
        .rename({"category": "name"})
        .with_columns(pl.lit(stamp).alias("updated_at")),
        "products": products.select("product_id", "name", "category_id", "list_price").with_columns(
            pl.lit(stamp).alias("updated_at")
        ),
    }


def _contacts(rng, customers: pl.DataFrame, phone_e164, meta, window, created_day):
    rows = []
    n = len(customers)
    stamps = _ts(window, created_day)
    for i in range(n):
        cid = i + 1
        if meta["has_phone"][i]:
            rows.append((cid, "phone", customers["phone"][i], True, stamps[i]))
            if rng.random() < 0.15:  # a second number typed another way
                style = (int(meta["phone_style"][i]) + 1) % 5
                rows.append(
                    (cid, "phone", people.crm_phone_format(phone_e164[i], style), False, stamps[i])
                )
        email = meta["emails"][i]
        if email:
            rows.append((cid, "email", email, True, stamps[i]))
            if rng.random() < 0.06:  # the same person typed a misspelt domain in a form
                rows.append((cid, "email", people.with_typo(email).upper(), False, stamps[i]))
    frame = pl.DataFrame(
        rows,
        schema={
            "customer_id": pl.Int64,
            "kind": pl.String,
            "value": pl.String,
            "is_primary": pl.Boolean,
            "updated_at": pl.String,
        },
        orient="row",
    )
    return frame.with_row_index("contact_id", offset=1).with_columns(
        pl.col("contact_id").cast(pl.Int64)
    )


def _service(rng, window, meta, orders_out, line_frame, order_frame):
    """Tickets after purchases; customers with a bad experience file more and rate low."""
    horizon = float(window.days)
    first_orders = (
        order_frame.sort("ordered_day").group_by("customer_id", maintain_order=True).first()
    )
    product_of_order = dict(zip(line_frame["order_id"], line_frame["product_id"], strict=False))
    tickets, surveys = [], []
    for customer_id, order_id, ordered_day in zip(
        first_orders["customer_id"],
        first_orders["order_id"],
        first_orders["ordered_day"],
        strict=True,
    ):
        i = customer_id - 1
        bad = bool(meta["bad_experience"][i])
        count = 1 + int(rng.poisson(1.0)) if bad else int(rng.poisson(0.35))
        for k in range(count):
            opened = ordered_day + (rng.uniform(1, 25) if bad and k == 0 else rng.uniform(1, 200))
            if opened >= horizon:
                continue
            hours = float(rng.lognormal(np.log(60 if bad else 14), 0.7))
            resolved = opened + hours / 24
            ticket_id = len(tickets) + 1
            is_resolved = resolved < horizon
            tickets.append(
                (
                    ticket_id,
                    customer_id,
                    int(meta["owner"][i]),
                    int(product_of_order.get(order_id, 1)),
                    opened,
                    resolved if is_resolved else np.nan,
                    "resolved" if is_resolved else "open",
                    ("low", "normal", "high")[int(rng.integers(3))],
                    ("phone", "email", "chat")[int(rng.integers(3))],
                )
            )
            if is_resolved and rng.random() < 0.55:
                survey = _survey(rng, horizon, bad and k == 0, resolved)
                surveys.append(
                    (len(surveys) + 1, ticket_id, customer_id, int(meta["owner"][i]), *survey)
                )
    return _ticket_frame(window, tickets), _survey_frame(window, surveys)


def _survey(rng, horizon: float, first_bad: bool, resolved: float) -> tuple:
    """(sent, responded, CSAT, NPS) of a resolved ticket's survey: low after a bad start."""
    csat = (
        int(rng.choice([1, 2], p=[0.55, 0.45]))
        if first_bad
        else int(rng.choice([3, 4, 5], p=[0.15, 0.35, 0.5]))
    )
    nps = int(np.clip(rng.normal(2 if csat <= 2 else 8.5, 1.5), 0, 10))
    responded = min(horizon - 0.001, resolved + rng.uniform(0.02, 3))
    return resolved, responded, csat, nps


def _ticket_frame(window, tickets: list[tuple]) -> pl.DataFrame:
    frame = pl.DataFrame(
        tickets,
        orient="row",
        schema={
            "ticket_id": pl.Int64,
            "customer_id": pl.Int64,
            "manager_id": pl.Int64,
            "product_id": pl.Int64,
            "opened_day": pl.Float64,
            "resolved_day": pl.Float64,
            "status": pl.String,
            "priority": pl.String,
            "channel": pl.String,
        },
    )
    return (
        frame.with_columns(
            pl.Series("opened_at", _ts(window, frame["opened_day"].to_numpy())),
            pl.Series("resolved_at", _ts(window, frame["resolved_day"].to_numpy())),
        )
        .with_columns(pl.coalesce("resolved_at", "opened_at").alias("updated_at"))
        .drop("opened_day", "resolved_day")
    )


def _survey_frame(window, surveys: list[tuple]) -> pl.DataFrame:
    frame = pl.DataFrame(
        surveys,
        orient="row",
        schema={
            "survey_response_id": pl.Int64,
            "ticket_id": pl.Int64,
            "customer_id": pl.Int64,
            "manager_id": pl.Int64,
            "sent_day": pl.Float64,
            "responded_day": pl.Float64,
            "csat": pl.Int64,
            "nps": pl.Int64,
        },
    )
    return (
        frame.with_columns(
            pl.Series("sent_at", _ts(window, frame["sent_day"].to_numpy())),
            pl.Series("responded_at", _ts(window, frame["responded_day"].to_numpy())),
        )
        .with_columns(pl.col("responded_at").alias("updated_at"))
        .drop("sent_day", "responded_day")
    )
