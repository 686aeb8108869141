"""GA4 BigQuery-export rows flattened: one row per event, useful event_params as columns.

Tolerant of absent nested fields (a day without purchases has no `ecommerce`); every
top-level field that is not flattened is kept, as JSON, in `_extra`: nothing is lost.
"""

from __future__ import annotations

import polars as pl

from pipelines.ingest.contracts import EXTRA, LINE, RAW

GA4_REQUIRED = ("event_date", "event_timestamp", "event_name", "user_pseudo_id")
# Top-level fields of Google's documented export schema: present or not, they are expected.
GA4_FIELDS = frozenset(
    {
        "event_date",
        "event_timestamp",
        "event_name",
        "event_params",
        "event_previous_timestamp",
        "event_value_in_usd",
        "event_bundle_sequence_id",
        "event_server_timestamp_offset",
        "user_id",
        "user_pseudo_id",
        "privacy_info",
        "user_properties",
        "user_first_touch_timestamp",
        "user_ltv",
        "device",
        "geo",
        "app_info",
        "traffic_source",
        "stream_id",
        "platform",
        "event_dimensions",
        "ecommerce",
        "items",
        "collected_traffic_source",
        "is_active_user",
        "batch_event_index",
        "batch_page_id",
        "batch_ordering_id",
        "session_traffic_source_last_click",
        "publisher",
    }
)
TYPES = {  # the flattened columns' types, the same in every partition
    "ga_session_id": pl.Int64,
    "ga_session_number": pl.Int64,
    "engagement_time_msec": pl.Int64,
    "percent_scrolled": pl.Int64,
    "session_campaign_id": pl.String,
    "purchase_revenue": pl.Float64,
    "transaction_id": pl.String,
}
# event_params key -> (column, typed value field)
PARAMS = {
    "ga_session_id": ("ga_session_id", "int_value"),
    "ga_session_number": ("ga_session_number", "int_value"),
    "page_location": ("page_location", "string_value"),
    "page_title": ("page_title", "string_value"),
    "engagement_time_msec": ("engagement_time_msec", "int_value"),
    "percent_scrolled": ("percent_scrolled", "int_value"),
    "form_id": ("form_id", "string_value"),
}
NESTED = {  # column -> path in the export row
    "device_category": ("device", "category"),
    "operating_system": ("device", "operating_system"),
    "browser": ("device", "web_info", "browser"),
    "geo_country": ("geo", "country"),
    "first_user_source": ("traffic_source", "source"),
    "first_user_medium": ("traffic_source", "medium"),
    "first_user_campaign": ("traffic_source", "name"),
    "transaction_id": ("ecommerce", "transaction_id"),
    "purchase_revenue": ("ecommerce", "purchase_revenue"),
}
# The session's traffic source, from whichever fields the export has, newest first:
# session_traffic_source_last_click (exports since mid-2024), collected_traffic_source
# (since 2023, on the events that carried utm tags), then the event_params GA4 wrote before
# (source, medium, campaign on session_start and page_view). A path or an event_params key.
SESSION_SOURCE = {
    "session_source": (
        ("session_traffic_source_last_click", "manual_campaign", "source"),
        ("collected_traffic_source", "manual_source"),
        "source",
    ),
    "session_medium": (
        ("session_traffic_source_last_click", "manual_campaign", "medium"),
        ("collected_traffic_source", "manual_medium"),
        "medium",
    ),
    "session_campaign_name": (
        ("session_traffic_source_last_click", "manual_campaign", "campaign_name"),
        ("collected_traffic_source", "manual_campaign_name"),
        "campaign",
    ),
    "session_campaign_id": (
        ("session_traffic_source_last_click", "manual_campaign", "campaign_id"),
        ("collected_traffic_source", "manual_campaign_id"),
        "campaign_id",
    ),
    "session_channel_group": (
        ("session_traffic_source_last_click", "cross_channel_campaign", "default_channel_group"),
    ),
    "gclid": (("collected_traffic_source", "gclid"), "gclid"),
}
FLATTENED_TOP = {
    "event_date",
    "event_timestamp",
    "event_name",
    "user_id",
    "user_pseudo_id",
    "event_params",
}


def _path(schema: pl.Schema, path: tuple[str, ...]) -> pl.Expr:
    """The nested field, or a null when the export has no such field."""
    dtype = schema.get(path[0])
    expr = pl.col(path[0])
    for name in path[1:]:
        fields = {f.name: f.dtype for f in dtype.fields} if isinstance(dtype, pl.Struct) else {}
        if name not in fields:
            return pl.lit(None, pl.String)
        dtype, expr = fields[name], expr.struct.field(name)
    return expr if dtype is not None else pl.lit(None, pl.String)


def _param(schema: pl.Schema, key: str, field: str) -> pl.Expr:
    params = schema.get("event_params")
    inner = params.inner if isinstance(params, pl.List) else None
    value = (
        dict((f.name, f.dtype) for f in inner.fields).get("value")
        if isinstance(inner, pl.Struct)
        else None
    )
    if not isinstance(value, pl.Struct) or field not in {f.name for f in value.fields}:
        return pl.lit(None, pl.String)
    return (
        pl.col("event_params")
        .list.eval(
            pl.element()
            .filter(pl.element().struct.field("key") == key)
            .struct.field("value")
            .struct.field(field)
        )
        .list.first()
    )


def _first_present(schema: pl.Schema, column: str, places: tuple) -> pl.Expr:
    """The first of several fields (a nested path or an event_params key) that has a value."""
    values = [
        _param(schema, place, "string_value") if isinstance(place, str) else _path(schema, place)
        for place in places
    ]
    blank_to_null = [pl.when(v.cast(pl.String) != "").then(v.cast(pl.String)) for v in values]
    return pl.coalesce(blank_to_null).alias(column)


def flatten_ga4(raw: pl.DataFrame) -> pl.DataFrame:
    schema = raw.schema
    rest = [c for c in raw.columns if c not in FLATTENED_TOP and c not in (LINE, RAW)]
    columns = [
        *[
            pl.col(c) if c in schema else pl.lit(None, pl.String).alias(c)
            for c in ("event_date", "event_timestamp", "event_name", "user_pseudo_id")
        ],
        (
            pl.col("user_id").cast(pl.String) if "user_id" in schema else pl.lit(None, pl.String)
        ).alias("user_id"),
        *[
            _param(schema, key, field)
            .cast(TYPES.get(column, pl.String), strict=False)
            .alias(column)
            for key, (column, field) in PARAMS.items()
        ],
        *[
            _path(schema, path).cast(TYPES.get(column, pl.String), strict=False).alias(column)
            for column, path in NESTED.items()
        ],
        *[_first_present(schema, column, places) for column, places in SESSION_SOURCE.items()],
        (pl.struct(rest).struct.json_encode() if rest else pl.lit(None, pl.String)).alias(EXTRA),
        LINE,
        RAW,
    ]
    flat = raw.select(columns)
    return flat.with_columns(
        pl.from_epoch(pl.col("event_timestamp").cast(pl.Int64, strict=False), time_unit="us").alias(
            "event_at"
        )
    )
