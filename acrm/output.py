"""How commands print: tables for people, CSV and JSON for pipes. Progress goes to stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.csv as pacsv
import typer
from rich.console import Console
from rich.table import Table

stderr = Console(stderr=True, soft_wrap=True)  # never break a message mid-line
GROUPING_COLUMN = "_grouping"  # the cube's subtotal bitmask (cubes.duckdb_engine)


def fail(message: str) -> typer.Exit:
    """The error every command prints to stderr, and the exit (code 2) it raises."""
    stderr.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    return typer.Exit(code=2)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="Output format.")]
WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        help="Warehouse DuckDB file [env ACRM_WAREHOUSE; default data/warehouse/acrm.duckdb]",
    ),
]


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout (ours, libraries', subprocesses') to stderr.

    dbt and dagster-dbt print their logs on stdout; inside this block they land on stderr,
    so `--format json` keeps stdout for the JSON alone.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with redirect_stdout(sys.stderr):
            yield
        sys.stdout.flush()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def progress(message: str) -> None:
    stderr.print(f"[dim]·[/dim] {message}", highlight=False)


def print_json(document: object) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")


def print_frame(
    table: pa.Table, fmt: Format, formats: dict[str, str] | None = None, title: str | None = None
) -> None:
    if fmt is Format.json:
        print_json(table.to_pylist())
    elif fmt is Format.csv:
        pacsv.write_csv(table, sys.stdout.buffer)
        sys.stdout.flush()
    else:
        view = Table(title=title, show_lines=False)
        columns = [c for c in table.column_names if c != GROUPING_COLUMN]
        levels = [c for c in columns if c not in (formats or {})]
        for name in columns:
            view.add_column(name, justify="right" if name in (formats or {}) else "left")
        for record in table.to_pylist():
            grouping = record.get(GROUPING_COLUMN) or 0
            cells = []
            for c in columns:
                rolled_up = c in levels and grouping >> (len(levels) - 1 - levels.index(c)) & 1
                cells.append("Total" if rolled_up else _cell(record[c], (formats or {}).get(c)))
            view.add_row(*cells, style="bold" if grouping else None)
        Console(width=200).print(view)


def _cell(value: object, fmt: str | None) -> str:
    if value is None:
        return ""
    if fmt and isinstance(value, int | float):
        return fmt.format(value)
    return str(value)
