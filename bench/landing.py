"""Landing speed: rows/s per source, ours against the naive way and a lower bound.

- ours: the landing code as the pipeline runs it (bulk reads, contracts, quarantine, audit,
  the Parquet raw layer), without Dagster's own overhead;
- naive: pandas reads each file and inserts row by row (executemany), no validation;
- lower bound: DuckDB's native reader straight into a table, no validation, no lineage.

The naive way is measured on the first NAIVE_DAYS days (it is too slow for a year) and
compared as rows/s. Usage: python bench/landing.py [--scales 1 10] [--out data/bench]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from acrm.generator import generate
from core.formats import CDR_COLUMNS, CDR_NEW_COLUMNS
from pipelines.ingest.crm import CRM_TABLES, extract_table
from pipelines.ingest.daily import ensure_table, land_days
from pipelines.ingest.files import read_bytes
from pipelines.ingest.lake import mirror
from pipelines.ingest.lines import load_lines
from pipelines.ingest.loader import ensure_bookkeeping
from pipelines.ingest.sources import AD_SPEND, CDR, GA4
from pipelines.ingest.streams import StreamSource, land_stream_source

NAIVE_DAYS = 10
START = dt.date(2025, 1, 1)


def sources_at(scale: float, out: Path) -> Path:
    folder = out / f"sources-scale-{scale:g}"
    if not (folder / "truth.json").exists():
        print(f"generating scale {scale:g} sources in {folder} ...", flush=True)
        generate(folder, scale=scale, seed=42, start=START, days=365)
    return folder


def source_files(source, folder: Path) -> list[Path]:
    """The files a source lands: streams (CDR, ads) whole, GA4 by day."""
    if isinstance(source, StreamSource):
        return source.files(folder)
    return [p for _, paths in sorted(source.files_by_day(folder).items()) for p in paths]


def ours(source, folder: Path, db: Path) -> tuple[int, float]:
    """As the landing assets do it, the Parquet raw layer (lake/) included."""
    started = time.perf_counter()
    lake = db.parent / f"lake-{db.stem}"
    shutil.rmtree(lake, ignore_errors=True)
    with duckdb.connect(str(db)) as con:
        ensure_bookkeeping(con)
        batch = str(uuid.uuid4())
        if isinstance(source, StreamSource):
            reports = land_stream_source(con, source, folder, batch)
            mirror(con, lake, source.name, by_day=True)
            return sum(r.rows_read for r in reports), time.perf_counter() - started
        ensure_table(con, source)
        days = {str(day): paths for day, paths in source.files_by_day(folder).items()}
        reports = land_days(con, source, days, batch, lake=lake)
    return sum(r.rows_read for r in reports), time.perf_counter() - started


def naive(source, folder: Path, db: Path) -> tuple[int, float]:
    files = source_files(source, folder)[:NAIVE_DAYS]
    started = time.perf_counter()
    rows = 0
    with duckdb.connect(str(db)) as con:
        for paths in ([p] for p in files):
            for path in paths:
                if source is GA4:
                    frame = pd.read_json(path, lines=True, compression="gzip")
                    frame = frame[
                        ["event_date", "event_timestamp", "event_name", "user_pseudo_id"]
                    ].astype(str)
                elif source is CDR:
                    frame = pd.read_csv(
                        path,
                        header=None,
                        names=[*CDR_COLUMNS, *CDR_NEW_COLUMNS],
                        dtype=str,
                        encoding_errors="replace",
                    )
                else:  # a report's lines as they are: titles and totals too
                    frame = pd.read_csv(
                        path,
                        dtype=str,
                        header=None,
                        sep="\t" if path.suffix == ".tsv" else ",",
                        names=[f"c{i}" for i in range(12)],
                        on_bad_lines="skip",
                    )
                columns = ", ".join(f'"{c}" varchar' for c in frame.columns)
                con.execute(f"create table if not exists naive_{source.name} ({columns})")
                marks = ", ".join("?" for _ in frame.columns)
                con.executemany(
                    f"insert into naive_{source.name} values ({marks})",
                    frame.where(frame.notna(), None).values.tolist(),
                )
                rows += len(frame)
    return rows, time.perf_counter() - started


def lower_bound(source, folder: Path, db: Path) -> tuple[int, float]:
    paths = [str(p) for p in source_files(source, folder)]
    started = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        if source is GA4:
            con.execute(
                f"create table lb as select * from read_json({paths}, format = 'newline_delimited')"
            )
        elif source is AD_SPEND:
            # reports of many layouts (titles, totals, UTF-16, tabs): their lines, as text,
            # are the least any reader of them must take in
            load_lines(con, "lines", [Path(p) for p in paths])
            con.execute("create table lb as select * from lines")
        else:
            # cp1251 and gzipped files are not readable natively: decode them first, as we do
            staged = []
            for i, path in enumerate(paths):
                data = read_bytes(Path(path))
                try:
                    data.decode("utf-8")
                    staged.append(path)
                except UnicodeDecodeError:
                    target = db.parent / f"lb-{i}.csv"
                    target.write_bytes(data.decode("cp1251").encode("utf-8"))
                    staged.append(str(target))
            # every line as text fields: the least any reader of these files must do
            for kind, delim, group in (
                ("tsv", "\t", [p for p in staged if p.endswith(".tsv")]),
                ("csv", ",", [p for p in staged if not p.endswith(".tsv")]),
            ):
                if group:
                    con.execute(
                        f"create or replace table lb_{kind} as select * from read_csv("
                        f"{group}, header = false, delim = '{delim}', all_varchar = true, "
                        "null_padding = true, strict_mode = false, columns = "
                        "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(21)) + "})"
                    )
            con.execute(
                "create table lb as select * from ("
                + " union all ".join(
                    f"select * from {t}"
                    for t in ("lb_tsv", "lb_csv")
                    if con.execute(
                        "select count(*) from information_schema.tables where table_name = ?", [t]
                    ).fetchall()[0][0]
                )
                + ")"
            )
        rows = con.execute("select count(*) from lb").fetchall()[0][0]
    return rows, time.perf_counter() - started


def crm(folder: Path, db: Path) -> dict:
    url = f"sqlite://{folder / 'crm' / 'crm.sqlite'}"
    started = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        ensure_bookkeeping(con)
        rows = sum(extract_table(con, url, t, "bench").rows_read for t in CRM_TABLES)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    naive_rows = 0
    with (
        sqlite3.connect(folder / "crm" / "crm.sqlite") as src,
        duckdb.connect(str(db.with_suffix(".naive.duckdb"))) as con,
    ):
        for table in CRM_TABLES:
            cursor = src.execute(f"select * from {table.name}")
            names = [d[0] for d in cursor.description]
            con.execute(f"create table {table.name} ({', '.join(n + ' varchar' for n in names)})")
            data = [tuple(None if v is None else str(v) for v in row) for row in cursor]
            con.executemany(
                f"insert into {table.name} values ({', '.join('?' for _ in names)})", data
            )
            naive_rows += len(data)
            if naive_rows > 20_000:  # row inserts run ~1,000 rows/s: a sample is enough
                break
    naive_s = time.perf_counter() - started
    import connectorx as cx

    started = time.perf_counter()
    for table in CRM_TABLES:
        cx.read_sql(url, f"select * from {table.name}", return_type="arrow")
    bound_s = time.perf_counter() - started
    return {
        "rows": rows,
        "ours_rows_per_s": rows / ours_s,
        "naive_rows_per_s": naive_rows / naive_s,
        "lower_bound_rows_per_s": rows / bound_s,
    }


def bench_args(doc: str) -> argparse.Namespace:
    """--scales and --out, as every benchmark script takes them; --out exists after."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 10.0])
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def main() -> None:
    args = bench_args(__doc__)
    results = []
    for scale in args.scales:
        folder = sources_at(scale, args.out)
        work = args.out / f"work-{scale:g}"
        work.mkdir(exist_ok=True)
        for source in (CDR, GA4, AD_SPEND):
            measured = {}
            for name, how in (("ours", ours), ("naive", naive), ("lower_bound", lower_bound)):
                db = work / f"{source.name}-{name}.duckdb"
                db.unlink(missing_ok=True)
                rows, seconds = how(source, folder, db)
                measured[name] = rows / seconds
                print(
                    f"scale {scale:g} {source.name:<11} {name:<12} {rows:>10,} rows "
                    f"{seconds:8.2f} s {rows / seconds:>12,.0f} rows/s",
                    flush=True,
                )
            results.append(
                {
                    "scale": scale,
                    "source": source.name,
                    **{f"{k}_rows_per_s": round(v) for k, v in measured.items()},
                    "ours_vs_naive": round(measured["ours"] / measured["naive"], 2),
                    "ours_vs_lower_bound": round(measured["ours"] / measured["lower_bound"], 3),
                }
            )
        db = work / "crm.duckdb"
        db.unlink(missing_ok=True)
        db.with_suffix(".naive.duckdb").unlink(missing_ok=True)
        c = crm(folder, db)
        print(
            f"scale {scale:g} crm         ours {c['ours_rows_per_s']:,.0f} rows/s, naive "
            f"{c['naive_rows_per_s']:,.0f}, lower bound {c['lower_bound_rows_per_s']:,.0f}"
        )
        results.append(
            {
                "scale": scale,
                "source": "crm",
                **{k: round(v) for k, v in c.items()},
                "ours_vs_naive": round(c["ours_rows_per_s"] / c["naive_rows_per_s"], 2),
                "ours_vs_lower_bound": round(c["ours_rows_per_s"] / c["lower_bound_rows_per_s"], 3),
            }
        )
    report = args.out / "landing.json"
    report.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{'scale':>5} {'source':<11} {'ours/naive':>10} {'ours/lower bound':>17}")
    for r in results:
        print(
            f"{r['scale']:>5g} {r['source']:<11} {r['ours_vs_naive']:>10.2f} "
            f"{r['ours_vs_lower_bound']:>17.3f}"
        )
    print(f"\nwritten to {report}")


if __name__ == "__main__":
    main()
