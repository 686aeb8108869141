"""Ad-platform spend files as the platforms write them, into one shape.

- Google Ads: the UI's CSV download (a title line, the date range, the header, rows,
  `Total:` lines; UTF-16 with tabs when saved "for Excel"), and API or BigQuery Data
  Transfer reports (`segments.date`, `campaign.id`, `metrics.cost_micros`, ...);
- Meta (Facebook) Ads: insights exports from the API (`date_start`, `spend`,
  `account_currency`, campaign or ad level) and from Ads Manager ("Reporting starts",
  "Amount spent (USD)");
- Yandex Direct: Reports API TSV (a report-name line, the header, rows, "Total rows: N");
  money in micros unless the report was asked with returnMoneyInMicros: false;
- ACRM's own CSV (one row per day and campaign, the sample generator's).

A file's layout is told by its header; the rows come out with the columns of
core.formats.AD_SPEND_COLUMNS, spend in the file's currency (converted in staging).
"""

from __future__ import annotations

import csv
import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from core.contracts import FILE, LINE, RAW
from core.formats import AD_SPEND_COLUMNS
from core.settings import fx_rates_setting, reporting_currency
from pipelines.ingest.files import (
    NewText,
    RawBatch,
    SourceError,
    decode,
    parse_files,
    read_bytes,
    texts_lines,
)

HEAD_LINES = 12  # a report's header is within its first lines
SHAPED = frozenset((*AD_SPEND_COLUMNS, "spend_original", "currency_original", LINE, RAW))
INDEX = "__report"  # which report of a run a row came from, while reports are shaped together


@dataclass(frozen=True)
class AdLayout:
    name: str
    platform: str
    columns: dict[str, str]  # our column -> the file's header name
    money_scale: float = 1.0  # micros: 1e6
    skip: tuple[str, ...] = ()  # lines that are totals, not rows (regex on the raw line)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().strip('"').lower()).strip("_")


# our column -> header names each layout may use (as _key spells them)
LAYOUTS = (
    AdLayout(
        "Google Ads API / BigQuery Data Transfer report",
        "google_ads",
        {
            "date": "segments_date",
            "account_id": "customer_id",
            "campaign_id": "campaign_id",
            "campaign_name": "campaign_name",
            "impressions": "metrics_impressions",
            "clicks": "metrics_clicks",
            "spend": "metrics_cost_micros",
            "currency": "customer_currency_code",
        },
        money_scale=1e6,
    ),
    AdLayout(
        "Google Ads UI download",
        "google_ads",
        {
            "date": "day",
            "account_id": "account_id",
            "campaign_id": "campaign_id",
            "campaign_name": "campaign",
            "impressions": "impr",
            "clicks": "clicks",
            "spend": "cost",
            "currency": "currency_code",
        },
        skip=(r"^\s*\"?Total",),
    ),
    AdLayout(
        "Meta Ads insights (API export)",
        "meta_ads",
        {
            "date": "date_start",
            "account_id": "account_id",
            "campaign_id": "campaign_id",
            "campaign_name": "campaign_name",
            "ad_id": "ad_id",
            "impressions": "impressions",
            "clicks": "clicks",
            "spend": "spend",
            "currency": "account_currency",
        },
    ),
    AdLayout(
        "Meta Ads Manager export",
        "meta_ads",
        {
            "date": "reporting_starts",
            "account_id": "account_id",
            "campaign_id": "campaign_id",
            "campaign_name": "campaign_name",
            "ad_id": "ad_id",
            "impressions": "impressions",
            "clicks": "link_clicks",
            "spend": "amount_spent",
            "currency": "currency",
        },
    ),
    AdLayout(
        "Yandex Direct report",
        "yandex_direct",
        {
            "date": "date",
            "campaign_id": "campaignid",
            "campaign_name": "campaignname",
            "impressions": "impressions",
            "clicks": "clicks",
            "spend": "cost",
            "currency": "currency",
        },
        skip=(r"^Total rows:",),
    ),
    AdLayout("ACRM ad CSV", "", {c: c for c in AD_SPEND_COLUMNS}),
)
REQUIRED = ("date", "campaign_id", "spend")


def _fields(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter))


