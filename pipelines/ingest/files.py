"""Read source files line by line into text columns, keeping every line accounted for.

A physical line is a row read. Each becomes either a row (with its line number and raw
text) or a reject (malformed CSV, invalid JSON) with the reason. Parsing is native and in
bulk: the lines of many files are split and numbered by polars, and the files of one layout
are one polars CSV read (DuckDB's reader with reject capture when a line is malformed).
"""

from __future__ import annotations

import gzip
import re
import tempfile
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from core.contracts import FILE, LINE, RAW, REASON

_parser = threading.local()
_HIGH_BYTES = bytes(range(0x80, 0x100))
ID = "__id"  # a line's place in a batch of many files' lines, while they are parsed
UNREAD = "malformed CSV line: no field of it could be read"
# where str.splitlines() ends a line: so a file's lines are numbered the same everywhere
LINE_BREAKS = "\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"


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


@dataclass(frozen=True)
class NewText:
    """What a run reads of one file: the text it added, numbered from `first_number`."""

    path: Path
    text: str
    first_line: str  # the file's line 1: its header, or its first record
    first_number: int = 1


def texts_lines(texts: list[NewText]) -> pl.DataFrame:
    """lines_frame of the texts."""
    return lines_frame([t.text for t in texts], [t.first_number for t in texts])


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
    non_ascii = len(data) - len(data.translate(None, _HIGH_BYTES))
    if non_ascii and replaced.count("\ufffd") <= 0.05 * non_ascii:
        return replaced
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: the text is neither UTF-8 nor cp1251 ({exc}); re-export it in UTF-8"
        ) from exc


def lines_frame(texts: list[str], firsts: list[int]) -> pl.DataFrame:
    """FILE (the text's index), LINE, RAW: the non-blank lines of many texts at once, each
    numbered from its `firsts`, split where Python's `str.splitlines` splits."""
    frame = pl.DataFrame(
        {FILE: range(len(texts)), "__text": texts, "__first": firsts},
        schema={FILE: pl.Int64, "__text": pl.String, "__first": pl.Int64},
    )
    return (
        frame.with_columns(pl.col("__text").str.replace_all(LINE_BREAKS, "\n").str.split("\n"))
        .explode("__text")
        .with_columns((pl.int_range(pl.len()).over(FILE) + pl.col("__first")).alias(LINE))
        .filter(pl.col("__text").str.strip_chars() != "")
        .select(FILE, LINE, pl.col("__text").alias(RAW))
    )


def _empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema={LINE: pl.Int64, RAW: pl.String, REASON: pl.String})


def parse_files(
    paths: list[Path], lines: pl.DataFrame, dialects: dict[int, tuple[tuple[str, ...], str]]
) -> dict[int, RawBatch]:
    """The lines (lines_frame's) of many files, the files of one dialect (columns,
    delimiter) parsed together: {file index: its batch} for every index in `dialects`."""
    groups: dict[tuple, list[int]] = {}
    for index, dialect in dialects.items():
        groups.setdefault(dialect, []).append(index)
    batches = {}
    for (columns, delimiter), members in groups.items():
        mine = lines.filter(pl.col(FILE).is_in(members))
        rows, rejects = parse_csv_frame(mine, list(columns), delimiter)
        batches |= per_file({i: paths[i] for i in members}, mine, rows, rejects)
    return batches


def per_file(
    paths: dict[int, Path], lines: pl.DataFrame, rows: pl.DataFrame, rejects: pl.DataFrame
) -> dict[int, RawBatch]:
    """{file index: its batch} of many files' lines parsed together (FILE tells them apart)."""
    read = dict(lines.group_by(FILE).len().iter_rows())
    rows_of = rows.partition_by(FILE, as_dict=True, include_key=False)
    rejects_of = rejects.partition_by(FILE, as_dict=True, include_key=False)
    no_rows, no_rejects = rows.clear().drop(FILE), rejects.clear().drop(FILE)
    return {
        i: RawBatch(
            path,
            read.get(i, 0),
            rows_of.get((i,), no_rows),
            rejects_of.get((i,), no_rejects),
        )
        for i, path in paths.items()
    }


