"""Read each operational source into Arrow/polars, with lineage columns, and nothing else.

Pure functions: no Dagster, no warehouse. Every reader names the file it failed on.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import connectorx as cx
import polars as pl
import pyarrow as pa

from acrm.formats import AD_SPEND_SCHEMA, CDR_SCHEMA

CRM_TABLES = (
    "teams",
    "managers",
    "pipelines",
    "pipeline_stages",
    "loss_reasons",
    "product_categories",
    "products",
    "campaigns",
    "customers",
    "contacts",
    "deals",
    "deal_stage_history",
    "orders",
    "order_lines",
    "tickets",
    "survey_responses",
)
_PARAM_VALUE = pl.Struct(
    {
        "string_value": pl.String,
        "int_value": pl.Int64,
        "float_value": pl.Float64,
        "double_value": pl.Float64,
    }
)
GA4_SCHEMA = {
    "event_date": pl.String,
    "event_timestamp": pl.Int64,
    "event_name": pl.String,
    "event_params": pl.List(pl.Struct({"key": pl.String, "value": _PARAM_VALUE})),
    "user_id": pl.String,
    "user_pseudo_id": pl.String,
    "device": pl.Struct(
        {
            "category": pl.String,
            "operating_system": pl.String,
            "language": pl.String,
            "web_info": pl.Struct({"browser": pl.String, "hostname": pl.String}),
        }
    ),
    "geo": pl.Struct({"country": pl.String, "region": pl.String, "city": pl.String}),
    "traffic_source": pl.Struct({"name": pl.String, "medium": pl.String, "source": pl.String}),
    "collected_traffic_source": pl.Struct(
        {
            "manual_campaign_id": pl.String,
            "manual_campaign_name": pl.String,
            "manual_source": pl.String,
            "manual_medium": pl.String,
        }
    ),
    "ecommerce": pl.Struct(
        {
            "transaction_id": pl.String,
            "purchase_revenue": pl.Float64,
            "total_item_quantity": pl.Int64,
            "unique_items": pl.Int64,
        }
    ),
}
# event_params flattened into typed columns: GA4 key -> (column, value field).
GA4_PARAMS = {
    "ga_session_id": ("ga_session_id", "int_value"),
    "ga_session_number": ("ga_session_number", "int_value"),
    "page_location": ("page_location", "string_value"),
    "page_title": ("page_title", "string_value"),
    "engagement_time_msec": ("engagement_time_msec", "int_value"),
    "percent_scrolled": ("percent_scrolled", "int_value"),
    "form_id": ("form_id", "string_value"),
}


class SourceError(ValueError):
    """A source file or table cannot be read; the message names it and the problem."""


def read_crm_table(url: str, table: str) -> pa.Table:
    """The whole table, read into Arrow by connectorx (no Python row loop)."""
    if table not in CRM_TABLES:
        raise SourceError(f"unknown CRM table {table!r}; expected one of {', '.join(CRM_TABLES)}")
    try:
        return cx.read_sql(url, f"SELECT * FROM {table}", return_type="arrow")
    except Exception as exc:  # connectorx raises plain RuntimeErrors; say which table failed
        raise SourceError(f"cannot read CRM table {table!r} from {_redact(url)}: {exc}") from exc


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8, or cp1251 as older PBXs write; anything else is an error naming the file."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise SourceError(f"{path}: neither UTF-8 nor cp1251 ({exc})") from exc


def read_cdr_file(path: Path) -> pl.DataFrame:
    """One Asterisk Master.csv file (no header), with its file and line number per row."""
    text = decode_text(path, path.read_bytes())
    try:
        frame = pl.read_csv(
            text.encode(),
            has_header=False,
            new_columns=list(CDR_SCHEMA),
            schema_overrides=CDR_SCHEMA,
        )
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"{path}: not an Asterisk CDR CSV file ({exc})") from exc
    return frame.with_columns(
        pl.lit(path.name).alias("_source_file"),
        pl.int_range(1, pl.len() + 1).alias("_line_number"),
    )


def read_ad_file(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, schema_overrides=AD_SPEND_SCHEMA)
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"{path}: not an ad-spend CSV file ({exc})") from exc
    return frame.with_columns(
        pl.lit(path.name).alias("_source_file"),
        pl.int_range(2, pl.len() + 2).alias("_line_number"),  # line 1 is the header
    )


def read_ga4_file(path: Path) -> pl.DataFrame:
    """One GA4 export file (NDJSON, gzipped or not), one row per event, params flattened."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise SourceError(f"{path}: broken gzip stream ({exc})") from exc
    try:
        raw = pl.read_ndjson(data, schema=GA4_SCHEMA)
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"{path}: not GA4 export NDJSON ({exc})") from exc
    return flatten_ga4(raw).with_columns(
        pl.lit(path.name).alias("_source_file"),
        pl.int_range(1, pl.len() + 1).alias("_line_number"),
    )


def flatten_ga4(raw: pl.DataFrame) -> pl.DataFrame:
    def param(key: str, field: str) -> pl.Expr:
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

    return raw.select(
        pl.col("event_date").str.to_date("%Y%m%d"),
        pl.from_epoch("event_timestamp", time_unit="us").alias("event_timestamp"),
        "event_name",
        "user_pseudo_id",
        "user_id",
        *[param(key, field).alias(column) for key, (column, field) in GA4_PARAMS.items()],
        pl.col("device").struct.field("category").alias("device_category"),
        pl.col("device").struct.field("operating_system"),
        pl.col("device").struct.field("web_info").struct.field("browser"),
        pl.col("geo").struct.field("country").alias("geo_country"),
        pl.col("traffic_source").struct.field("source").alias("first_user_source"),
        pl.col("traffic_source").struct.field("medium").alias("first_user_medium"),
        pl.col("traffic_source").struct.field("name").alias("first_user_campaign"),
        pl.col("collected_traffic_source").struct.field("manual_source").alias("session_source"),
        pl.col("collected_traffic_source").struct.field("manual_medium").alias("session_medium"),
        pl.col("collected_traffic_source")
        .struct.field("manual_campaign_id")
        .alias("session_campaign_id"),
        pl.col("collected_traffic_source")
        .struct.field("manual_campaign_name")
        .alias("session_campaign_name"),
        pl.col("ecommerce").struct.field("transaction_id"),
        pl.col("ecommerce").struct.field("purchase_revenue"),
    )


def _redact(url: str) -> str:
    """A URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
