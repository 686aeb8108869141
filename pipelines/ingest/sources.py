"""Each file source: where its files are, which day a file belongs to, how to read it, and
its contract. The landing assets are generated from these definitions."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from acrm.formats import AD_SPEND_SCHEMA, CDR_COLUMNS
from pipelines.ingest.contracts import RAW, Column, Contract, Rule
from pipelines.ingest.files import RawBatch, read_csv_batch, read_ndjson_batch
from pipelines.ingest.ga4 import GA4_FIELDS, GA4_REQUIRED, flatten_ga4

ASTERISK_TIME = "%Y-%m-%d %H:%M:%S"
DISPOSITIONS = ("ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION")
CURRENCIES = ("RUB", "USD", "EUR", "KZT")


@dataclass(frozen=True)
class FileSource:
    name: str  # the raw table, e.g. cdr_calls
    folder: str  # below the sources folder
    pattern: str  # glob of its files
    day_pattern: str  # regex with one group: the file's day
    day_format: str
    read: Callable[[Path], RawBatch]
    contract: Callable[[], Contract]  # built per load: "now" moves
    prepare: Callable[[pl.DataFrame], pl.DataFrame] = lambda frame: frame
    required_columns: tuple[str, ...] = ()  # checked before `prepare`
    known_columns: frozenset[str] = frozenset()  # anything else is schema drift
    description: str = ""

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
        return days


def cdr_contract() -> Contract:
    text = [
        Column(name, pl.String())
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
        )
    ]
    return Contract(
        "cdr_calls",
        (
            *text,
            Column("src", pl.String(), nullable=False),
            Column("dst", pl.String(), nullable=False),
            Column(
                "start",
                pl.Datetime("us"),
                nullable=False,
                timestamp_format=ASTERISK_TIME,
                not_in_future=True,
            ),
            Column("answer", pl.Datetime("us"), timestamp_format=ASTERISK_TIME),
            Column(
                "end",
                pl.Datetime("us"),
                nullable=False,
                timestamp_format=ASTERISK_TIME,
                not_in_future=True,
            ),
            Column("duration", pl.Int64(), nullable=False, non_negative=True),
            Column("billsec", pl.Int64(), nullable=False, non_negative=True),
            Column("disposition", pl.String(), nullable=False, allowed=DISPOSITIONS),
            Column("uniqueid", pl.String(), nullable=False),
        ),
        rules=(
            Rule("end before start", pl.col("end") < pl.col("start")),
            Rule("answered before the call started", pl.col("answer") < pl.col("start")),
            Rule("talk time longer than the call", pl.col("billsec") > pl.col("duration")),
        ),
        unique_key=("uniqueid",),
    )


def ad_spend_contract() -> Contract:
    return Contract(
        "ad_spend",
        (
            Column("date", pl.Date(), nullable=False, not_in_future=True),
            Column("platform", pl.String(), nullable=False),
            Column("account_id", pl.String(), required=False),
            Column("campaign_id", pl.Int64(), nullable=False),
            Column("campaign_name", pl.String(), required=False),
            Column("utm_campaign", pl.String(), required=False),
            Column("impressions", pl.Int64(), non_negative=True),
            Column("clicks", pl.Int64(), non_negative=True),
            Column("spend", pl.Float64(), nullable=False, non_negative=True),
            Column("currency", pl.String(), nullable=False, allowed=CURRENCIES),
        ),
        rules=(Rule("more clicks than impressions", pl.col("clicks") > pl.col("impressions")),),
        unique_key=("platform", "campaign_id", "date"),
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


CDR = FileSource(
    name="cdr_calls",
    folder="calls",
    pattern="Master-*.csv",
    day_pattern=r"(\d{4}-\d{2}-\d{2})",
    day_format="%Y-%m-%d",
    read=lambda path: read_csv_batch(path, list(CDR_COLUMNS)),
    contract=cdr_contract,
    required_columns=CDR_COLUMNS,
    known_columns=frozenset(CDR_COLUMNS),
    description="Asterisk CDR rows (Master.csv columns) from the call center, a file a day.",
)
GA4 = FileSource(
    name="ga4_events",
    folder="web",
    pattern="events_*.ndjson*",
    day_pattern=r"events_(\d{8})",
    day_format="%Y%m%d",
    read=read_ndjson_batch,
    contract=ga4_contract,
    prepare=flatten_ga4,
    required_columns=GA4_REQUIRED,
    known_columns=GA4_FIELDS,
    description="GA4 BigQuery-export events, a row per event, event_params as typed columns.",
)
AD_SPEND = FileSource(
    name="ad_spend",
    folder="ads",
    pattern="*/*.csv",
    day_pattern=r"_(\d{4}-\d{2}-\d{2})\.csv$",
    day_format="%Y-%m-%d",
    read=lambda path: read_csv_batch(path, None),
    contract=ad_spend_contract,
    required_columns=tuple(
        c for c in AD_SPEND_SCHEMA if c not in ("account_id", "campaign_name", "utm_campaign")
    ),
    known_columns=frozenset(AD_SPEND_SCHEMA),
    description="Daily spend, impressions and clicks per campaign, a file per platform and day.",
)
FILE_SOURCES = (CDR, GA4, AD_SPEND)
