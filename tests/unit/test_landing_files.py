"""Reading source files: encodings, broken lines and files, GA4 flattening, CRM access."""

import gzip
import json
import sqlite3
from pathlib import Path

import duckdb
import polars as pl
import pytest

from core.formats import CDR_COLUMNS
from pipelines.ingest.crm_source import DatabaseSource, redact
from pipelines.ingest.files import (
    SourceError,
)
from pipelines.ingest.sources import CDR, GA4
from tests.readers import read_csv_batch, read_files, read_whole


def read_cdr_file(path: Path):
    """A whole CDR file through the CDR source's reader, as a run reads a new file."""
    return read_whole(CDR, path, path.parent)


CDR_ROW = (
    '"","89161234567","74951234567","from-trunk","""{name}"" <89161234567>",'
    '"SIP/trunk-0000001a","SIP/101-0000001b","Queue","sales,t,,,300",'
    '"2025-01-05 11:00:00","2025-01-05 11:00:12","2025-01-05 11:02:12",132,120,'
    '"ANSWERED","DOCUMENTATION","1736074800.1",""'
)


def test_cdr_files_in_cp1251_or_utf8_read_the_same(tmp_path: Path) -> None:
    row = CDR_ROW.format(name="Иван Петров")
    (tmp_path / "Master-old.csv").write_bytes(row.encode("cp1251"))
    (tmp_path / "Master-new.csv").write_bytes(row.encode("utf-8"))
    old, new = (
        read_cdr_file(tmp_path / name).rows for name in ("Master-old.csv", "Master-new.csv")
    )
    assert old["clid"][0] == new["clid"][0] == '"Иван Петров" <89161234567>'
    assert old["billsec"][0] == "120" and old["_line_number"][0] == 1


def test_every_line_is_a_row_or_a_reject_with_its_line_number(tmp_path: Path) -> None:
    good = CDR_ROW.format(name="Anna")
    lines = [good, '"short","row"', "", good.replace("1736074800.1", "2"), '"unterminated']
    path = tmp_path / "Master-2025-01-05.csv"
    path.write_text("\n".join(lines))
    batch = read_csv_batch(path, list(CDR_COLUMNS))
    assert batch.rows_read == 4  # the blank line is not a row
    assert batch.rows["_line_number"].to_list() == [1, 4]
    rejects = batch.rejects.to_dicts()
    assert [r["_line_number"] for r in rejects] == [2, 5]
    assert rejects[0]["_raw"] == '"short","row"'
    assert rejects[0]["_reason"] == "malformed CSV line: missing columns"
    assert "unquoted value" in rejects[1]["_reason"]


def test_a_file_in_no_known_encoding_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "Master-bad.csv"
    path.write_bytes(b"\x98\x98\x98 abc \x98")  # undefined in cp1251, invalid in UTF-8
    with pytest.raises(SourceError, match=r"Master-bad\.csv: the text is neither UTF-8"):
        read_csv_batch(path, list(CDR_COLUMNS))


def test_a_truncated_gzip_file_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "events_20250106.ndjson.gz"
    path.write_bytes(gzip.compress(b'{"event_name": "page_view"}\n' * 100)[:40])
    with pytest.raises(SourceError, match=r"events_20250106\.ndjson\.gz: broken gzip"):
        read_ga4(path)


def read_ga4(*paths: Path) -> pl.DataFrame:
    with duckdb.connect() as con:
        return read_files(con, GA4, list(paths))


def test_invalid_json_lines_are_rejected_and_the_rest_read(tmp_path: Path) -> None:
    path = tmp_path / "events_20250105.ndjson"
    path.write_text('{"event_name": "a"}\n{"a": 2,\n\n[1, 2]\n{"event_name": "b"}\n')
    rows = read_ga4(path)
    assert rows["_line_number"].to_list() == [1, 2, 4, 5]  # the blank line 3 is no row
    parsed = rows.filter(pl.col("__parse_error").is_null())
    assert parsed["event_name"].to_list() == ["a", "b"]
    errors = rows.filter(pl.col("__parse_error").is_not_null())
    assert errors["__parse_error"].to_list() == [
        "not a JSON object: invalid JSON",
        "not a JSON object: a JSON array",
    ]


def test_lines_are_numbered_as_in_each_file_whatever_its_encoding(tmp_path: Path) -> None:
    lines = ['{"event_name": "a"}', "", '{"event_name": "Ё"}', '{"event_name": "c"}']
    (tmp_path / "events_20250101.json").write_text("\n".join(lines) + "\n")
    (tmp_path / "events_20250102.json.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    (tmp_path / "events_20250103.json").write_bytes("\r\n".join(lines).encode("utf-16"))
    (tmp_path / "events_20250104.json").write_bytes("\n".join(lines).encode("cp1251"))
    (tmp_path / "events_20250105.json").write_bytes(gzip.compress("\n".join(lines).encode()))
    rows = read_ga4(*sorted(tmp_path.iterdir()))
    by_file = rows.group_by("__file", maintain_order=True).agg("_line_number", "event_name")
    assert by_file.height == 5
    for numbers, names in zip(by_file["_line_number"], by_file["event_name"], strict=True):
        assert numbers.to_list() == [1, 3, 4] and names.to_list() == ["a", "Ё", "c"]


def test_ga4_params_become_typed_columns_and_the_rest_is_kept(tmp_path: Path) -> None:
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
        "a_new_field": {"nested": True},
    }
    path = tmp_path / "events_20250105.ndjson.gz"
    path.write_bytes(gzip.compress(json.dumps(event).encode()))
    row = read_ga4(path).row(0, named=True)
    assert row["page_location"] == "https://x.ru/blog"
    assert row["ga_session_id"] == 1736074800 and row["engagement_time_msec"] == 5300
    assert row["form_id"] is None and row["transaction_id"] is None  # absent in this export
    assert row["event_at"].microsecond == 123456
    assert row["__drift"] == ["a_new_field"]  # outside Google's schema: reported as drift
    assert json.loads(row["_raw"]) == event  # kept whole, as the lake's _extra: nothing lost


def test_crm_tables_read_into_arrow_with_their_types(tmp_path: Path) -> None:
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("create table teams (team_id integer primary key, name text, updated_at text)")
        con.execute("insert into teams values (1, 'North', '2025-01-01 00:00:00')")
    source = DatabaseSource(f"sqlite://{path}")
    assert "teams" in source.tables()
    frame = source._read("select * from teams", "teams")
    assert frame.to_dicts() == [
        {"team_id": 1, "name": "North", "updated_at": "2025-01-01 00:00:00"}
    ]
    assert frame.schema["team_id"] == pl.Int64
    with pytest.raises(SourceError, match="cannot read deals from"):
        source._read("select * from deals", "deals")


def test_database_passwords_never_reach_messages() -> None:
    assert redact("postgresql://acrm:s3cret@db:5432/crm") == "postgresql://acrm:***@db:5432/crm"
