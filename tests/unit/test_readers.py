import gzip
import json
import sqlite3
from pathlib import Path

import pytest

from pipelines.ingest import readers

CDR_ROW = (
    '"","89161234567","74951234567","from-trunk","\\"{name}\\" <89161234567>",'
    '"SIP/trunk-0000001a","SIP/101-0000001b","Queue","sales,t,,,300",'
    '"2025-01-05 11:00:00","2025-01-05 11:00:12","2025-01-05 11:02:12",132,120,'
    '"ANSWERED","DOCUMENTATION","1736074800.1",""\n'
)


def test_cdr_files_in_cp1251_or_utf8_read_the_same(tmp_path: Path) -> None:
    row = CDR_ROW.replace('\\"', '""').format(name="Иван Петров")
    (tmp_path / "Master-old.csv").write_bytes(row.encode("cp1251"))
    (tmp_path / "Master-new.csv").write_bytes(row.encode("utf-8"))
    old = readers.read_cdr_file(tmp_path / "Master-old.csv")
    new = readers.read_cdr_file(tmp_path / "Master-new.csv")
    assert old["clid"][0] == new["clid"][0] == '"Иван Петров" <89161234567>'
    assert old["billsec"][0] == 120 and old["_line_number"][0] == 1
    assert old["_source_file"][0] == "Master-old.csv"


def test_a_file_in_no_known_encoding_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "Master-bad.csv"
    path.write_bytes(b"\x98\x98\x98")  # undefined in cp1251, invalid in UTF-8
    with pytest.raises(readers.SourceError, match=r"Master-bad\.csv: neither UTF-8 nor cp1251"):
        readers.read_cdr_file(path)


def test_ga4_params_become_typed_columns(tmp_path: Path) -> None:
    event = {
        "event_date": "20250105",
        "event_timestamp": 1736074800123456,
        "event_name": "page_view",
        "event_params": [
            {"key": "page_location", "value": {"string_value": "https://x.ru/blog"}},
            {"key": "ga_session_id", "value": {"int_value": 1736074800}},
            {"key": "engagement_time_msec", "value": {"int_value": 5300}},
        ],
        "user_pseudo_id": "123.456",
        "user_id": None,
        "an_unexpected_field": {"nested": True},
    }
    path = tmp_path / "events_20250105.ndjson.gz"
    path.write_bytes(gzip.compress(json.dumps(event).encode()))
    frame = readers.read_ga4_file(path)
    row = frame.row(0, named=True)
    assert row["page_location"] == "https://x.ru/blog"
    assert row["ga_session_id"] == 1736074800 and row["engagement_time_msec"] == 5300
    assert row["form_id"] is None
    assert str(row["event_date"]) == "2025-01-05"
    assert row["event_timestamp"].microsecond == 123456


def test_a_truncated_gzip_file_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "events_20250106.ndjson.gz"
    path.write_bytes(gzip.compress(b'{"event_name": "page_view"}\n' * 100)[:40])
    with pytest.raises(readers.SourceError, match=r"events_20250106\.ndjson\.gz: broken gzip"):
        readers.read_ga4_file(path)


def test_crm_tables_read_into_arrow_with_their_types(tmp_path: Path) -> None:
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("create table teams (team_id integer primary key, name text, updated_at text)")
        con.execute("insert into teams values (1, 'North', '2025-01-01 00:00:00')")
    table = readers.read_crm_table(f"sqlite://{path}", "teams")
    assert table.to_pylist() == [
        {"team_id": 1, "name": "North", "updated_at": "2025-01-01 00:00:00"}
    ]
    with pytest.raises(readers.SourceError, match="unknown CRM table 'users'"):
        readers.read_crm_table(f"sqlite://{path}", "users")
    with pytest.raises(readers.SourceError, match="cannot read CRM table 'deals'"):
        readers.read_crm_table(f"sqlite://{path}", "deals")


def test_database_passwords_never_reach_messages() -> None:
    assert (
        readers._redact("postgresql://acrm:s3cret@db:5432/crm")
        == "postgresql://acrm:***@db:5432/crm"
    )
