"""Many text files' lines into one DuckDB table in one statement, numbered as in the file.

DuckDB's CSV reader, with no delimiter or quote it could meet in a line, reads every
file of a batch in parallel (gzip too) and keeps each line's text. A line's number is its
place in its file: DuckDB keeps a single scan's row order (`row_number() over ()`), and
a blank line is a row, so the numbers are the file's physical lines.

A file DuckDB cannot read as plain UTF-8 with LF line ends (UTF-16, cp1251, CRLF, a
gzip without `.gz`, a stray record separator) is first rewritten as such by Python, the
way files.py reads it, so every file is read the same and numbered the same.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa

from core.contracts import LINE, RAW
from pipelines.ingest.files import SourceError, decode, read_bytes

FILE = "__file"
HEAD = 65536  # bytes of each file looked at before it is handed to DuckDB
SEPARATOR = "\x1e"  # ASCII record separator: never in a JSON line outside an escape
READER = (
    "read_csv({paths}, columns = {{'line': 'VARCHAR'}}, delim = '\x1e', quote = '', "
    "escape = '', header = false, filename = true, strict_mode = false, new_line = '\\n', "
    "auto_detect = false)"
)


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(HEAD)
    if data[:2] == b"\x1f\x8b" and path.suffix == ".gz":
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read(HEAD)
        except (OSError, EOFError):
            return b"\xff"  # broken: the Python path names the file in its error
    return data


def readable_as_is(path: Path) -> bool:
    """Plain UTF-8 (gzipped only with a .gz name), LF line ends, no record separator."""
    head = _head(path)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (head[:2] == b"\x1f\x8b"):
        return False
    if b"\r" in head or SEPARATOR.encode() in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut at the end of the head
    return True


def _normalised(path: Path, folder: Path) -> Path:
    """The file as UTF-8 text with LF line ends, its lines as Python splits them."""
    text = decode(path, read_bytes(path))
    lines = [line.replace(SEPARATOR, " ") for line in text.splitlines()]
    target = Path(tempfile.mkstemp(suffix=".txt", dir=folder)[1])
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def load_lines(con: duckdb.DuckDBPyConnection, table: str, files: list[Path]) -> dict[str, str]:
    """`table` (temp): __file (the file's name), _line_number, _raw for every non-blank
    line of the files. A file DuckDB refuses is rewritten by Python and read again; one
    that cannot be read at all is left out: {its name: why} is returned."""
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="acrm-lines-") as scratch:
        folder = Path(scratch)
        readable = {}
        for path in files:
            try:
                readable[path] = path if readable_as_is(path) else _normalised(path, folder)
            except SourceError as exc:
                failed[path.name] = str(exc)
        try:
            _read(con, table, readable)
        except duckdb.Error:  # bad bytes past the head: find the files, rewrite them
            for path, target in list(readable.items()):
                if target == path and not _reads(con, path):
                    try:
                        readable[path] = _normalised(path, folder)
                    except SourceError as exc:
                        failed[path.name] = str(exc)
                        del readable[path]
            _read(con, table, readable)
    return failed


def _reads(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    try:
        con.execute(f"select count(*) from {READER.format(paths='?')}", [str(path)]).fetchall()
    except duckdb.Error:
        return False
    return True


def _read(con: duckdb.DuckDBPyConnection, table: str, readable: dict[Path, Path]) -> None:
    names = pa.table(
        {
            "filename": [str(target) for target in readable.values()],
            FILE: [path.name for path in readable],
        }
    )
    paths = [str(target) for target in readable.values()] or ["/dev/null"]
    con.register("__file_names", names)
    try:
        con.execute(
            "create or replace temp table __scanned as select filename, line, "
            f"row_number() over () as n from {READER.format(paths='?')}",
            [paths],
        ).fetchall()
        con.execute(  # the scan's order is each file's order: a file's first row is line 1
            f"create or replace temp table {table} as "
            f"select f.{FILE}, (s.n - first.n0 + 1)::bigint as {LINE}, "
            f"case when suffix(line, chr(13)) then line[:-2] else line end as {RAW} "
            "from __scanned s join (select filename, min(n) as n0 from __scanned group by 1) "
            "first using (filename) join __file_names f using (filename) "
            "where line is not null and not regexp_full_match(line, '\\s*')"
        ).fetchall()
    finally:
        con.execute("drop table if exists __scanned").fetchall()
        con.unregister("__file_names")
