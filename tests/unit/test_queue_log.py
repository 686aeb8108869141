"""Asterisk's queue_log, as app_queue writes it (1.8+ with data1..data5, and the older
single data field), read into events with their local time."""

from pathlib import Path

from pipelines.ingest.sources import QUEUE_LOG
from tests.readers import read_whole

QUEUE_LOG_LINES = """1741000000|NONE|sales|PJSIP/101|ADDMEMBER|
1741000800|1741000800.16|sales|NONE|ENTERQUEUE||79161234567|1
1741000812|1741000800.16|sales|PJSIP/101|CONNECT|12|1741000812.17|5
1741000907|1741000800.16|sales|PJSIP/101|COMPLETECALLER|12|95|1
1741001100|1741001100.20|sales|NONE|ENTERQUEUE||79031112233|2
1741001140|1741001100.20|sales|NONE|ABANDON|1|2|40
garbage line
"""


def test_queue_events_split_into_fields_and_local_time(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_text(QUEUE_LOG_LINES)
    batch = read_whole(QUEUE_LOG, path, tmp_path)
    assert batch.rows_read == 7 and batch.rejects["_line_number"].to_list() == [7]
    valid, rejected = QUEUE_LOG.contract().split(batch.rows, keep_raw=True)
    assert rejected.height == 0
    valid = QUEUE_LOG.prepare(valid)
    connect = valid.filter(valid["event"] == "CONNECT").row(0, named=True)
    assert (connect["data1"], connect["data2"], connect["data3"]) == ("12", "1741000812.17", "5")
    # 1741000800 is 2025-03-03 11:20 UTC: 14:20 in Moscow
    entered = valid.filter(valid["event"] == "ENTERQUEUE")["event_at"][0]
    assert str(entered) == "2025-03-03 14:20:00"
    assert valid.filter(valid["event"] == "ABANDON")["data3"].to_list() == ["40"]
