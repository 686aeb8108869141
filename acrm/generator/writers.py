"""Write the sources in their real-world shapes: SQLite CRM, CDR CSV, GA4 NDJSON.gz, ad CSV."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from acrm.generator import spec
from acrm.generator.calendar import MOSCOW_UTC_OFFSET_HOURS, Window
from acrm.generator.web import WebEvents
from core.formats import AD_SPEND_SCHEMA, CDR_COLUMNS, CDR_NEW_COLUMNS

# The CRM's DDL: what an operational database declares (keys, types, references).
CRM_DDL = {
    "teams": "team_id INTEGER PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL",
    "managers": "manager_id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, email TEXT, "
    "extension TEXT, team_id INTEGER REFERENCES teams, updated_at TEXT NOT NULL",
    "pipelines": "pipeline_id INTEGER PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL",
    "pipeline_stages": "stage_id INTEGER PRIMARY KEY, pipeline_id INTEGER REFERENCES pipelines, "
    "name TEXT NOT NULL, position INTEGER NOT NULL, is_won BOOLEAN, "
    "updated_at TEXT NOT NULL",
    "loss_reasons": "loss_reason_id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "updated_at TEXT NOT NULL",
    "product_categories": "category_id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "updated_at TEXT NOT NULL",
    "products": "product_id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "category_id INTEGER REFERENCES product_categories, list_price REAL, "
    "updated_at TEXT NOT NULL",
    "campaigns": "campaign_id INTEGER PRIMARY KEY, name TEXT NOT NULL, channel TEXT, "
    "platform TEXT, utm_source TEXT, utm_medium TEXT, utm_campaign TEXT, "
    "started_on TEXT, ended_on TEXT, updated_at TEXT NOT NULL",
    "customers": "customer_id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, gender TEXT, "
    "birth_date TEXT, income_band TEXT, education TEXT, region TEXT, city TEXT, "
    "timezone TEXT, segment TEXT, email TEXT, phone TEXT, web_user_id TEXT, "
    "first_utm_source TEXT, first_utm_medium TEXT, first_utm_campaign TEXT, "
    "owner_manager_id INTEGER REFERENCES managers, status TEXT, "
    "created_at TEXT NOT NULL, cancelled_at TEXT, updated_at TEXT NOT NULL",
    "contacts": "contact_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers, "
    "kind TEXT NOT NULL, value TEXT NOT NULL, is_primary BOOLEAN, "
    "updated_at TEXT NOT NULL",
    "deals": "deal_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers, "
    "manager_id INTEGER REFERENCES managers, pipeline_id INTEGER REFERENCES pipelines, "
    "stage_id INTEGER REFERENCES pipeline_stages, status TEXT NOT NULL, amount REAL, "
    "campaign_id INTEGER REFERENCES campaigns, utm_source TEXT, utm_medium TEXT, "
    "lead_source TEXT, loss_reason_id INTEGER REFERENCES loss_reasons, "
    "created_at TEXT NOT NULL, closed_at TEXT, updated_at TEXT NOT NULL",
    "deal_stage_history": "history_id INTEGER PRIMARY KEY, deal_id INTEGER REFERENCES deals, "
    "stage_id INTEGER REFERENCES pipeline_stages, "
    "manager_id INTEGER REFERENCES managers, entered_at TEXT NOT NULL, "
    "exited_at TEXT, updated_at TEXT NOT NULL",
    "orders": "order_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers, "
    "deal_id INTEGER REFERENCES deals, manager_id INTEGER REFERENCES managers, "
    "ordered_at TEXT NOT NULL, status TEXT NOT NULL, sales_channel TEXT, "
    "campaign_id INTEGER REFERENCES campaigns, utm_source TEXT, utm_medium TEXT, "
    "updated_at TEXT NOT NULL",
    "order_lines": "order_line_id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders, "
    "product_id INTEGER REFERENCES products, quantity INTEGER NOT NULL, "
    "unit_price REAL NOT NULL, discount REAL NOT NULL DEFAULT 0, "
    "updated_at TEXT NOT NULL",
    "tickets": "ticket_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers, "
    "manager_id INTEGER REFERENCES managers, product_id INTEGER REFERENCES products, "
    "status TEXT, priority TEXT, channel TEXT, opened_at TEXT NOT NULL, "
    "resolved_at TEXT, updated_at TEXT NOT NULL",
    "campaign_members": "campaign_member_id INTEGER PRIMARY KEY, "
    "campaign_id INTEGER REFERENCES campaigns, customer_id INTEGER REFERENCES customers, "
    "member_group TEXT NOT NULL, sent_at TEXT NOT NULL, updated_at TEXT NOT NULL",
    "survey_responses": "survey_response_id INTEGER PRIMARY KEY, "
    "ticket_id INTEGER REFERENCES tickets, "
    "customer_id INTEGER REFERENCES customers, "
    "manager_id INTEGER REFERENCES managers, csat INTEGER, nps INTEGER, "
    "sent_at TEXT, responded_at TEXT, updated_at TEXT NOT NULL",
}
CP1251_DAYS = 60  # the old PBX wrote cp1251 until it was upgraded two months in


def write_crm(path: Path, tables: dict[str, pl.DataFrame]) -> None:
    tmp = path.with_suffix(".sqlite.tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(tmp) as con:
        for name, ddl in CRM_DDL.items():
            frame = tables[name]
            columns = [c.split()[0] for c in ddl.split(", ") if not c.startswith(("REFERENCES",))]
            frame = frame.select(columns)
            con.execute(f"CREATE TABLE {name} ({ddl})")
            con.execute(f"CREATE INDEX {name}_updated_at ON {name} (updated_at)")
            placeholders = ", ".join("?" * len(columns))
            con.executemany(
                f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({placeholders})",
                frame.iter_rows(),
            )
    con.close()
    os.replace(tmp, path)


def write_calls(folder: Path, window: Window, calls: pl.DataFrame, layout: str = "daily") -> int:
    """CDR lines as cdr_csv writes them with newcdrcolumns (21 fields, no header).

    `daily`: a file per day (a PBX set up to export each day). `master`: one growing
    Master.csv as Asterisk keeps it, with the first CP1251_DAYS already rotated away by
    logrotate (dateext, compressed) into Master.csv-YYYYMMDD.gz.
    """
    folder.mkdir(parents=True, exist_ok=True)
    columns = (*CDR_COLUMNS, *CDR_NEW_COLUMNS)
    parts = calls.partition_by("day", as_dict=True, maintain_order=True)

    def text(part: pl.DataFrame) -> str:
        return part.select(columns).write_csv(include_header=False, quote_style="non_numeric")

    (folder / "queue_log").write_text(queue_log(calls))
    if layout == "master":
        old = pl.concat([p for (d,), p in parts.items() if d < CP1251_DAYS] or [calls.clear()])
        new = pl.concat([p for (d,), p in parts.items() if d >= CP1251_DAYS] or [calls.clear()])
        rotated = window.start + dt.timedelta(days=CP1251_DAYS)
        with (
            open(folder / f"Master.csv-{rotated:%Y%m%d}.gz", "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        ):
            gz.write(text(old).encode("cp1251"))
        (folder / "Master.csv").write_bytes(text(new).encode("utf-8"))
        return 2
    for (day,), part in parts.items():
        date = window.start + dt.timedelta(days=int(day))
        encoding = "cp1251" if day < CP1251_DAYS else "utf-8"
        (folder / f"Master-{date.isoformat()}.csv").write_bytes(text(part).encode(encoding))
    return len(parts)


def queue_log(legs: pl.DataFrame) -> str:
    """Asterisk's queue_log for the inbound calls (all go through the `sales` queue):
    ENTERQUEUE, then CONNECT and COMPLETECALLER when a manager answered, ABANDON when the
    caller hung up; `time|callid|queue|agent|event|data1|data2|data3`, epoch seconds."""
    local = pl.col("start").str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S")
    epoch = (local.dt.epoch("s") - MOSCOW_UTC_OFFSET_HOURS * 3600).alias("t")
    legs = legs.filter(pl.col("dcontext") == "from-trunk").with_columns(
        epoch,
        (pl.col("disposition") == "ANSWERED").alias("answered"),
        pl.col("dstchannel").str.extract(r"^([^-]+)-", 1).alias("agent"),
    )
    calls = (
        legs.sort("linkedid", "sequence")
        .group_by("linkedid", maintain_order=True)
        .agg(
            pl.col("t").min().alias("entered"),
            pl.col("src").first(),
            pl.col("answered").any(),
            pl.col("agent").filter(pl.col("answered")).first(),
            (pl.col("t") + pl.col("duration") - pl.col("billsec"))
            .filter(pl.col("answered"))
            .first()
            .alias("connected"),
            pl.col("billsec").max().alias("talk"),
            (pl.col("t") + pl.col("duration")).max().alias("left"),
        )
        .sort("entered")
    )
    lines = []
    for c in calls.iter_rows(named=True):
        call, at = c["linkedid"], c["entered"]
        lines.append(f"{at}|{call}|sales|NONE|ENTERQUEUE||{c['src']}|1")
        if c["answered"]:
            wait = c["connected"] - at
            lines.append(f"{c['connected']}|{call}|sales|{c['agent']}|CONNECT|{wait}|{call}|{wait}")
            lines.append(
                f"{c['connected'] + c['talk']}|{call}|sales|{c['agent']}|COMPLETECALLER|{wait}|"
                f"{c['talk']}|1"
            )
        else:
            lines.append(f"{c['left']}|{call}|sales|NONE|ABANDON|1|1|{c['left'] - at}")
    return "\n".join(lines) + "\n"


def write_web(folder: Path, web: WebEvents) -> int:
    """One gzipped NDJSON file per day, as GA4's daily `events_YYYYMMDD` export tables."""
    folder.mkdir(parents=True, exist_ok=True)

    def write(item: tuple[tuple[str], pl.DataFrame]) -> None:
        (date,), part = item
        payload = bq_extract_types(part.drop("day")).write_ndjson().encode()
        with (
            open(folder / f"events_{date}.ndjson.gz", "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=3, mtime=0) as gz,
        ):
            gz.write(payload)

    count = 0
    # polars and zlib release the GIL: two threads keep both cores busy.
    with ThreadPoolExecutor(max_workers=2) as pool:
        for chunk in web.ga4_chunks():
            parts = chunk.partition_by("event_date", as_dict=True, maintain_order=True)
            list(pool.map(write, parts.items()))
            count += len(parts)
    return count


def bq_extract_types(rows: pl.DataFrame) -> pl.DataFrame:
    """GA4 rows as `bq extract` writes them: INT64 fields as JSON strings (JSON numbers
    cannot hold every 64-bit integer), FLOAT64 as numbers, null fields left out."""
    as_text = pl.String
    return rows.with_columns(
        pl.col("event_timestamp").cast(as_text),
        pl.col("event_previous_timestamp").cast(as_text),
        pl.col("event_params").list.eval(
            pl.element().struct.with_fields(
                pl.field("value").struct.with_fields(pl.field("int_value").cast(as_text))
            )
        ),
        pl.col("ecommerce").struct.with_fields(
            pl.field("total_item_quantity").cast(as_text),
            pl.field("unique_items").cast(as_text),
        ),
        pl.col("items").list.eval(
            pl.element().struct.with_fields(pl.field("quantity").cast(as_text))
        ),
    )


def write_ads(folder: Path, spend: pl.DataFrame, campaigns: pl.DataFrame) -> int:
    """Each platform's spend as that platform's own report: Google Ads' UI download and
    Yandex Direct's report TSV by month, Meta's insights export by month in dollars (with
    ads/fx_rates.csv), ACRM's CSV per day for the others."""
    folder.mkdir(parents=True, exist_ok=True)
    names = campaigns.select("campaign_id", "name", "utm_campaign")
    spend = spend.join(names, on="campaign_id", how="left").with_columns(
        pl.col("date").str.slice(0, 7).alias("month")
    )
    writers = {"google_ads": _google_ads, "yandex_direct": _yandex_direct, "meta_ads": _meta_ads}
    count = 0
    for (platform, month), part in spend.partition_by(
        "platform", "month", as_dict=True, maintain_order=True
    ).items():
        target = folder / platform
        target.mkdir(parents=True, exist_ok=True)
        if platform in writers:
            writers[platform](target, month, part)
            count += 1
            continue
        for (date,), day in part.partition_by("date", as_dict=True, maintain_order=True).items():
            day.select(list(AD_SPEND_SCHEMA)).write_csv(target / f"{platform}_{date}.csv")
            count += 1
    (folder / "fx_rates.csv").write_text(f"currency,rate\n{spec.META_CURRENCY},{spec.META_RATE}\n")
    return count


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _google_ads(target: Path, month: str, part: pl.DataFrame) -> None:
    """Google Ads' 'Download > CSV' of a campaign report by day: title, range, header, rows,
    totals; Campaign ID is Google's own, the name is the campaign's utm_campaign."""
    days = part["date"].sort()
    lines = ["Campaign report", f'"{days[0]} - {days[-1]}"']
    lines.append("Day,Campaign,Campaign ID,Currency code,Cost,Impr.,Clicks")
    for row in part.iter_rows(named=True):
        google_id = 9_000_000_000 + row["campaign_id"]
        lines.append(
            f'{row["date"]},{row["utm_campaign"]},{google_id},RUB,"{_money(row["spend"])}",'
            f"{row['impressions']},{row['clicks']}"
        )
    total = part.select(pl.col("spend").sum(), pl.col("impressions").sum(), pl.col("clicks").sum())
    spent, shown, clicked = total.row(0)
    lines.append(f'Total: Account,--,--,RUB,"{_money(spent)}",{shown},{clicked}')
    (target / f"campaign_report_{month}.csv").write_text("\n".join(lines) + "\n")


def _yandex_direct(target: Path, month: str, part: pl.DataFrame) -> None:
    """Yandex Direct's CAMPAIGN_PERFORMANCE_REPORT as the Reports API returns it: a title
    line, the header, rows (money in micros), 'Total rows: N'."""
    days = part["date"].sort()
    lines = [f'"Campaign performance report ({days[0]} - {days[-1]})"']
    lines.append("Date\tCampaignId\tCampaignName\tImpressions\tClicks\tCost")
    for row in part.iter_rows(named=True):
        micros = round(row["spend"] * 1_000_000)
        lines.append(
            f"{row['date']}\t{70_000_000 + row['campaign_id']}\t{row['name']}\t"
            f"{row['impressions']}\t{row['clicks']}\t{micros}"
        )
    lines.append(f"Total rows: {part.height}")
    (target / f"campaign_performance_{month}.tsv").write_text("\n".join(lines) + "\n")


def _meta_ads(target: Path, month: str, part: pl.DataFrame) -> None:
    """Meta's insights (level=campaign, time_increment=1) exported to CSV, in dollars."""
    part.select(
        pl.col("date").alias("date_start"),
        pl.col("date").alias("date_stop"),
        pl.col("account_id"),
        pl.lit(spec.META_CURRENCY).alias("account_currency"),
        (pl.lit("2385") + pl.col("campaign_id").cast(pl.String).str.zfill(9)).alias("campaign_id"),
        pl.col("utm_campaign").alias("campaign_name"),
        "impressions",
        "clicks",
        (pl.col("spend") / spec.META_RATE).round(2).alias("spend"),
    ).write_csv(target / f"insights_{month}.csv")
