"""Read source files line by line into text columns, keeping every line accounted for.

A physical line is a row read. Each becomes either a row (with its line number and raw
text) or a reject (malformed CSV, invalid JSON) with the reason. Parsing is native: DuckDB's
CSV reader with reject capture, polars' NDJSON reader; Python only numbers the lines.
"""

from __future__ import annotations

import csv
import gzip
import re
import tempfile
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.contracts import LINE, RAW, REASON

_parser = threading.local()


def _csv_parser() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for parsing, one per thread: opening one costs ~30 ms a file."""
    if not hasattr(_parser, "con"):
        _parser.con = duckdb.connect()
    return _parser.con


class SourceError(ValueError):
    """A source file or table cannot be read at all; the message names it and the problem."""


@dataclass
class RawBatch:
    file: Path
    rows_read: int
    rows: pl.DataFrame  # the parsed rows (+ _line_number, _raw)
    rejects: pl.DataFrame  # _line_number, _raw, _reason
    extra_columns: list[str] = field(default_factory=list)
    layout: str = ""  # which of the source's layouts the file was read as
    skipped: int = 0  # lines that are no rows: report titles, headers, totals
    meta: dict = field(default_factory=dict)  # what a later, batch-wide step needs to know


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped; UTF-16 (Excel-style report downloads) as UTF-8, and
    without a byte-order mark, so that offsets and lines mean the same in every file."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceError(f"{path}: broken gzip stream ({exc}); re-export the file") from exc
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError(f"{path}: broken UTF-16 text ({exc}); re-export it") from exc
    return data.removeprefix(b"\xef\xbb\xbf")


def decode(path: Path, data: bytes) -> str:
    """UTF-8, or cp1251 as older PBXs write. A UTF-8 file with a few broken bytes stays
    UTF-8 (the broken lines are rejected later); anything else is an error naming the file."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    replaced = data.decode("utf-8", errors="replace")
    non_ascii = sum(1 for b in data if b >= 0x80)
    if non_ascii and replaced.count("\ufffd") <= 0.05 * non_ascii:
        return replaced
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: the text is neither UTF-8 nor cp1251 ({exc}); re-export it in UTF-8"
        ) from exc


def _lines(text: str, first: int = 1) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines; numbers count from `first`."""
    return [(n, line) for n, line in enumerate(text.splitlines(), first) if line.strip()]


def numbered_lines(text: str, first: int = 1) -> list[tuple[int, str]]:
    """The non-blank lines of a text with their physical line numbers, from `first`."""
    return _lines(text, first)


def _empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema={LINE: pl.Int64, RAW: pl.String, REASON: pl.String})


def read_csv_batch(path: Path, columns: list[str] | None = None) -> RawBatch:
    """A CSV file as text columns. `columns=None`: the first line is the header."""
    lines = _lines(decode(path, read_bytes(path)))
    if columns is None:
        if not lines:
            raise SourceError(f"{path}: empty file, not even a header line")
        header = next(csv.reader([lines[0][1]]))
        columns, lines = [h.strip() for h in header], lines[1:]
    elif lines:  # a header-less file with more fields than expected: keep them, as drift
        width = len(next(csv.reader([lines[0][1]])))
        columns = columns + [f"extra_{i}" for i in range(1, width - len(columns) + 1)]
    return parse_csv_lines(path, lines, columns)


def parse_csv_lines(
    path: Path, lines: list[tuple[int, str]], columns: list[str], delimiter: str = ","
) -> RawBatch:
    """Numbered lines of one CSV dialect as text columns; malformed lines are rejects."""
    if not lines:
        return RawBatch(
            path,
            0,
            pl.DataFrame(
                schema={**{c: pl.String for c in columns}, LINE: pl.Int64, RAW: pl.String}
            ),
            _empty_rejects(),
        )
    numbered_text = "\n".join(f"{n}{delimiter}{line}" for n, line in lines)
    raw = pl.DataFrame(
        {LINE: [n for n, _ in lines], RAW: [t for _, t in lines]},
        schema={LINE: pl.Int64, RAW: pl.String},
    )
    fast = _read_clean_csv(numbered_text, raw, columns, delimiter)
    if fast is not None:  # every line parsed: the common case, ~1 ms a file
        return RawBatch(path, len(lines), fast.with_columns(raw[RAW]), _empty_rejects())
    with tempfile.NamedTemporaryFile("w", suffix=".csv", encoding="utf-8") as numbered:
        numbered.write(numbered_text)
        numbered.flush()
        spec = {"__line": "BIGINT", **{f"c{i}": "VARCHAR" for i in range(len(columns))}}
        con = _csv_parser()
        try:
            rows = con.sql(
                "select * from read_csv(?, header = false, delim = ?, quote = '\"', "
                "escape = '\"', auto_detect = false, columns = ?, store_rejects = true, "
                "rejects_table = 'rejects', rejects_scan = 'scans')",
                params=[numbered.name, delimiter, spec],
            ).pl()
            rejected = con.sql(
                "select csv_line, cast(error_type as varchar) as error_type, error_message "
                "from rejects order by line"
            ).pl()
        finally:
            con.execute("drop table if exists rejects; drop table if exists scans").fetchall()
    rows = rows.rename({"__line": LINE, **{f"c{i}": c for i, c in enumerate(columns)}})
    rows = rows.join(raw, on=LINE, how="left")
    prefix = r"^(\d+)" + re.escape(delimiter)
    rejects = rejected.select(
        pl.col("csv_line").str.extract(prefix, 1).cast(pl.Int64).alias(LINE),
        pl.col("csv_line").str.replace(prefix, "").str.strip_chars_end("\n").alias(RAW),
        pl.format("malformed CSV line: {}", pl.col("error_type").str.to_lowercase()).alias(REASON),
    ).unique(LINE, keep="first", maintain_order=True)
    return RawBatch(path, len(lines), rows, rejects)


def _read_clean_csv(
    numbered_text: str, raw: pl.DataFrame, columns: list[str], delimiter: str = ","
) -> pl.DataFrame | None:
    """polars' strict parse of a file with no malformed line, in the lines' order; None
    sends it to DuckDB."""
    try:
        rows = pl.read_csv(
            numbered_text.encode(),
            has_header=False,
            separator=delimiter,
            new_columns=[LINE, *columns],
            schema_overrides={LINE: pl.Int64, **{c: pl.String for c in columns}},
            infer_schema=False,
            quote_char='"',
        )
    except pl.exceptions.PolarsError:
        return None
    if rows.height != raw.height or rows.width != len(columns) + 1:
        return None
    if _short_lines(rows, raw, columns, delimiter):
        return None  # a line with too few fields: DuckDB names its error
    empty_is_null = [  # as DuckDB's reader: an empty field, quoted or not, is no value
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in columns
    ]
    return rows.with_columns(pl.col(LINE).cast(pl.Int64), *empty_is_null)


def _short_lines(rows: pl.DataFrame, raw: pl.DataFrame, columns: list[str], delimiter) -> bool:
    """polars fills a short line's missing fields with nulls. Only a line whose last field
    is null can be short; its fields are counted outside quotes, as DuckDB would."""
    suspects = raw.filter(rows.get_column(columns[-1]).is_null())
    if not suspects.height:
        return False
    delimiters = (
        suspects.get_column(RAW)
        .str.replace_all(r'"[^"]*"', "")
        .str.count_matches(delimiter, literal=True)
    )
    return bool((delimiters != len(columns) - 1).any())
