"""The website: GA4 BigQuery-export rows (nested event_params, device, geo, ecommerce)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from acrm.generator import spec
from acrm.generator.calendar import MOSCOW_UTC_OFFSET_HOURS, Window, sample_business_time
from acrm.generator.crm import Crm

BROWSE_CHANNELS = {"Organic Search": 0.35, "Direct": 0.35, "Email": 0.2, "Paid Search": 0.1}
DEVICES = (
    ("desktop", "Windows", "Chrome"),
    ("desktop", "Macintosh", "Safari"),
    ("mobile", "Android", "Chrome"),
    ("mobile", "iOS", "Safari"),
    ("tablet", "iOS", "Safari"),
    ("mobile", "Android", "YaBrowser"),
)
DEVICE_P = (0.30, 0.10, 0.30, 0.20, 0.04, 0.06)
STREAM_ID = "4178923610"


def _client_id(rng: np.random.Generator, first_seen_s: int) -> str:
    return f"{int(rng.integers(100_000_000, 2_000_000_000))}.{first_seen_s}"


@dataclass
class WebEvents:
    """The website's events kept flat (one row per event, a column per attribute).

    GA4's nested rows are built from them a few days at a time when the files are written:
    nesting every event at once does not fit in memory at scale 10.
    """

    events: pl.DataFrame  # flat, sorted by time, with `day` (local day index)
    lines: pl.DataFrame
    products: pl.DataFrame
    window: Window

    @property
    def height(self) -> int:
        return self.events.height

    def ga4_chunks(self, days_per_chunk: int = 14) -> Iterator[pl.DataFrame]:
        """GA4 export rows, a block of days at a time, in time order."""
        first, last = self.events["day"].min(), self.events["day"].max()
        for start in range(first, last + 1, days_per_chunk):
            part = self.events.filter(pl.col("day").is_between(start, start + days_per_chunk - 1))
            if part.height:
                yield _to_ga4(part, self.lines, self.products, self.window)


def build_web_events(
    rng: np.random.Generator, window: Window, crm: Crm, n_sessions: int
) -> WebEvents:
    """Sessions of customers and anonymous visitors, and every event they fired."""
    sessions = _sessions(rng, window, crm, n_sessions)
    events = _events(rng, sessions, crm)
    day_zero_utc = float(window.epoch_seconds_utc(np.zeros(1))[0])
    events = (
        events.join(
            sessions.with_row_index("session").with_columns(pl.col("session").cast(pl.Int64)),
            on="session",
            how="left",
        )
        .with_columns(((pl.col("ts") - day_zero_utc) / 86400.0).floor().cast(pl.Int64).alias("day"))
        .sort("ts", "session", maintain_order=True)
    )
    lines = crm.tables["order_lines"].select("order_id", "product_id", "quantity", "unit_price")
    products = crm.products.select("product_id", "name", "category")
    return WebEvents(events, lines, products, window)


EVENT_SCHEMA = {
    "ts": pl.Float64,
    "event_name": pl.String,
    "session": pl.Int64,
    "page": pl.String,
    "title": pl.String,
    "engagement": pl.Int64,
    "scroll": pl.Int64,
    "form_id": pl.String,
    "order_id": pl.Int64,
    "item_id": pl.Int64,
}


def _events(rng: np.random.Generator, sessions: pl.DataFrame, crm: Crm) -> pl.DataFrame:
    """Events of every session: page views with engagement and scrolls, then the goal."""
    grouped = crm.tables["order_lines"].group_by("order_id").agg(pl.col("product_id"))
    basket_of = dict(zip(grouped["order_id"], grouped["product_id"].to_list(), strict=True))
    visits = _visits(rng, sessions, basket_of)
    times = _visit_times(rng, sessions, visits)
    parts = _page_events(rng, sessions, visits, times) + _goal_events(sessions, times, basket_of)
    events = pl.concat(
        [p.cast({k: v for k, v in EVENT_SCHEMA.items() if k in p.columns}) for p in parts],
        how="diagonal",
    )
    return events.select(EVENT_SCHEMA.keys()).sort("session", "ts", maintain_order=True)


def _visits(rng, sessions: pl.DataFrame, basket_of: dict) -> dict:
    """Page visits in session order: content pages drawn by popularity, then the pages each
    goal needs (the contact form, the products bought and the cart)."""
    pages = spec.CONTENT_PAGES
    cumulative = np.cumsum([p[2] for p in pages])
    kinds = sessions["kind"].to_numpy()
    orders = sessions["order_id"].to_list()
    n_pages = 1 + rng.poisson(2.2, size=len(sessions))
    visit_session = np.repeat(np.arange(len(sessions)), n_pages)
    page_idx = np.searchsorted(cumulative, rng.random(len(visit_session)) * cumulative[-1])
    paths = np.array([p[0] for p in pages], dtype=object)[page_idx]
    titles = np.array([p[1] for p in pages], dtype=object)[page_idx]
    medians = np.array([p[3] for p in pages])[page_idx]
    products = np.full(len(visit_session), -1)
    extra = []  # (session, path, title, median, product)
    contacts = next(p for p in pages if p[0] == "/contacts")
    for s in np.flatnonzero(kinds == "lead_form"):
        extra.append((s, contacts[0], contacts[1], contacts[3], -1))
    for s in np.flatnonzero(kinds == "purchase"):
        for product in basket_of.get(orders[s], []):
            extra.append((s, f"/product/{product}", f"Product {product}", 45.0, product))
        extra.append((s, "/cart", "Cart", 20.0, -1))
    if extra:
        e_session, e_path, e_title, e_median, e_product = zip(*extra, strict=True)
        visit_session = np.concatenate([visit_session, e_session])
        paths = np.concatenate([paths, np.array(e_path, dtype=object)])
        titles = np.concatenate([titles, np.array(e_title, dtype=object)])
        medians = np.concatenate([medians, e_median])
        products = np.concatenate([products, e_product])
    order = np.argsort(visit_session, kind="stable")
    return {
        "session": visit_session[order],
        "path": paths[order],
        "title": titles[order],
        "median": medians[order],
        "product": products[order],
    }


def _visit_times(rng, sessions: pl.DataFrame, visits: dict) -> dict:
    """Each visit starts after the previous one's engagement and a short pause."""
    visit_session = visits["session"]
    engaged = rng.lognormal(np.log(visits["median"]), 0.5)
    step = engaged + rng.uniform(2, 20, size=len(engaged))
    cum = np.cumsum(step)
    first_of_session = np.r_[True, visit_session[1:] != visit_session[:-1]]
    session_base = np.maximum.accumulate(np.where(first_of_session, cum - step, 0.0))
    offset = cum - step - session_base
    starts = sessions["start"].to_numpy()
    session_end = np.full(len(sessions), 0.0)
    np.maximum.at(session_end, visit_session, offset + step)
    return {
        "engaged": engaged,
        "view": starts[visit_session] + offset,
        "start": starts,
        "end": session_end + starts,
    }


