"""Each file source: where its files are, which day a file belongs to, how to read it, and
its contract. The landing assets are generated from these definitions."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from core.contracts import RAW, Column, Contract, Rule
from core.formats import AD_SPEND_COLUMNS, CDR_ALL_COLUMNS
from core.settings import call_center_timezone, cdr_times_in_utc
from pipelines.ingest.ads import read_ad_reports, shape_ad_reports
from pipelines.ingest.cdr import read_cdr_files
from pipelines.ingest.ga4 import GA4_REQUIRED, flatten_sql
from pipelines.ingest.queue_log import (
    QUEUE_LOG_COLUMNS,
    queue_log_local_time,
    read_queue_logs,
)
from pipelines.ingest.streams import StreamSource

ASTERISK_TIME = "%Y-%m-%d %H:%M:%S"
# cdr_csv's format; ISO with a T and day-first, as some PBX downloads write
CDR_TIME_FORMATS = (ASTERISK_TIME, "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M:%S")
DISPOSITIONS = ("ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION")


@dataclass(frozen=True)
class FileSource:
    name: str  # the raw table, e.g. cdr_calls
    folder: str  # below the sources folder
    pattern: str  # glob of its files
    day_pattern: str  # regex with one group: the file's day
    day_format: str
    # SQL over a table of lines (__file, _line_number, _raw): a row per line with the
    # source's columns as text or typed, __parse_error and __drift (daily.py)
    flatten_sql: Callable[[str], str]
    contract: Callable[[], Contract]  # built per load: "now" moves
    required_columns: tuple[str, ...] = ()  # a file without any of them fails its day
    description: str = ""
    # of one day's files, those that count (GA4: the daily table replaces the intraday one)
    current: Callable[[list[Path]], list[Path]] = lambda paths: paths
    # notes on landed days for the audit, {day: note} (GA4: purchases that repeat a
    # transaction), read in the landing's transaction after the days' rows are in
    audit_notes: Callable[[object, list[str]], dict[str, str]] = lambda con, days: {}

    def day_of(self, path: Path) -> dt.date | None:
        match = re.search(self.day_pattern, path.name)
        if not match:
            return None
        try:
            return dt.datetime.strptime(match.group(1), self.day_format).date()
        except ValueError:
            return None

    def files_by_day(self, sources: Path) -> dict[dt.date, list[Path]]:
        days: dict[dt.date, list[Path]] = {}
        for path in sorted((sources / self.folder).glob(self.pattern)):
            day = self.day_of(path)
            if day is not None:
                days.setdefault(day, []).append(path)
        return {day: self.current(paths) for day, paths in days.items()}


def cdr_contract() -> Contract:
    text = [
        Column(name, pl.String(), required=False)
        for name in (
            "accountcode",
            "clid",
            "channel",
            "dstchannel",
            "lastapp",
            "lastdata",
            "amaflags",
            "userfield",
            "dcontext",
            "uniqueid",
            "peeraccount",
            "linkedid",
        )
    ]

    def time(name: str, **rules) -> Column:
        return Column(name, pl.Datetime("us"), timestamp_format=CDR_TIME_FORMATS, **rules)

    return Contract(
        "cdr_calls",
        (
            *text,
            Column("src", pl.String(), nullable=False),
            Column("dst", pl.String(), nullable=False),
            time("start", nullable=False, not_in_future=True),
            time("answer", required=False),
            time("end", required=False, not_in_future=True),
            Column("duration", pl.Int64(), nullable=False, non_negative=True),
            Column("billsec", pl.Int64(), nullable=False, non_negative=True),
            Column("disposition", pl.String(), nullable=False, allowed=DISPOSITIONS),
            Column("sequence", pl.Int64(), required=False, non_negative=True),
        ),
        rules=(
            Rule("end before start", pl.col("end") < pl.col("start")),
            Rule("answered before the call started", pl.col("answer") < pl.col("start")),
            Rule("talk time longer than the call", pl.col("billsec") > pl.col("duration")),
        ),
        unique_key=(RAW,),  # a leg is not a duplicate; an identical line is
    )


def cdr_local_times(rows: pl.DataFrame) -> pl.DataFrame:
    """CDR times as the call center's wall clock (a PBX with usegmtime writes UTC)."""
    if not cdr_times_in_utc():
        return rows
    zone = call_center_timezone()
    return rows.with_columns(
        pl.col(c).dt.replace_time_zone("UTC").dt.convert_time_zone(zone).dt.replace_time_zone(None)
        for c in ("start", "answer", "end")
    )


def ad_spend_contract() -> Contract:
    return Contract(
        "ad_spend",
        (
            Column("date", pl.Date(), nullable=False, not_in_future=True),
            Column("platform", pl.String(), nullable=False),
            Column("account_id", pl.String(), required=False),
            Column("campaign_id", pl.String(), nullable=False),
            Column("campaign_name", pl.String(), required=False),
            Column("utm_campaign", pl.String(), required=False),
            Column("ad_id", pl.String(), required=False),
            Column("impressions", pl.Int64(), non_negative=True),
            Column("clicks", pl.Int64(), non_negative=True),
            Column("spend", pl.Float64(), nullable=False, non_negative=True),
            Column("currency", pl.String(), nullable=False),
            Column("spend_original", pl.Float64(), required=False, non_negative=True),
            Column("currency_original", pl.String(), required=False),
        ),
        rules=(Rule("more clicks than impressions", pl.col("clicks") > pl.col("impressions")),),
        unique_key=(RAW,),  # an exact repeat; a later report's other numbers win in staging
    )


