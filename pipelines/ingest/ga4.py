"""GA4 BigQuery-export rows flattened: one row per event, useful event_params as columns.

Tolerant of absent nested fields (a day without purchases has no `ecommerce`); every
top-level field that is not flattened is kept, as JSON, in `_extra`: nothing is lost.
"""

from __future__ import annotations

import polars as pl

from core.contracts import LINE, RAW

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


SQL_TYPES = {pl.Int64: "BIGINT", pl.Float64: "DOUBLE", pl.String: "VARCHAR"}
PARAM_SHAPE = (
    '[{"key": "VARCHAR", "value": {"string_value": "VARCHAR", "int_value": "VARCHAR", '
    '"float_value": "VARCHAR", "double_value": "VARCHAR"}}]'
)
NOT_AN_OBJECT = "not a JSON object: {}"


def _json_path(path: tuple[str, ...]) -> str:
    return "$." + ".".join(f'"{name}"' for name in path)


def _param(key: str, field: str) -> str:
    """An event_params value by its key: the first entry with that key."""
    return f"list_filter(__params, lambda p: p.key = '{key}')[1].value.{field}"


def _typed(sql: str, column: str) -> str:
    kind = SQL_TYPES[TYPES.get(column, pl.String)]
    return f"try_cast({sql} as {kind}) as {column}"


def _flat_columns(paths: list[str]) -> list[str]:
    """The flattened columns as SQL over `__v` (the values at `paths`) and `__params`."""

    def at(path: tuple[str, ...]) -> str:
        return f"__v[{paths.index(_json_path(path)) + 1}]"

    columns = [f"{at((c,))} as {c}" for c in (*GA4_REQUIRED, "user_id")]
    columns += [_typed(_param(key, field), col) for key, (col, field) in PARAMS.items()]
    columns += [_typed(at(path), column) for column, path in NESTED.items()]
    for column, places in SESSION_SOURCE.items():
        values = [_param(p, "string_value") if isinstance(p, str) else at(p) for p in places]
        firsts = ", ".join(f"nullif({v}, '')" for v in values)
        columns.append(_typed(f"coalesce({firsts})", column))
    return columns


def flatten_sql(lines: str) -> str:
    """One row per line of `lines` (__file, _line_number, _raw): the event flattened with
    its typed params and traffic source, `__drift` (top-level fields outside Google's
    schema) and `__parse_error` for a line that is no JSON object. The event as exported
    (`_raw`) is what the lake keeps as `_extra`: rebuilding it without the flattened fields
    costs more than parsing it (docs/DECISIONS.md), and nothing of it is lost."""
    wanted = [(c,) for c in (*GA4_REQUIRED, "user_id")] + list(NESTED.values())
    wanted += [p for places in SESSION_SOURCE.values() for p in places if not isinstance(p, str)]
    paths = list(dict.fromkeys(_json_path(p) for p in wanted))
    known = ", ".join(f"'{name}'" for name in sorted(GA4_FIELDS))
    return f"""
with parsed as (
    select *, coalesce(try(json_type({RAW})) = 'OBJECT', false) as __object
    from {lines}
), valued as (
    select *,
        case when __object then json_extract_string({RAW}, {paths}) end as __v,
        case when __object then from_json(json_extract({RAW}, '$.event_params'),
            '{PARAM_SHAPE}') end as __params,
        case when __object then list_filter(json_keys({RAW}), lambda k: k not in ({known}))
            end as __drift
    from parsed
)
select __file, {LINE}, {RAW},
    case when not __object then format('{NOT_AN_OBJECT}', case when json_valid({RAW})
        then 'a JSON ' || lower(json_type({RAW})) else 'invalid JSON' end) end
        as __parse_error,
    __drift,
    {", ".join(_flat_columns(paths))},
    make_timestamp(try_cast(__v[{paths.index('$."event_timestamp"') + 1}] as bigint))
        as event_at
from valued
"""