def _frame(ts, name, session, **cols) -> pl.DataFrame:
    data = {"ts": ts, "event_name": np.full(len(ts), name, dtype=object), "session": session}
    for column, values in cols.items():
        data[column] = values
    return pl.DataFrame(data, strict=False)


def _page_events(rng, sessions: pl.DataFrame, visits: dict, times: dict) -> list[pl.DataFrame]:
    """first_visit, session_start, and per visit page_view, view_item, scroll (some) and
    user_engagement."""
    engaged, t_view, starts = times["engaged"], times["view"], times["start"]
    session, paths, titles = visits["session"], visits["path"], visits["title"]
    scroll = (engaged > 30) & (rng.random(len(engaged)) < 0.6)
    item = visits["product"] >= 0
    first = sessions["first_visit"].to_numpy()
    return [
        _frame(starts[first], "first_visit", np.flatnonzero(first)),
        _frame(starts, "session_start", np.arange(len(sessions))),
        _frame(t_view, "page_view", session, page=paths, title=titles),
        _frame(
            t_view[item] + 0.5,
            "view_item",
            session[item],
            page=paths[item],
            title=titles[item],
            item_id=visits["product"][item],
        ),
        _frame(
            t_view[scroll] + engaged[scroll] * 0.6,
            "scroll",
            session[scroll],
            page=paths[scroll],
            title=titles[scroll],
            scroll=np.full(scroll.sum(), 90),
        ),
        _frame(
            t_view + engaged,
            "user_engagement",
            session,
            page=paths,
            title=titles,
            engagement=(engaged * 1000).astype(np.int64),
        ),
    ]