def ga4_contract() -> Contract:
    now_us = int(dt.datetime.now(dt.UTC).timestamp() * 1_000_000) + 86_400_000_000
    return Contract(
        "ga4_events",
        (
            Column(
                "event_date", pl.Date(), nullable=False, date_format="%Y%m%d", not_in_future=True
            ),
            Column("event_timestamp", pl.Int64(), nullable=False, non_negative=True),
            Column("event_name", pl.String(), nullable=False),
            Column("user_pseudo_id", pl.String(), nullable=False),
        ),
        rules=(Rule("event_timestamp is in the future", pl.col("event_timestamp") > now_us),),
        unique_key=(RAW,),  # GA4 has no event id: an identical line twice is a duplicate
    )


CDR = StreamSource(
    name="cdr_calls",
    folder="calls",
    # daily files, one growing Master.csv, logrotate's Master.csv.1 / Master.csv-20250101,
    # gzipped or not, account files (cdr_csv's accountlogs) and cdr_custom's Master.csv
    patterns=("*.csv", "*.csv.*", "*.csv-*", "**/*.csv", "**/*.csv.*", "**/*.csv-*"),
    parse=read_cdr_files,
    contract=cdr_contract,
    day=lambda: pl.col("start").dt.date(),
    prepare=cdr_local_times,
    known_columns=frozenset(CDR_ALL_COLUMNS),
    description="Asterisk CDR legs (cdr_csv, cdr_custom or a PBX's export), each new line once, "
    "on the day of its start in the call center's time zone.",
)


def daily_over_intraday(paths: list[Path]) -> list[Path]:
    """GA4 writes events_intraday_YYYYMMDD through the day and events_YYYYMMDD once the day
    is processed: once the daily export is there, the intraday one no longer counts."""
    daily = [p for p in paths if "intraday" not in p.name]
    return daily or paths


def repeated_purchases_notes(con, days: list[str]) -> dict[str, str]:
    """Per day, how many purchase events repeat a transaction_id GA4 already sent (the same
    day, or an earlier day landed): counted once in the marts, noted in the audit."""
    rows = con.execute(
        "with purchases as (select _partition, transaction_id, event_timestamp "
        "from raw.ga4_events where event_name = 'purchase' and "
        "coalesce(transaction_id, '') not in ('', '(not set)')), "
        "touched as (select distinct transaction_id from purchases "
        "where _partition::varchar in $days), "
        "ordered as (select _partition, row_number() over (partition by transaction_id "
        "order by _partition, event_timestamp) > 1 as again from purchases "
        "where transaction_id in (select transaction_id from touched)) "
        "select _partition::varchar, count(*) from ordered "
        "where again and _partition::varchar in $days group by 1",
        {"days": days},
    ).fetchall()
    return {
        day: f"{n} repeated purchase events (same transaction_id), counted once" for day, n in rows
    }


GA4 = FileSource(
    name="ga4_events",
    folder="web",
    pattern="events_*json*",  # bq extract: .json, .json.gz; others: .ndjson, .jsonl
    day_pattern=r"events_(?:intraday_)?(\d{8})",
    day_format="%Y%m%d",
    flatten_sql=flatten_sql,
    contract=ga4_contract,
    required_columns=GA4_REQUIRED,
    current=daily_over_intraday,
    audit_notes=repeated_purchases_notes,
    description="GA4 BigQuery-export events, a row per event, event_params as typed columns.",
)
AD_SPEND = StreamSource(
    name="ad_spend",
    folder="ads",
    # ads/<platform>/<report>: Google Ads, Meta Ads, Yandex Direct reports or ACRM's CSV
    patterns=("*/*.csv", "*/*.tsv", "*/*.txt", "*/*.csv.gz", "*/*.tsv.gz"),
    parse=read_ad_reports,
    shape=shape_ad_reports,
    contract=ad_spend_contract,
    day=lambda: pl.col("date"),
    known_columns=frozenset((*AD_SPEND_COLUMNS, "spend_original", "currency_original")),
    description="Ad spend, impressions and clicks per day and campaign (or ad) from Google Ads, "
    "Meta Ads and Yandex Direct reports or ACRM's CSV, in the reporting currency.",
)


def queue_log_contract() -> Contract:
    return Contract(
        "queue_log",
        (
            Column("time", pl.Int64(), nullable=False, non_negative=True),
            Column("callid", pl.String()),
            Column("queuename", pl.String()),
            Column("agent", pl.String()),
            Column("event", pl.String(), nullable=False),
            *[Column(f"data{i}", pl.String(), required=False) for i in range(1, 6)],
        ),
        unique_key=(RAW,),
    )


QUEUE_LOG = StreamSource(
    name="queue_log",
    folder="calls",
    # /var/log/asterisk/queue_log, and logrotate's copies
    patterns=("queue_log", "queue_log.*", "queue_log-*", "**/queue_log", "**/queue_log.*"),
    parse=read_queue_logs,
    contract=queue_log_contract,
    day=lambda: pl.col("event_at").dt.date(),
    prepare=queue_log_local_time,
    known_columns=frozenset(QUEUE_LOG_COLUMNS),
    description="Asterisk's queue_log (optional): queue events of calls, for waits and "
    "abandonment per queue and hour.",
)
FILE_SOURCES = (GA4,)  # a file a day
STREAM_SOURCES = (CDR, AD_SPEND, QUEUE_LOG)  # files of any span, landed by what they add