def parse_csv_frame(
    lines: pl.DataFrame, columns: list[str], delimiter: str = ","
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lines (RAW, LINE and any tag columns) of one CSV dialect parsed in one pass: (rows:
    the `columns` as text beside the lines' own columns, rejects: the lines' columns and
    REASON for each malformed line)."""
    if not lines.height:
        rows = pl.DataFrame(schema=dict.fromkeys(columns, pl.String)).hstack(lines.clear())
        return rows, lines.clear().with_columns(pl.lit(None, pl.String).alias(REASON))
    lines = lines.with_row_index(ID).with_columns(pl.col(ID).cast(pl.Int64))
    numbered = (
        lines.select(pl.concat_str(pl.col(ID).cast(pl.String), RAW, separator=delimiter))
        .to_series()
        .str.join("\n")
        .item()
    )
    fast = _read_clean_csv(numbered, lines, columns, delimiter)
    if fast is not None:  # every line parsed: the common case, a single native read
        return fast.drop(ID).hstack(lines.drop(ID)), _no_rejects(lines)
    rows, rejected = _read_with_rejects(numbered, columns, delimiter)
    rows = rows.join(lines, on=ID, how="inner")
    rejects = rejected.join(lines, on=ID, how="inner").unique(ID, keep="first")
    # an unterminated quote runs into the next lines: they are read again on their own
    left = lines.join(pl.concat([rows.select(ID), rejects.select(ID)]), on=ID, how="anti")
    if left.height and left.height < lines.height:
        more_rows, more_rejects = parse_csv_frame(left.drop(ID), columns, delimiter)
        rows = pl.concat([rows.drop(ID), more_rows], how="diagonal_relaxed")
        rejects = pl.concat([rejects.drop(ID), more_rejects], how="diagonal_relaxed")
    elif left.height:  # nothing was read at all: every line is its own reject
        rejects = pl.concat([rejects, left.with_columns(pl.lit(UNREAD).alias(REASON))])
    order = [c for c in (FILE, LINE) if c in lines.columns]
    rows = rows.sort(order).select(pl.exclude(ID))
    rejects = rejects.sort(order).select(pl.exclude(ID, REASON), REASON)
    return rows, rejects


def _no_rejects(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.drop(ID).clear().with_columns(pl.lit(None, pl.String).alias(REASON))


def _read_with_rejects(numbered: str, columns: list[str], delimiter: str):
    """DuckDB's reader with reject capture: (ID and the columns of the lines it parsed,
    ID and REASON of those it did not)."""
    with tempfile.NamedTemporaryFile("w", suffix=".csv", encoding="utf-8") as file:
        file.write(numbered)
        file.flush()
        spec = {ID: "BIGINT", **{f"c{i}": "VARCHAR" for i in range(len(columns))}}
        con = _csv_parser()
        try:
            rows = con.sql(
                "select * from read_csv(?, header = false, delim = ?, quote = '\"', "
                "escape = '\"', auto_detect = false, columns = ?, store_rejects = true, "
                "rejects_table = 'rejects', rejects_scan = 'scans')",
                params=[file.name, delimiter, spec],
            ).pl()
            rejected = con.sql(
                "select csv_line, cast(error_type as varchar) as error_type "
                "from rejects order by line"
            ).pl()
        finally:
            con.execute("drop table if exists rejects; drop table if exists scans").fetchall()
    rows = rows.rename({f"c{i}": c for i, c in enumerate(columns)})
    rejected = rejected.select(
        pl.col("csv_line")
        .str.extract(r"^(\d+)" + re.escape(delimiter), 1)
        .cast(pl.Int64)
        .alias(ID),
        pl.format("malformed CSV line: {}", pl.col("error_type").str.to_lowercase()).alias(REASON),
    )
    return rows, rejected


def _read_clean_csv(
    numbered_text: str, lines: pl.DataFrame, columns: list[str], delimiter: str = ","
) -> pl.DataFrame | None:
    """polars' strict parse of lines none of which is malformed, in the lines' order (ID
    and the columns); None sends them to DuckDB."""
    try:
        rows = pl.read_csv(
            numbered_text.encode(),
            has_header=False,
            separator=delimiter,
            new_columns=[ID, *columns],
            schema_overrides={ID: pl.Int64, **{c: pl.String for c in columns}},
            infer_schema=False,
            quote_char='"',
        )
    except pl.exceptions.PolarsError:
        return None
    if rows.height != lines.height or rows.width != len(columns) + 1:
        return None
    if _short_lines(rows, lines, columns, delimiter):
        return None  # a line with too few fields: DuckDB names its error
    empty_is_null = [  # as DuckDB's reader: an empty field, quoted or not, is no value
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in columns
    ]
    return rows.with_columns(pl.col(ID).cast(pl.Int64), *empty_is_null)


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