def _goal_events(sessions: pl.DataFrame, times: dict, basket_of: dict) -> list[pl.DataFrame]:
    """The goals at a session's end: a lead form, or a purchase with its cart and checkout."""
    kinds = sessions["kind"].to_numpy()
    orders = sessions["order_id"].to_list()
    session_end = times["end"]
    purchase = np.flatnonzero(kinds == "purchase")
    lead = np.flatnonzero(kinds == "lead_form")
    cart = [(s, p) for s in purchase for p in basket_of.get(orders[s], [])]
    cart_s = np.array([c[0] for c in cart], dtype=np.int64)
    return [
        _frame(
            session_end[lead],
            "generate_lead",
            lead,
            page=np.full(len(lead), "/contacts"),
            title=np.full(len(lead), "Contacts"),
            form_id=np.full(len(lead), "callback_form"),
        ),
        _frame(
            session_end[cart_s],
            "add_to_cart",
            cart_s,
            page=np.full(len(cart), "/cart"),
            title=np.full(len(cart), "Cart"),
            item_id=np.array([c[1] for c in cart], dtype=np.int64),
        ),
        _frame(
            session_end[purchase] + 1,
            "begin_checkout",
            purchase,
            page=np.full(len(purchase), "/checkout"),
            title=np.full(len(purchase), "Checkout"),
        ),
        _frame(
            session_end[purchase] + 30,
            "purchase",
            purchase,
            page=np.full(len(purchase), "/checkout/thank-you"),
            title=np.full(len(purchase), "Thank you"),
            order_id=np.array([orders[s] for s in purchase], dtype=np.int64),
        ),
    ]


SESSION_SCHEMA = {
    "day": pl.Float64,
    "user_pseudo_id": pl.String,
    "user_id": pl.String,
    "channel": pl.String,
    "campaign_id": pl.Int64,
    "utm_source": pl.String,
    "kind": pl.String,
    "order_id": pl.Int64,
    "customer_id": pl.Int64,
}


def _sessions(rng: np.random.Generator, window: Window, crm: Crm, n_target: int) -> pl.DataFrame:
    # Each customer browses from one or two devices (client ids); anonymous visitors from one.
    client_of_customer = [
        _client_id(rng, int(window.epoch_seconds_utc(np.array([crm.customer_created_day[i]]))[0]))
        for i in range(len(crm.tables["customers"]))
    ]
    rows = _touch_sessions(crm, client_of_customer)
    rows += _customer_browsing(rng, window, crm, client_of_customer)
    rows += _anonymous_browsing(rng, window, crm, max(0, n_target - len(rows)))
    frame = pl.DataFrame(rows, orient="row", schema=SESSION_SCHEMA)
    utm_campaign = crm.extra["campaigns"].frame.select(
        "campaign_id", "utm_campaign", pl.col("utm_source").alias("campaign_source")
    )
    frame = (
        frame.join(utm_campaign, on="campaign_id", how="left")
        .with_columns(pl.coalesce("campaign_source", "utm_source").alias("utm_source"))
        .drop("campaign_source")
    )
    frame = frame.filter(pl.col("day") < window.days).sort("day", "user_pseudo_id")
    start_s = window.epoch_seconds_utc(frame["day"].to_numpy())
    device = rng.choice(len(DEVICES), size=len(frame), p=DEVICE_P)
    return (
        frame.with_columns(
            pl.Series("start", start_s.astype(float)),
            pl.Series("device", device),
        )
        .with_columns(
            pl.col("start").cum_count().over("user_pseudo_id").alias("session_number"),
        )
        .with_columns((pl.col("session_number") == 1).alias("first_visit"))
    )


def _touch_sessions(crm: Crm, client_of_customer: list[str]) -> list[tuple]:
    """A session for each lead form and purchase the CRM recorded (logged in to buy)."""
    rows = []
    for r in crm.touches.filter(pl.col("kind").is_in(["lead_form", "purchase"])).iter_rows(
        named=True
    ):
        i = r["customer_id"] - 1
        logged_in = r["kind"] == "purchase" and crm.customer_web_user_id[i] is not None
        rows.append(
            (
                r["day"],
                client_of_customer[i],
                crm.customer_web_user_id[i] if logged_in else None,
                r["channel"],
                r["campaign_id"],
                r["utm_source"],
                r["kind"],
                r["order_id"],
                r["customer_id"],
            )
        )
    return rows


