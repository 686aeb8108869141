"""Asterisk's queue_log: one line per queue event, `time|callid|queue|agent|event|data...`.

Events that make a queue call: ENTERQUEUE (url, caller id, position), CONNECT (hold time,
bridged uniqueid, ring time), ABANDON and EXITWITHTIMEOUT (position, original position,
wait time), COMPLETECALLER and COMPLETEAGENT (hold time, talk time, original position).
Asterisk 1.8+ writes data1..data5 as fields; older versions one `data` field holding the
same values joined by '|', which splits the same way. Times are epoch seconds.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from core.contracts import FILE, LINE, RAW, REASON
from core.settings import call_center_timezone
from pipelines.ingest.files import NewText, RawBatch, per_file, texts_lines

QUEUE_LOG_COLUMNS = (
    "time",
    "callid",
    "queuename",
    "agent",
    "event",
    "data1",
    "data2",
    "data3",
    "data4",
    "data5",
)


def read_queue_logs(texts: list[NewText], folder: Path) -> list[RawBatch]:
    """queue_log lines of many files as text columns, split together; a line with fewer
    than five fields is a reject."""
    lines = texts_lines(texts)
    parts = pl.col(RAW).str.splitn("|", len(QUEUE_LOG_COLUMNS))
    split = lines.with_columns(parts.alias("_parts")).unnest("_parts")
    split = split.rename(dict(zip(split.columns[3:], QUEUE_LOG_COLUMNS, strict=False)))
    for column in QUEUE_LOG_COLUMNS:
        if column not in split.columns:
            split = split.with_columns(pl.lit(None, pl.String).alias(column))
    short = split["event"].is_null()
    rejects = split.filter(short).select(
        FILE, LINE, RAW, pl.lit("malformed queue_log line: fewer than 5 fields").alias(REASON)
    )
    rows = split.filter(~short).select(FILE, *QUEUE_LOG_COLUMNS, LINE, RAW)
    batches = per_file(dict(enumerate(t.path for t in texts)), lines, rows, rejects)
    for batch in batches.values():
        batch.layout = "queue_log"
    return list(batches.values())


def queue_log_local_time(rows: pl.DataFrame) -> pl.DataFrame:
    """The event's moment as the call center's wall clock, like the CDR's times."""
    zone = call_center_timezone()
    local = (
        pl.from_epoch(pl.col("time"), time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(zone)
        .dt.replace_time_zone(None)
    )
    return rows.with_columns(local.alias("event_at"))
