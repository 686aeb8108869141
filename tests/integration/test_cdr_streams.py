"""CDR files as a PBX leaves them: one growing Master.csv, logrotate's copies, daily files.

Each run lands what the files added since the last run, once; rows belong to the day of
their start in the call center's time zone; every line is loaded or quarantined.
"""

import gzip
import os
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.loader import ensure_bookkeeping
from pipelines.ingest.sources import CDR
from pipelines.ingest.streams import land_stream_source
from tests.unit.test_cdr_formats import QUEUE_CALL_21


def leg(n: int, start: str = "2025-03-03 10:00:00", end: str = "2025-03-03 10:00:15") -> str:
    """A 21-field leg of call n (a queue ring nobody answered)."""
    return (
        f'"","7916123{n:04d}","100","from-trunk","""X"" <7916123{n:04d}>","SIP/trunk-{n:08x}",'
        f'"SIP/101-{n:08x}","Queue","sales","{start}",,"{end}",15,0,"NO ANSWER",'
        f'"DOCUMENTATION","1741000000.{n}","","","1741000000.{n}",1'
    )


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    (tmp_path / "calls").mkdir()
    return tmp_path


@pytest.fixture
def con(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        ensure_bookkeeping(connection)
        yield connection


def land(con, sources: Path) -> list:
    return land_stream_source(con, CDR, sources, str(uuid.uuid4()))


def rows(con, sql: str) -> list:
    return con.execute(sql).fetchall()


def test_a_growing_master_lands_only_new_lines_and_rotation_adds_nothing(con, sources) -> None:
    master = sources / "calls" / "Master.csv"
    master.write_text("\n".join(leg(n) for n in range(1, 4)) + "\n")
    assert [r.rows_loaded for r in land(con, sources)] == [3]
    assert land(con, sources) == []  # nothing new: nothing landed, nothing re-read
    with master.open("a") as growing:
        growing.write(leg(4) + "\n" + leg(5) + "\n")
    [appended] = land(con, sources)
    assert (appended.rows_read, appended.rows_loaded) == (2, 2)
    assert rows(con, "select _line_number from raw.cdr_calls order by 1") == [
        (n,) for n in range(1, 6)
    ]
    # logrotate: Master.csv -> Master.csv-20250304.gz (one more line written before it), a
    # new Master.csv starts
    rotated = sources / "calls" / "Master.csv-20250304.gz"
    rotated.write_bytes(gzip.compress((master.read_text() + leg(6) + "\n").encode()))
    master.write_text(leg(7) + "\n")
    reports = {r.partition: r.rows_loaded for r in land(con, sources)}
    assert reports == {"calls/Master.csv-20250304.gz": 1, "calls/Master.csv": 1}
    assert rows(con, "select count(*), count(distinct uniqueid) from raw.cdr_calls") == [(7, 7)]
    audit = rows(con, "select sum(rows_read), sum(rows_loaded) from raw._load_audit")
    assert audit == [(7, 7)]


def test_a_half_written_last_line_of_the_live_file_waits(con, sources) -> None:
    master = sources / "calls" / "Master.csv"
    master.write_text(leg(1) + "\n" + leg(2)[:40])
    assert [r.rows_loaded for r in land(con, sources)] == [1]
    master.write_text(leg(1) + "\n" + leg(2) + "\n")
    assert [r.rows_loaded for r in land(con, sources)] == [1]
    assert rows(con, "select count(*) from raw._quarantine") == [(0,)]


def test_a_row_belongs_to_the_day_of_its_start_whatever_the_file_is_named(
    con, sources, monkeypatch
) -> None:
    daily = sources / "calls" / "Master-2025-03-01.csv"
    daily.write_text(leg(1, "2025-03-03 23:59:50", "2025-03-04 00:00:05") + "\n")
    land(con, sources)
    assert rows(con, "select cast(_partition as varchar) from raw.cdr_calls") == [("2025-03-03",)]
    # a PBX with usegmtime=yes writes UTC: 22:30 UTC is 01:30 the next day in Moscow
    monkeypatch.setenv("ACRM_CDR_UTC", "1")
    (sources / "calls" / "Master-utc.csv").write_text(
        leg(2, "2025-03-03 22:30:00", "2025-03-03 22:30:15") + "\n"
    )
    land(con, sources)
    assert rows(
        con,
        "select cast(start as varchar), cast(_partition as varchar) from raw.cdr_calls "
        "where uniqueid = '1741000000.2'",
    ) == [("2025-03-04 01:30:00", "2025-03-04")]


def test_legs_of_a_queue_call_load_and_an_exact_repeat_elsewhere_is_quarantined(
    con, sources
) -> None:
    (sources / "calls" / "Master.csv").write_text("\n".join(QUEUE_CALL_21) + "\n")
    (sources / "calls" / "Master-2025-03-03.csv").write_text(QUEUE_CALL_21[1] + "\n")
    later = time.time_ns() + 10**12  # the daily file came last: it is landed after Master
    os.utime(sources / "calls" / "Master-2025-03-03.csv", ns=(later, later))
    land(con, sources)
    assert rows(con, "select sequence from raw.cdr_calls order by 1") == [(21,), (22,)]
    assert rows(con, "select file, line_number, reason from raw._quarantine") == [
        ("Master-2025-03-03.csv", 1, "exact repeat of a line already landed from Master.csv")
    ]
    audit = rows(
        con,
        "select file, rows_read, rows_loaded, rows_quarantined from raw._load_audit order by file",
    )
    assert audit == [("Master-2025-03-03.csv", 1, 0, 1), ("Master.csv", 2, 2, 0)]


def test_a_changed_landed_line_lands_the_file_again_without_doubling(con, sources) -> None:
    daily = sources / "calls" / "Master-2025-03-03.csv"
    daily.write_text("\n".join(leg(n) for n in range(1, 4)) + "\n")
    land(con, sources)
    daily.write_text("\n".join([leg(1), leg(2).replace("NO ANSWER", "BUSY"), leg(3)]) + "\n")
    [again] = land(con, sources)
    assert "replace" in rows(con, "select max(message) from raw._load_audit")[0][0]
    assert again.rows_loaded == 3
    assert rows(con, "select disposition, count(*) from raw.cdr_calls group by 1 order by 1") == [
        ("BUSY", 1),
        ("NO ANSWER", 2),
    ]


def test_exports_that_share_a_header_are_separate_files(con, sources) -> None:
    """Every daily export of a platform starts with the same header: each is its own file,
    known by its first record, and a day's second export replaces nothing of another's."""
    from pipelines.ingest.sources import AD_SPEND

    folder = sources / "ads" / "mytarget"
    folder.mkdir(parents=True)
    header = (
        "date,platform,account_id,campaign_id,campaign_name,utm_campaign,impressions,clicks,"
        "spend,currency"
    )
    for day in ("2025-03-01", "2025-03-02", "2025-03-03"):
        row = f"{day},mytarget,mt-1,7,mytarget · brand,mytarget_brand,100,3,250.5,RUB"
        (folder / f"mytarget_{day}.csv").write_text(f"{header}\n{row}\n")
    reports = land_stream_source(con, AD_SPEND, sources, str(uuid.uuid4()))
    assert [r.rows_loaded for r in reports] == [1, 1, 1]
    assert rows(con, "select count(*), sum(spend) from raw.ad_spend") == [(3, 751.5)]
