"""A cube query and its validation: every name checked against the model before any SQL."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from cubes.model import Cube


class QueryError(ValueError):
    """A query names something the cube does not have, or is malformed."""


@dataclass(frozen=True)
class Filter:
    level: str  # qualified, e.g. "manager.team"
    values: tuple[object, ...]
    negate: bool = False


@dataclass(frozen=True)
class Query:
    measures: tuple[str, ...]
    rows: tuple[str, ...] = ()
    cols: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    totals: bool = False  # subtotals per row/column hierarchy and the grand total

    @property
    def levels(self) -> tuple[str, ...]:
        return self.rows + self.cols


def _unknown(kind: str, name: str, choices: list[str]) -> QueryError:
    close = difflib.get_close_matches(name, choices, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return QueryError(f"unknown {kind} {name!r}.{hint} Valid {kind}s: {', '.join(choices)}")


def parse_filter(cube: Cube, text: str) -> Filter:
    """`level=value[,value…]` or `level!=value[,value…]`."""
    negate = "!=" in text
    level, sep, raw = text.partition("!=" if negate else "=")
    level = level.strip()
    if not sep or not level or not raw.strip():
        raise QueryError(
            f"malformed filter {text!r}: write LEVEL=VALUE[,VALUE...] or "
            "LEVEL!=VALUE[,VALUE...], e.g. manager.team=North"
        )
    if level not in cube.level_names:
        raise _unknown("level", level, cube.level_names)
    _, lv = cube.level(level)
    values = []
    for part in raw.split(","):
        part = part.strip()
        try:
            values.append(lv.dtype(part))
        except ValueError:
            raise QueryError(
                f"filter {text!r}: {part!r} is not a valid {lv.dtype.__name__} for level {level}"
            ) from None
    return Filter(level, tuple(values), negate)


def build_query(
    cube: Cube,
    measures: list[str],
    rows: list[str] | None = None,
    cols: list[str] | None = None,
    filters: list[str] | None = None,
    totals: bool = False,
) -> Query:
    if not measures:
        raise QueryError(
            f"name at least one measure; valid measures: {', '.join(cube.measure_names)}"
        )
    for m in measures:
        if m not in cube.measure_names:
            raise _unknown("measure", m, cube.measure_names)
    rows, cols = list(rows or []), list(cols or [])
    for level in rows + cols:
        if level not in cube.level_names:
            raise _unknown("level", level, cube.level_names)
    duplicated = {lv for lv in rows + cols if (rows + cols).count(lv) > 1}
    if duplicated:
        raise QueryError(f"level {sorted(duplicated)[0]} appears twice in rows and columns")
    for m in measures:
        for base in cube.base_measures([m]):
            fact = cube.fact(base.fact)
            for level in (
                rows + cols + [f.split("=")[0].rstrip("!").strip() for f in (filters or [])]
            ):
                dim = level.split(".")[0]
                if dim not in fact.foreign_keys:
                    raise QueryError(
                        f"measure {m} (fact {fact.name}) cannot be split by "
                        f"{level}: that fact has no {dim} dimension"
                    )
    return Query(
        measures=tuple(measures),
        rows=tuple(rows),
        cols=tuple(cols),
        filters=tuple(parse_filter(cube, f) for f in (filters or [])),
        totals=totals,
    )
