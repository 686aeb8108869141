"""Data contracts for landed rows: types, required fields, allowed values, invariants.

A contract splits a batch into rows that load and rows that go to quarantine, each with
every reason it failed. Vectorised (polars expressions), no Python row loop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

REASON = "_reason"
RAW = "_raw"  # the row as it was in the source (a line of text or the row as JSON)
LINE = "_line_number"
EXTRA = "_extra"  # columns a source has but its contract does not know, as JSON
FILE = "__file"  # which file a row came from, while a day's files are validated together
DUPLICATE_REASON = "duplicate of an earlier row in this batch"
FUTURE_TOLERANCE = dt.timedelta(days=1)  # clocks and time zones: a day ahead is still fine


class ContractError(ValueError):
    """The batch as a whole breaks the contract (a required column is missing)."""


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    required: bool = True  # the column must exist in the source
    nullable: bool = True  # a row may leave it empty
    allowed: tuple[str, ...] | None = None  # for text enums
    # parse text into a Datetime with this format, or the first of several that fits
    timestamp_format: str | tuple[str, ...] | None = None
    date_format: str = "%Y-%m-%d"  # how a Date column is written in the source
    not_in_future: bool = False
    non_negative: bool = False

    def typed(self, source: pl.DataType) -> pl.Expr:
        """The column in its contract type, from text (files, SQLite) or typed (PostgreSQL)."""
        raw = pl.col(self.name)
        already_temporal = isinstance(source, pl.Datetime | pl.Date)
        if self.timestamp_format and not already_temporal:
            text = raw.cast(pl.String).str.strip_chars()
            formats = self.timestamp_format
            formats = (formats,) if isinstance(formats, str) else formats
            parsed = pl.coalesce(
                [text.str.strptime(pl.Datetime("us"), f, strict=False) for f in formats]
            )
            return pl.when(text == "").then(None).otherwise(parsed).alias(self.name)
        if self.dtype == pl.String:
            return raw.cast(pl.String).alias(self.name)
        if isinstance(self.dtype, pl.Datetime | pl.Date) and already_temporal:
            return raw.cast(self.dtype, strict=False).alias(self.name)
        if isinstance(self.dtype, pl.Date):
            return raw.cast(pl.String).str.to_date(self.date_format, strict=False).alias(self.name)
        source_expr = raw.cast(pl.String).str.strip_chars() if source == pl.String else raw
        return source_expr.cast(self.dtype, strict=False).alias(self.name)


@dataclass(frozen=True)
class Rule:
    """A row-level invariant over typed columns: `violated` is true for a bad row."""

    reason: str
    violated: pl.Expr


@dataclass(frozen=True)
class Contract:
    source: str
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    unique_key: tuple[str, ...] = ()  # a second row with the same key is a duplicate
    now: dt.datetime | None = None  # for tests: what "the future" is measured against
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_names", tuple(c.name for c in self.columns))

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def check_columns(self, present: list[str], where: str) -> list[str]:
        """Fail on a missing required column; return the unexpected ones (schema drift)."""
        missing = [c.name for c in self.columns if c.required and c.name not in present]
        if missing:
            raise ContractError(
                f"{where}: required column(s) {', '.join(missing)} missing; found "
                f"{', '.join(present) or 'none'}. Fix the export or the contract of "
                f"{self.source} in pipelines/ingest/sources.py"
            )
        internal = {LINE, RAW}
        return [name for name in present if name not in self.names and name not in internal]

    def split(
        self, frame: pl.DataFrame, keep_raw: bool = False
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(rows that satisfy the contract, typed; rows that do not, with `_reason`).
        `keep_raw`: the valid rows keep their raw text too."""
        for column in self.columns:  # optional columns absent from this source: nulls
            if column.name not in frame.columns:
                frame = frame.with_columns(pl.lit(None, pl.String).alias(column.name))
        typed = frame.with_columns(
            [pl.col(c.name).alias(f"__raw_{c.name}") for c in self.columns]
        ).with_columns([c.typed(frame.schema[c.name]) for c in self.columns])
        now = self.now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        reasons = [r for c in self.columns for r in _column_reasons(c, now)]
        reasons += [pl.when(rule.violated).then(pl.lit(rule.reason)) for rule in self.rules]
        checked = self._duplicates(
            typed.with_columns(
                pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias(REASON)
            ).with_columns(
                pl.when(pl.col(REASON) == "").then(None).otherwise(pl.col(REASON)).alias(REASON)
            )
        )
        extras = [c for c in frame.columns if c not in self.names and (keep_raw or c != RAW)]
        valid = checked.filter(pl.col(REASON).is_null()).select(*self.names, *extras)
        bad = checked.filter(pl.col(REASON).is_not_null())
        rejected = bad.select(*[c for c in (LINE, RAW, FILE) if c in bad.columns], REASON)
        return valid, rejected

    def _duplicates(self, checked: pl.DataFrame) -> pl.DataFrame:
        """The second valid row with a key is the duplicate (an invalid first copy is not)."""
        if not self.unique_key or not all(k in checked.columns for k in self.unique_key):
            return checked
        valid_so_far = pl.col(REASON).is_null().cast(pl.Int64).cum_sum()
        later = valid_so_far.over(list(self.unique_key)) > 1
        return checked.with_columns(
            pl.when(pl.col(REASON).is_null() & later)
            .then(pl.lit(DUPLICATE_REASON))
            .otherwise(pl.col(REASON))
            .alias(REASON)
        )


def _column_reasons(c: Column, now: dt.datetime) -> list[pl.Expr]:
    """Why a row's value of column `c` breaks the contract (each null when it does not)."""
    raw, value = pl.col(f"__raw_{c.name}"), pl.col(c.name)
    present = raw.is_not_null() & (raw.cast(pl.String).str.strip_chars() != "")
    type_name = "timestamp" if c.timestamp_format else str(c.dtype).lower()
    reasons = [
        pl.when(present & value.is_null()).then(
            pl.format(
                "{}: '{}' is not a valid {}", pl.lit(c.name), raw.cast(pl.String), pl.lit(type_name)
            )
        )
    ]
    if not c.nullable:
        reasons.insert(0, pl.when(~present).then(pl.lit(f"{c.name} is missing")))
    if c.allowed:
        unknown = value.is_not_null() & ~value.is_in(list(c.allowed))
        reasons.append(
            pl.when(unknown).then(
                pl.format(
                    "{}: unknown value '{}' (expected one of {})",
                    pl.lit(c.name),
                    value,
                    pl.lit(", ".join(c.allowed)),
                )
            )
        )
    if c.non_negative:
        reasons.append(pl.when(value < 0).then(pl.lit(f"{c.name} is negative")))
    if c.not_in_future:
        limit = now + FUTURE_TOLERANCE
        bound = limit.date() if isinstance(c.dtype, pl.Date) else limit
        reasons.append(pl.when(value > bound).then(pl.lit(f"{c.name} is in the future")))
    return reasons