def _customer_browsing(rng, window: Window, crm: Crm, client_of_customer) -> list[tuple]:
    """Customers with an account come back to browse, logged in most of the time."""
    campaigns = crm.extra["campaigns"]
    browse_names = list(BROWSE_CHANNELS)
    browse_p = np.array(list(BROWSE_CHANNELS.values()))
    has_account = np.flatnonzero(crm.customer_web_user_id != None)  # noqa: E711
    rows = []
    for i in has_account:
        for _ in range(int(rng.poisson(2.0))):
            day = float(rng.uniform(crm.customer_created_day[i], window.days))
            channel = browse_names[int(rng.choice(len(browse_names), p=browse_p))]
            campaign = campaigns.pick(rng, channel, day)
            rows.append(
                (
                    day,
                    client_of_customer[i],
                    crm.customer_web_user_id[i] if rng.random() < 0.7 else None,
                    channel,
                    campaign,
                    None,
                    "browse",
                    None,
                    i + 1,
                )
            )
    return rows


def _anonymous_browsing(rng, window: Window, crm: Crm, n_anonymous: int) -> list[tuple]:
    """The rest of the traffic: visitors who never became customers, two sessions each on
    average, arriving by the channels' acquisition weights."""
    campaigns = crm.extra["campaigns"]
    acquisition = np.array([c.acquisition_weight for c in spec.CHANNELS])
    channel_idx = rng.choice(
        len(spec.CHANNELS), size=n_anonymous, p=acquisition / acquisition.sum()
    )
    anon_days = rng.choice(
        window.days, size=n_anonymous, p=window.day_weights()
    ) + sample_business_time(rng, n_anonymous)
    visitors = max(1, n_anonymous // 2)
    visitor_ids = [_client_id(rng, 1_600_000_000 + k) for k in range(visitors)]
    visitor_of = rng.integers(0, visitors, size=n_anonymous)
    rows = []
    for k in range(n_anonymous):
        channel = spec.CHANNELS[channel_idx[k]].name
        rows.append(
            (
                float(anon_days[k]),
                visitor_ids[visitor_of[k]],
                None,
                channel,
                campaigns.pick(rng, channel, float(anon_days[k])),
                None,
                "browse",
                None,
                None,
            )
        )
    return rows


REPEAT_PURCHASE_EVERY = 25  # GA4 logs the purchase twice for 1 order in 25 (a reload)


def repeated_purchases(events: pl.DataFrame) -> pl.DataFrame:
    """The purchase events GA4 sends twice: the thank-you page reloaded 3 seconds later."""
    purchases = events.filter(pl.col("event_name") == "purchase")
    again = purchases.filter(pl.col("order_id") % REPEAT_PURCHASE_EVERY == 0)
    return again.with_columns(pl.col("ts") + 3)


def _to_ga4(
    events: pl.DataFrame, lines: pl.DataFrame, products: pl.DataFrame, window: Window
) -> pl.DataFrame:
    events = pl.concat([events, repeated_purchases(events)])
    ts_us = (pl.col("ts") * 1_000_000).cast(pl.Int64)
    local = pl.from_epoch(ts_us + MOSCOW_UTC_OFFSET_HOURS * 3_600_000_000, time_unit="us")
    events = (
        events.join(_order_items(lines, products), on="order_id", how="left")
        .join(_product_items(products), on="item_id", how="left")
        .sort("ts", "session")
    )
    events = events.with_columns(
        (pl.lit(f"https://{spec.SITE_HOST}") + pl.col("page")).alias("page_location"),
        (pl.col("start").cast(pl.Int64)).alias("ga_session_id"),
        pl.lit("1").alias("session_engaged"),
    ).with_row_index("event_index")
    events = events.join(_event_params(events), on="event_index", how="left")
    return events.select(
        local.dt.strftime("%Y%m%d").alias("event_date"),
        ts_us.alias("event_timestamp"),
        "event_name",
        "event_params",
        pl.lit(None, pl.Int64).alias("event_previous_timestamp"),
        pl.col("user_id"),
        pl.col("user_pseudo_id"),
        _device(),
        pl.struct(
            pl.lit("Russia").alias("country"),
            pl.lit(None, pl.String).alias("region"),
            pl.lit(None, pl.String).alias("city"),
        ).alias("geo"),
        *_traffic_sources(),
        pl.lit(STREAM_ID).alias("stream_id"),
        pl.lit("WEB").alias("platform"),
        pl.when(pl.col("event_name") == "purchase")
        .then(
            pl.struct(
                pl.col("order_id").cast(pl.String).alias("transaction_id"),
                pl.col("purchase_revenue"),
                pl.col("total_item_quantity"),
                pl.col("unique_items"),
            )
        )
        .alias("ecommerce"),
        pl.when(pl.col("event_name") == "purchase")
        .then(pl.col("items"))
        .otherwise(pl.col("product_items"))
        .alias("items"),
        "day",
    )


def _order_items(lines: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """A purchase's items and totals, by order."""
    return (
        lines.join(products, on="product_id")
        .group_by("order_id")
        .agg(
            pl.struct(
                pl.col("product_id").cast(pl.String).alias("item_id"),
                pl.col("name").alias("item_name"),
                pl.col("category").alias("item_category"),
                pl.col("unit_price").alias("price"),
                pl.col("quantity"),
            ).alias("items"),
            (pl.col("unit_price") * pl.col("quantity")).sum().alias("purchase_revenue"),
            pl.col("quantity").sum().alias("total_item_quantity"),
            pl.len().cast(pl.Int64).alias("unique_items"),
        )
    )


def _product_items(products: pl.DataFrame) -> pl.DataFrame:
    """view_item and add_to_cart carry the one product they are about, as GA4 does."""
    return products.select(
        pl.col("product_id").alias("item_id"),
        pl.concat_list(
            pl.struct(
                pl.col("product_id").cast(pl.String).alias("item_id"),
                pl.col("name").alias("item_name"),
                pl.col("category").alias("item_category"),
                pl.lit(None, pl.Float64).alias("price"),
                pl.lit(1, pl.Int64).alias("quantity"),
            )
        ).alias("product_items"),
    )


def _device() -> pl.Expr:
    def part(k: int) -> pl.Expr:
        names = {i: d[k] for i, d in enumerate(DEVICES)}
        return pl.col("device").replace_strict(names, return_dtype=pl.String)

    return pl.struct(
        part(0).alias("category"),
        part(1).alias("operating_system"),
        pl.lit("ru-ru").alias("language"),
        pl.struct(part(2).alias("browser"), pl.lit(spec.SITE_HOST).alias("hostname")).alias(
            "web_info"
        ),
    ).alias("device")


def _traffic_sources() -> tuple[pl.Expr, pl.Expr]:
    """traffic_source (the user's first) and collected_traffic_source (the event's)."""
    channels = {c.name: c for c in spec.CHANNELS}
    medium_of = {name: c.medium for name, c in channels.items()}
    source_of = {name: c.sources[0] for name, c in channels.items()}
    source = pl.coalesce(
        pl.col("utm_source"), pl.col("channel").replace_strict(source_of, default=None)
    )
    medium = pl.col("channel").replace_strict(medium_of, default=None)
    return (
        pl.struct(
            pl.col("utm_campaign").alias("name"),
            medium.alias("medium"),
            source.alias("source"),
        ).alias("traffic_source"),
        pl.struct(
            pl.col("campaign_id").cast(pl.String).alias("manual_campaign_id"),
            pl.col("utm_campaign").alias("manual_campaign_name"),
            source.alias("manual_source"),
            medium.alias("manual_medium"),
        ).alias("collected_traffic_source"),
    )


EVENT_PARAMS = (  # GA4 key, column, typed value field
    ("page_location", "page_location", "string_value"),
    ("page_title", "title", "string_value"),
    ("ga_session_id", "ga_session_id", "int_value"),
    ("ga_session_number", "session_number", "int_value"),
    ("engagement_time_msec", "engagement", "int_value"),
    ("percent_scrolled", "scroll", "int_value"),
    ("session_engaged", "session_engaged", "string_value"),
    ("form_id", "form_id", "string_value"),
)


def _event_params(events: pl.DataFrame) -> pl.DataFrame:
    """GA4's event_params array (key + typed value) built in long form, then grouped.

    Built long and grouped because `concat_list` of structs is very slow in polars 2.x.
    """
    parts = []
    for order, (key, column, field) in enumerate(EVENT_PARAMS):
        value = pl.struct(
            (
                pl.col(column).cast(pl.String)
                if field == "string_value"
                else pl.lit(None, pl.String)
            ).alias("string_value"),
            (
                pl.col(column).cast(pl.Int64) if field == "int_value" else pl.lit(None, pl.Int64)
            ).alias("int_value"),
            pl.lit(None, pl.Float64).alias("float_value"),
            pl.lit(None, pl.Float64).alias("double_value"),
        )
        parts.append(
            events.filter(pl.col(column).is_not_null()).select(
                "event_index",
                pl.lit(order).alias("order"),
                pl.lit(key).alias("key"),
                value.alias("value"),
            )
        )
    return (
        pl.concat(parts)
        .sort("event_index", "order")
        .group_by("event_index", maintain_order=True)
        .agg(pl.struct("key", "value").alias("event_params"))
    )
