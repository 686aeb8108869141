"""GA4 rows as BigQuery's `bq extract` writes them (NEWLINE_DELIMITED_JSON): INT64 as JSON
strings, null fields left out, traffic fields of whichever export vintage."""

import json
from pathlib import Path

import duckdb

from pipelines.ingest.files import read_ndjson_batch
from pipelines.ingest.sources import GA4, repeated_purchases_note


def param(key: str, **value) -> dict:
    return {"key": key, "value": value}


EVENTS = [
    {  # 2024+: session_traffic_source_last_click, GA4's own channel group
        "event_date": "20250303",
        "event_timestamp": "1741000000123456",
        "event_name": "session_start",
        "event_params": [
            param("ga_session_id", int_value="1741000000"),
            param("page_location", string_value="https://shop.example.ru/"),
        ],
        "user_pseudo_id": "111.222",
        "session_traffic_source_last_click": {
            "manual_campaign": {"source": "google", "medium": "cpc", "campaign_name": "brand"},
            "cross_channel_campaign": {"default_channel_group": "Paid Search"},
        },
    },
    {  # 2023: collected_traffic_source only
        "event_date": "20250303",
        "event_timestamp": "1741000100000000",
        "event_name": "page_view",
        "event_params": [
            param("ga_session_id", int_value="1741000100"),
            param("engagement_time_msec", int_value="5300"),
        ],
        "user_pseudo_id": "333.444",
        "collected_traffic_source": {
            "manual_source": "newsletter",
            "manual_medium": "email",
            "manual_campaign_id": "42",
        },
    },
    {  # before 2023: utm tags as event_params; a click id alone is google / cpc
        "event_date": "20250303",
        "event_timestamp": "1741000200000000",
        "event_name": "session_start",
        "event_params": [
            param("ga_session_id", int_value="1741000200"),
            param("source", string_value="yandex"),
            param("medium", string_value="organic"),
        ],
        "user_pseudo_id": "555.666",
    },
    {
        "event_date": "20250303",
        "event_timestamp": "1741000300000000",
        "event_name": "purchase",
        "event_params": [param("ga_session_id", int_value="1741000100")],
        "user_pseudo_id": "333.444",
        "user_id": "u-9",
        "ecommerce": {
            "transaction_id": "T1",
            "purchase_revenue": 1990.5,
            "total_item_quantity": "2",
        },
        "items": [{"item_id": "7", "item_name": "Kite", "price": 995.25, "quantity": "2"}],
    },
]


def test_a_bq_extract_file_flattens_with_typed_values_and_each_vintage_s_source(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events_20250303.json"
    path.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    batch = read_ndjson_batch(path)
    valid, rejected = GA4.contract().split(GA4.prepare(batch.rows))
    assert rejected.height == 0
    rows = {r["event_name"] + r["user_pseudo_id"]: r for r in valid.to_dicts()}
    first = rows["session_start111.222"]
    assert (first["event_timestamp"], first["ga_session_id"]) == (1741000000123456, 1741000000)
    assert (first["session_source"], first["session_medium"]) == ("google", "cpc")
    assert first["session_channel_group"] == "Paid Search"
    collected = rows["page_view333.444"]
    assert (collected["session_source"], collected["session_campaign_id"]) == ("newsletter", "42")
    assert collected["engagement_time_msec"] == 5300
    old = rows["session_start555.666"]
    assert (old["session_source"], old["session_medium"]) == ("yandex", "organic")
    purchase = rows["purchase333.444"]
    assert (purchase["transaction_id"], purchase["purchase_revenue"]) == ("T1", 1990.5)
    assert purchase["user_id"] == "u-9" and first["user_id"] is None  # omitted, not an error


def test_the_daily_export_replaces_the_intraday_one_of_its_day(tmp_path: Path) -> None:
    web = tmp_path / "web"
    web.mkdir()
    for name in (
        "events_intraday_20250303.json",
        "events_20250303.json.gz",
        "events_intraday_20250304.json",
    ):
        (web / name).write_text("{}\n")
    days = {str(day): [p.name for p in paths] for day, paths in GA4.files_by_day(tmp_path).items()}
    assert days == {
        "2025-03-03": ["events_20250303.json.gz"],
        "2025-03-04": ["events_intraday_20250304.json"],
    }


def test_repeated_purchase_events_are_counted_for_the_audit(tmp_path: Path) -> None:
    path = tmp_path / "events_20250303.json"
    again = {**EVENTS[3], "event_timestamp": "1741000303000000"}
    unusable = {**EVENTS[3], "ecommerce": {"transaction_id": "(not set)"}}
    path.write_text("\n".join(json.dumps(e) for e in [EVENTS[3], again, unusable, unusable]))
    valid, _ = GA4.contract().split(GA4.prepare(read_ndjson_batch(path).rows))
    with duckdb.connect() as con:
        note = repeated_purchases_note(con, valid, "2025-03-03")
    assert note == "1 repeated purchase events (same transaction_id), counted once"
