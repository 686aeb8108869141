"""Write the sources in their real-world shapes: SQLite CRM, CDR CSV, GA4 NDJSON.gz, ad CSV."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from acrm.formats import CDR_COLUMNS, CDR_NEW_COLUMNS
from acrm.generator.calendar import Window
from acrm.generator.web import WebEvents

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


def write_web(folder: Path, web: WebEvents) -> int:
    """One gzipped NDJSON file per day, as GA4's daily `events_YYYYMMDD` export tables."""
    folder.mkdir(parents=True, exist_ok=True)

    def write(item: tuple[tuple[str], pl.DataFrame]) -> None:
        (date,), part = item
        payload = part.drop("day").write_ndjson().encode()
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


def write_ads(folder: Path, spend: pl.DataFrame) -> int:
    count = 0
    for (platform, date), part in spend.partition_by(
        "platform", "date", as_dict=True, maintain_order=True
    ).items():
        target = folder / platform
        target.mkdir(parents=True, exist_ok=True)
        part.drop("day").write_csv(target / f"{platform}_{date}.csv")
        count += 1
    return count