def _header(path: Path, head: list[tuple[int, str]]):
    """(line number, delimiter, names, layout) of the header among the file's first lines."""
    closest = None  # (required columns found, line number, layout, missing)
    for number, line in head[:HEAD_LINES]:
        delimiter = "\t" if line.count("\t") > line.count(",") else ","
        names = [_key(n) for n in _fields(line, delimiter)]
        plain = [re.sub(r"_[a-z]{3}$", "", n) if n.startswith("amount_spent") else n for n in names]
        for layout in LAYOUTS:
            missing = [layout.columns[c] for c in REQUIRED if layout.columns[c] not in plain]
            if not missing:
                return number, delimiter, _fields(line, delimiter), layout
            found = len(REQUIRED) - len(missing)
            if found >= 2 and (closest is None or found > closest[0]):
                closest = (found, number, layout, missing)
    if closest:
        _, number, layout, missing = closest
        raise SourceError(
            f"{path}: line {number} is a {layout.name} header without the required "
            f"column(s) {', '.join(missing)}; export the report with them"
        )
    raise SourceError(
        f"{path}: no header of a known ad report in its first {HEAD_LINES} lines (Google Ads, "
        "Meta Ads, Yandex Direct or ACRM's CSV need a day, a campaign id and a spend or cost "
        "column); export the campaign report by day with those columns"
    )


def _currency_in_header(names: list[str]) -> str | None:
    """Ads Manager puts the currency in the spend header: 'Amount spent (USD)'."""
    for name in names:
        found = re.search(r"amount spent \(([A-Z]{3})\)", name, re.I)
        if found:
            return found.group(1).upper()
    return None


def read_ad_reports(texts: list[NewText], folder: Path) -> list[RawBatch | str]:
    """Many ad reports' rows (of all a report, or what it added) in each report's own
    columns, as text, the reports of one header parsed together; each report's layout and
    header currency in `meta` for shape_ad_reports. A report with no known header gets its
    error."""
    headers, errors = {}, {}
    for i, text in enumerate(texts):
        try:
            headers[i] = _header(text.path, _head(text))
        except SourceError as exc:
            errors[i] = str(exc)
    lines = texts_lines(texts).filter(pl.col(FILE).is_in(list(headers)))
    header_line = pl.col(FILE).replace_strict(
        {i: h[0] for i, h in headers.items()}, default=0, return_dtype=pl.Int64
    )
    lines = lines.with_columns(
        ((pl.col(LINE) <= header_line) | _total_line(headers)).alias("__skip")
    )
    skipped = dict(lines.group_by(FILE).agg(pl.col("__skip").sum()).iter_rows())
    batches = parse_files(
        [t.path for t in texts],
        lines.filter(~pl.col("__skip")).drop("__skip"),
        {i: (tuple(_keys(names)), delimiter) for i, (_, delimiter, names, _) in headers.items()},
    )
    for i, (_, _, names, layout) in headers.items():
        batches[i].layout = layout.name
        batches[i].skipped = int(skipped.get(i, 0))
        batches[i].meta = {"layout": layout, "currency": _currency_in_header(names)}
    return [errors[i] if i in errors else batches[i] for i in range(len(texts))]


def _head(text: NewText) -> list[tuple[int, str]]:
    """The report's first lines, numbered: from the text when it starts at line 1."""
    if text.first_number != 1:
        return numbered_head(text.path)
    head = text.text[: 2**16].splitlines()[:HEAD_LINES]
    return [(n, t) for n, t in enumerate(head, 1) if t.strip()]


def _keys(names: list[str]) -> list[str]:
    keys = [_key(n) for n in names]
    return ["amount_spent" if k.startswith("amount_spent") else k for k in keys]


def _total_line(headers: dict) -> pl.Expr:
    """A line that is a layout's total, not a row (Google's `Total:`, Yandex's `Total
    rows:`), for the reports of that layout."""
    found = pl.lit(False)
    layouts = {h[3].name: h[3] for h in headers.values()}
    for name, layout in layouts.items():
        files = [i for i, h in headers.items() if h[3].name == name]
        for pattern in layout.skip:
            found = found | (pl.col(FILE).is_in(files) & pl.col(RAW).str.contains(pattern))
    return found


def shape_ad_reports(batches: list[RawBatch], folder: Path) -> list[RawBatch | str]:
    """Every report of a run in the shape of AD_SPEND_COLUMNS, spend in the reporting
    currency: normalised a layout at a time and converted together, not file by file. A
    file whose currency has no rate becomes its error (the others land)."""
    if not batches:
        return []
    groups: dict[tuple, list[int]] = {}
    for i, batch in enumerate(batches):
        key = (batch.meta["layout"].name, batch.meta["currency"], batch.file.parent.name)
        groups.setdefault(key, []).append(i)
    shaped = []
    for members in groups.values():
        first = batches[members[0]]
        rows = pl.concat(
            [batches[i].rows.with_columns(pl.lit(i).alias(INDEX)) for i in members],
            how="diagonal_relaxed",
        )
        scales = {i: _scale(batches[i].rows, first.meta["layout"]) for i in members}
        shaped.append(
            _normalise(
                rows, first.meta["layout"], first.file.parent.name, first.meta["currency"], scales
            )
        )
    converted, missing = to_reporting_currency(pl.concat(shaped, how="diagonal_relaxed"), folder)
    parts = converted.partition_by(INDEX, as_dict=True, include_key=False)
    out: list[RawBatch | str] = []
    for i, batch in enumerate(batches):
        if i in missing:
            out.append(missing[i].format(path=batch.file))
            continue
        part = parts.get((i,), converted.drop(INDEX).clear())
        own = set(batch.rows.columns)  # a column another report of its layout has is not its
        batch.rows = part.select(c for c in part.columns if c in SHAPED or c in own)
        out.append(batch)
    return out


