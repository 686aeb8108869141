"""GA4 rows as BigQuery's `bq extract` writes them (NEWLINE_DELIMITED_JSON): INT64 as JSON
strings, null fields left out, traffic fields of whichever export vintage."""

import json
from pathlib import Path

import duckdb

from pipelines.ingest.daily import ensure_table, land_days, unchanged_days
from pipelines.ingest.loader import ensure_bookkeeping
from pipelines.ingest.sources import GA4
from tests.readers import read_files


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
    with duckdb.connect() as con:
        flat = read_files(con, GA4, [path])
    assert flat["__parse_error"].null_count() == flat.height
    valid, rejected = GA4.contract().split(flat.drop("__parse_error", "__drift"))
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
    again = {**EVENTS[3], "event_timestamp": "1741000303000000"}
    unusable = {**EVENTS[3], "ecommerce": {"transaction_id": "(not set)"}}
    first = tmp_path / "web" / "events_20250303.json"
    first.parent.mkdir()
    first.write_text("\n".join(json.dumps(e) for e in [EVENTS[3], again, unusable, unusable]))
    next_day = {**EVENTS[3], "event_date": "20250304", "event_timestamp": "1741100000000000"}
    (tmp_path / "web" / "events_20250304.json").write_text(json.dumps(next_day))
    days = {str(day): paths for day, paths in GA4.files_by_day(tmp_path).items()}
    with duckdb.connect() as con:
        ensure_bookkeeping(con)
        ensure_table(con, GA4)
        reports = land_days(con, GA4, {"2025-03-03": days["2025-03-03"]}, "b1")
        reports += land_days(con, GA4, {"2025-03-04": days["2025-03-04"]}, "b2")
    notes = {r.partition: r.message for r in reports}
    assert notes == {  # a repeat on the same day, and one on a later day already landed
        "2025-03-03": "1 repeated purchase events (same transaction_id), counted once",
        "2025-03-04": "1 repeated purchase events (same transaction_id), counted once",
    }


def test_a_day_whose_files_did_not_change_is_not_landed_again(tmp_path: Path) -> None:
    web = tmp_path / "web"
    web.mkdir()
    for day in ("20250303", "20250304"):
        event = {**EVENTS[0], "event_date": day}
        (web / f"events_{day}.json").write_text(json.dumps(event) + "\n")
    days = {str(day): paths for day, paths in GA4.files_by_day(tmp_path).items()}
    with duckdb.connect() as con:
        ensure_bookkeeping(con)
        ensure_table(con, GA4)
        assert unchanged_days(con, GA4, days) == set()
        land_days(con, GA4, days, "b1")
        assert unchanged_days(con, GA4, days) == {"2025-03-03", "2025-03-04"}
        late = web / "events_20250304.json"  # GA4 re-exports a day: its file changes
        late.write_text(late.read_text() + json.dumps({**EVENTS[1], "event_date": "20250304"}))
        assert unchanged_days(con, GA4, days) == {"2025-03-03"}
        land_days(con, GA4, {"2025-03-04": days["2025-03-04"]}, "b2")
        assert unchanged_days(con, GA4, days) == {"2025-03-03", "2025-03-04"}
        counts = con.execute(
            "select _partition::varchar, count(*) from raw.ga4_events group by 1 order by 1"
        ).fetchall()
    assert counts == [("2025-03-03", 1), ("2025-03-04", 2)]
