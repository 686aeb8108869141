"""A progress bar per source while it lands: units done, rows, rows per second.

Drawn on stderr when it is a terminal (`acrm run`, `make demo`); under the Dagster daemon
or in CI it draws nothing, and the landing's log lines say the same after each batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

Advance = Callable[[int, int], None]  # (units done now, rows they held)


@contextmanager
def source_bar(name: str, total: int, unit: str) -> Iterator[Advance]:
    console = Console(stderr=True)
    if not console.is_terminal or total == 0:
        yield lambda units, rows: None
        return
    columns = (
        TextColumn(f"[bold]{name:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TextColumn("{task.fields[rows]:>12,} rows"),
        TextColumn("{task.fields[rate]:>10,.0f} rows/s"),
        TimeElapsedColumn(),
    )
    started = time.monotonic()
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(name, total=total, rows=0, rate=0.0)
        landed = 0

        def advance(units: int, rows: int) -> None:
            nonlocal landed
            landed += rows
            rate = landed / max(time.monotonic() - started, 1e-6)
            bar.update(task, advance=units, rows=landed, rate=rate)

        yield advance