def numbered_head(path: Path) -> list[tuple[int, str]]:
    text = decode(path, read_bytes(path))
    return [(n, t) for n, t in enumerate(text.splitlines()[:HEAD_LINES], 1) if t.strip()]


def _number(column: str) -> pl.Expr:
    """A number as reports write it: '1,234.56', '1.234,56', '1 234,56', '1,072', '--'."""
    text = pl.col(column).cast(pl.String).str.replace_all(r"[\s\u00a0]", "")
    text = pl.when(text.is_in(["--", ""])).then(pl.lit("0")).otherwise(text)
    comma_last = text.str.contains(r",\d*$") & text.str.contains(r"\.")
    comma_last = comma_last & (text.str.find(",") > text.str.find(r"\."))
    grouped = text.str.contains(r"^-?\d{1,3}(,\d{3})+$")  # 1,072: commas group thousands
    return (
        pl.when(comma_last)  # 1.234,56
        .then(text.str.replace_all(r"\.", "").str.replace(",", "."))
        .when(grouped | text.str.contains(r"\."))  # 1,234.56 or 1,072
        .then(text.str.replace_all(",", ""))
        .otherwise(text.str.replace(",", "."))  # 12,5
    )


def _scale(rows: pl.DataFrame, layout: AdLayout) -> float:
    """What a file's money is divided by: micros or units."""
    if layout.platform == "yandex_direct":
        return _yandex_scale(rows, layout.columns["spend"])
    return layout.money_scale


def _normalise(
    rows: pl.DataFrame, layout: AdLayout, folder_name: str, header_currency, scales: dict
) -> pl.DataFrame:
    """One layout's rows (of several files, told apart by INDEX) in AD_SPEND_COLUMNS."""
    wanted = {ours: theirs for ours, theirs in layout.columns.items() if theirs in rows.columns}
    platform = layout.platform or None
    money = _number(wanted["spend"])
    scale = pl.col(INDEX).replace_strict(scales, return_dtype=pl.Float64)
    spend = (money.cast(pl.Float64, strict=False) / scale).cast(pl.String)
    columns = {
        ours: pl.col(theirs).cast(pl.String) for ours, theirs in wanted.items() if ours != "spend"
    }
    columns["spend"] = pl.when(pl.col(wanted["spend"]).is_not_null()).then(spend)
    for counted in ("impressions", "clicks"):
        if counted in wanted:
            columns[counted] = _number(wanted[counted])
    if "platform" not in columns:
        columns["platform"] = pl.lit(platform or folder_name)
    if "currency" not in columns:
        columns["currency"] = pl.lit(header_currency or _default_currency(layout))
    extra = [c for c in rows.columns if c not in wanted.values() and c not in (LINE, RAW)]
    out = rows.select(
        *[columns.get(c, pl.lit(None, pl.String)).alias(c) for c in AD_SPEND_COLUMNS],
        *extra,
        LINE,
        RAW,
    )
    return out.with_columns(_iso_day("date"))


def _yandex_scale(rows: pl.DataFrame, column: str) -> float:
    """Yandex Direct returns money in micros unless asked not to (returnMoneyInMicros):
    ACRM_YANDEX_MONEY=micros|units says which; without it, whole numbers of at least
    10,000 throughout are micros."""
    setting = (os.environ.get("ACRM_YANDEX_MONEY") or "").lower()
    if setting in ("micros", "units"):
        return 1e6 if setting == "micros" else 1.0
    values = rows.get_column(column).cast(pl.String).drop_nulls().to_list()
    whole = [v for v in values if re.fullmatch(r"\d+", v.strip())]
    micros = (
        values and len(whole) == len(values) and all(int(v) >= 10_000 or int(v) == 0 for v in whole)
    )
    return 1e6 if micros else 1.0


