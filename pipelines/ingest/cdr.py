"""Asterisk CDR files in the layouts PBXs really write, told apart by header and field count.

- cdr_csv (`Master.csv`): no header, 16 to 21 fields depending on `loguniqueid`,
  `loguserfield` and `newcdrcolumns` (core.formats.CDR_LAYOUTS);
- cdr_custom: the columns a PBX's `cdr_custom.conf` mapping declares, in its order and with
  its delimiter; put that file beside the CDR files (`calls/cdr_custom.conf`);
- a PBX web interface's CDR download: a header line, names as the cdr database table
  spells them (`calldate`, `uniqueid`, `linkedid`, ...).

Anything else fails its file with a message that names the file and the field count.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from core.contracts import FILE, LINE
from core.formats import CDR_ALL_COLUMNS, CDR_HEADER_ALIASES, CDR_LAYOUTS
from pipelines.ingest.files import NewText, RawBatch, SourceError, parse_files, texts_lines

CUSTOM_MAPPING = "cdr_custom.conf"
_CDR_FIELD = re.compile(r"\$\{CDR\(([A-Za-z_]+)[^)]*\)\}")
MIN_HEADER_NAMES = 4  # a first line naming this many CDR fields is a header


@dataclass(frozen=True)
class CdrLayout:
    name: str
    columns: tuple[str, ...]
    has_header: bool = False
    delimiter: str = ","


def custom_layout(folder: Path) -> CdrLayout | None:
    """The layout declared by `cdr_custom.conf` in the CDR folder, if there is one.

    Asterisk's own syntax: `Master.csv => ${CSV_QUOTE(${CDR(clid)})},${CDR(start)},...`;
    the first mapping line is used, its fields in order, its delimiter between them.
    """
    path = folder / CUSTOM_MAPPING
    if not path.exists():
        return None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.split(";", 1)[0].strip()
        if "=>" not in line:
            continue
        template = line.split("=>", 1)[1].strip()
        names = [m.group(1).lower() for m in _CDR_FIELD.finditer(template)]
        if not names:
            continue
        return CdrLayout(f"cdr_custom ({path.name})", tuple(names), False, _delimiter(template))
    raise SourceError(
        f"{path}: no mapping line with ${{CDR(...)}} fields; write it as Asterisk's "
        "cdr_custom.conf does: 'Master.csv => ${CSV_QUOTE(${CDR(src)})},${CDR(start)},...'"
    )


def _delimiter(template: str) -> str:
    """The character between a mapping's fields: what is left once the fields are removed."""
    between = re.sub(r"\$\{CSV_QUOTE\(|\$\{CDR\([^)]*\)\}|\)\}|\"", "\x00", template)
    separators = [c for c in between if c not in "\x00 "]
    return max(set(separators), key=separators.count) if separators else ","


def _header_name(name: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", name.strip().strip('"').lower()).strip("_")
    return CDR_HEADER_ALIASES.get(key, key)


def detect_layout(path: Path, first_line: str, custom: CdrLayout | None) -> CdrLayout:
    if custom is not None:
        fields = next(csv.reader([first_line], delimiter=custom.delimiter))
        if len(fields) == len(custom.columns):
            return custom
    fields = next(csv.reader([first_line]))
    names = [_header_name(f) for f in fields]
    if sum(name in CDR_ALL_COLUMNS for name in names) >= MIN_HEADER_NAMES:
        return CdrLayout("export with a header line", tuple(names), has_header=True)
    for name, columns in CDR_LAYOUTS.items():
        if len(columns) == len(fields):
            return CdrLayout(name, columns)
    known = ", ".join(str(len(c)) for c in CDR_LAYOUTS.values())
    declared = f", nor the {len(custom.columns)} of {custom.name}" if custom else ""
    raise SourceError(
        f"{path}: line 1 has {len(fields)} fields, which is no CDR layout ACRM knows "
        f"(cdr_csv writes {known}{declared}). If the PBX writes it through cdr_custom, put "
        f"its {CUSTOM_MAPPING} in {path.parent}; a download with a header line is read by "
        "its column names"
    )


def read_cdr_files(texts: list[NewText], folder: Path) -> list[RawBatch | str]:
    """The CDR lines of many files (all of a file, or what it added since the last run), the
    files of one layout parsed together; a file of no known layout gets its error."""
    try:
        custom = custom_layout(folder)
    except SourceError as exc:
        return [str(exc)] * len(texts)
    layouts: dict[int, CdrLayout] = {}
    errors: dict[int, str] = {}
    for i, text in enumerate(texts):
        try:
            layouts[i] = detect_layout(text.path, text.first_line, custom)
        except SourceError as exc:
            errors[i] = str(exc)
    headed = [i for i, layout in layouts.items() if layout.has_header]
    lines = texts_lines(texts).filter(~(pl.col(FILE).is_in(headed) & (pl.col(LINE) == 1)))
    batches = parse_files(
        [t.path for t in texts],
        lines,
        {i: (layout.columns, layout.delimiter) for i, layout in layouts.items()},
    )
    for i, layout in layouts.items():
        batches[i].layout = layout.name
    return [errors[i] if i in errors else batches[i] for i in range(len(texts))]
