"""Readers for tests: a whole file through a stream source's reader (as a run reads a new
file), a CSV file as text columns, files read and flattened as a daily landing reads them,
and numbered lines the way Python splits them (the reference for the bulk splitter)."""

import csv
from pathlib import Path

import duckdb
import polars as pl

from core.contracts import FILE, LINE, RAW
from pipelines.ingest.daily import LINES
from pipelines.ingest.files import (
    NewText,
    RawBatch,
    SourceError,
    decode,
    parse_csv_frame,
    read_bytes,
)
from pipelines.ingest.lines import load_lines
from pipelines.ingest.loader import run_sql


def whole_text(path: Path) -> NewText:
    """A whole file as a run reads a new one: all its lines, numbered from 1."""
    text = decode(path, read_bytes(path))
    return NewText(path, text, text.split("\n", 1)[0].rstrip("\r"))


def read_whole(source, path: Path, folder: Path) -> RawBatch:
    """The file's batch; the reader's error for it raised as SourceError."""
    (batch,) = source.parse([whole_text(path)], folder)
    if isinstance(batch, str):
        raise SourceError(batch)
    return batch


def _lines(text: str, first: int = 1) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines; numbers count from `first`."""
    return [(n, line) for n, line in enumerate(text.splitlines(), first) if line.strip()]


def numbered_lines(text: str, first: int = 1) -> list[tuple[int, str]]:
    """The non-blank lines of a text with their physical line numbers, from `first`."""
    return _lines(text, first)


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
    frame = pl.DataFrame(
        {LINE: [n for n, _ in lines], RAW: [t for _, t in lines]},
        schema={LINE: pl.Int64, RAW: pl.String},
    )
    rows, rejects = parse_csv_frame(frame, columns, delimiter)
    return RawBatch(path, frame.height, rows, rejects)


def read_files(con: duckdb.DuckDBPyConnection, source, paths: list[Path]) -> pl.DataFrame:
    """Files read and flattened as a landing reads them, before the contract: a row per
    non-blank line with `__parse_error` and `__drift` (for checks and tests)."""
    failed = load_lines(con, LINES, paths)
    if failed:
        raise SourceError("; ".join(failed.values()))
    try:
        return con.sql(f"select * from ({source.flatten_sql(LINES)}) order by {FILE}, {LINE}").pl()
    finally:
        run_sql(con, f"drop table if exists {LINES}")