def _default_currency(layout: AdLayout) -> str:
    """Yandex reports carry no currency column: the account's, ACRM_YANDEX_CURRENCY or RUB."""
    if layout.platform == "yandex_direct":
        return os.environ.get("ACRM_YANDEX_CURRENCY") or "RUB"
    return ""


_DAY_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%b %d, %Y", "%B %d, %Y", "%m/%d/%Y", "%Y%m%d")


def _iso_day(column: str) -> pl.Expr:
    """A report's day as YYYY-MM-DD; left as it was when no known format fits (the contract
    then quarantines the row with the value)."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    parsed = pl.coalesce([text.str.strptime(pl.Date, f, strict=False) for f in _DAY_FORMATS])
    return pl.coalesce(parsed.cast(pl.String), pl.col(column)).alias(column)


RATES_FILE = "fx_rates.csv"


def fx_rates(folder: Path) -> pl.DataFrame:
    """Rates to the reporting currency: ads/fx_rates.csv (`currency,rate` or
    `date,currency,rate`: units of the reporting currency per unit) and ACRM_FX_RATES."""
    path = folder / RATES_FILE
    stamp = path.stat().st_mtime_ns if path.exists() else None
    return _fx_rates(path, stamp, tuple(sorted(fx_rates_setting().items())))


@functools.lru_cache(maxsize=8)
def _fx_rates(path: Path, stamp: int | None, setting: tuple) -> pl.DataFrame:
    """The rates as of the file's modification time and the setting: read once a run."""
    frames = []
    if stamp is not None:
        table = pl.read_csv(path, infer_schema=False)
        if not {"currency", "rate"} <= set(table.columns):
            raise SourceError(f"{path}: needs the columns currency,rate (and optionally date)")
        frames.append(
            table.select(
                (pl.col("date") if "date" in table.columns else pl.lit(None, pl.String)).alias(
                    "date"
                ),
                pl.col("currency").str.strip_chars().str.to_uppercase(),
                pl.col("rate").cast(pl.Float64, strict=False),
            )
        )
    setting = dict(setting)
    if setting:
        frames.append(
            pl.DataFrame(
                {
                    "date": [None] * len(setting),
                    "currency": list(setting),
                    "rate": list(setting.values()),
                },
                schema={"date": pl.String, "currency": pl.String, "rate": pl.Float64},
            )
        )
    empty = pl.DataFrame(schema={"date": pl.String, "currency": pl.String, "rate": pl.Float64})
    return pl.concat(frames) if frames else empty


def to_reporting_currency(rows: pl.DataFrame, folder: Path) -> tuple[pl.DataFrame, dict]:
    """spend in the reporting currency (the original kept in spend_original and
    currency_original), and {file index: error} for files in a currency without a rate."""
    target = reporting_currency()
    rates = fx_rates(folder)
    currency = pl.col("currency").fill_null("").str.strip_chars().str.to_uppercase()
    rows = rows.with_columns(
        pl.when(currency == "").then(pl.lit(target)).otherwise(currency).alias("currency_original"),
        pl.col("spend").alias("spend_original"),
    )
    dated = rates.filter(pl.col("date").is_not_null()).rename({"rate": "dated_rate"})
    flat = rates.filter(pl.col("date").is_null()).drop("date").unique("currency", keep="last")
    rows = (
        rows.join(
            dated, left_on=["date", "currency_original"], right_on=["date", "currency"], how="left"
        )
        .join(
            flat.rename({"rate": "flat_rate"}),
            left_on="currency_original",
            right_on="currency",
            how="left",
        )
        .with_columns(
            pl.when(pl.col("currency_original") == target)
            .then(1.0)
            .otherwise(pl.coalesce("dated_rate", "flat_rate"))
            .alias("_rate")
        )
    )
    unrated = (
        rows.filter(pl.col("_rate").is_null())
        .group_by(INDEX)
        .agg(pl.col("currency_original").unique().sort())
    )
    missing = {
        i: (
            f"{{path}}: spend in {', '.join(codes)} but no rate to {target}: add a line "
            f"'{codes[0]},<rate>' to {folder / RATES_FILE} (units of {target} per "
            f"{codes[0]}), or set ACRM_FX_RATES={codes[0]}=<rate>"
        )
        for i, codes in unrated.iter_rows()
    }
    converted = pl.col("spend_original").cast(pl.Float64, strict=False) * pl.col("_rate")
    rows = rows.with_columns(
        pl.when(pl.col("spend_original").is_not_null())
        .then(converted.round(6).cast(pl.String))
        .alias("spend"),
        pl.lit(target).alias("currency"),
    ).drop("dated_rate", "flat_rate", "_rate")
    return rows, missing
