"""A cube query and its validation: every name checked against the model before any SQL.

Measures are `name` or `name:time_function` (revenue:previous_period, win_rate:ytd).
Filters are `level=a,b`, `level!=a,b` or ranges `level=low..high` (either end may be open).
Top-N keeps the N members of a level with the highest (or lowest) value of a measure.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from functools import cached_property

from cubes.model import TIME_FUNCTIONS, Cube


class QueryError(ValueError):
    """A query names something the cube does not have, or is malformed."""

    status = 400  # the HTTP status a server answers it with


class TooLargeError(QueryError):
    """The answer would cross a limit of the server (cells, memory)."""

    status = 413


class TooSlowError(QueryError):
    """The query ran over the statement time limit and was interrupted."""

    status = 400


@dataclass(frozen=True)
class Filter:
    level: str  # qualified, e.g. "manager.team"
    values: tuple[object, ...] = ()
    negate: bool = False
    low: object = None  # a range, inclusive: low..high (values empty)
    high: object = None

    @property
    def is_range(self) -> bool:
        return not self.values


@dataclass(frozen=True)
class TopN:
    level: str
    measure: str
    n: int
    lowest: bool = False  # bottom N instead


@dataclass(frozen=True)
class Query:
    measures: tuple[str, ...]  # each "name" or "name:time_function"
    rows: tuple[str, ...] = ()
    cols: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    totals: bool = False  # subtotals per row/column hierarchy and the grand total
    top: TopN | None = None

    @property
    def levels(self) -> tuple[str, ...]:
        return self.rows + self.cols

    @cached_property  # the compiler asks often; a frozen query's dimensions never change
    def dimensions(self) -> frozenset[str]:
        return frozenset(
            name.split(".")[0] for name in self.levels + tuple(f.level for f in self.filters)
        )


MAX_TOP = 100_000  # a top N beyond this is no ranking: ask for the level without one


def split_measure(name: str) -> tuple[str, str | None]:
    measure, _, function = name.partition(":")
    return measure, function or None


def unknown_name(kind: str, name: str, choices: list[str]) -> QueryError:
    close = difflib.get_close_matches(name, choices, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return QueryError(f"unknown {kind} {name!r}.{hint} Valid {kind}s: {', '.join(choices)}")


def check_level(cube: Cube, level: str) -> str:
    if level not in cube.level_names:
        raise unknown_name("level", level, cube.level_names)
    return level


def parse_filter(cube: Cube, text: str) -> Filter:
    """`level=v[,v…]`, `level!=v[,v…]` or `level=low..high` (an end may be left out)."""
    negate = "!=" in text
    level, sep, raw = text.partition("!=" if negate else "=")
    level, raw = level.strip(), raw.strip()
    if not sep or not level or not raw or raw == "..":
        raise QueryError(
            f"malformed filter {text!r}: write LEVEL=VALUE[,VALUE...], LEVEL!=VALUE[,VALUE...] "
            "or LEVEL=LOW..HIGH, e.g. manager.team=North or date.month=2025-01..2025-06"
        )
    check_level(cube, level)
    _, lv = cube.level(level)

    def value(part: str) -> object:
        try:
            return lv.parse(part.strip())
        except ValueError:
            raise QueryError(
                f"filter {text!r}: {part.strip()!r} is not a valid {lv.parse.__name__} "
                f"for level {level}"
            ) from None

    if ".." in raw:
        if negate:
            raise QueryError(f"filter {text!r}: a range cannot be negated; use LEVEL=LOW..HIGH")
        low, _, high = raw.partition("..")
        return Filter(
            level,
            low=value(low) if low.strip() else None,
            high=value(high) if high.strip() else None,
        )
    return Filter(level, tuple(value(part) for part in raw.split(",")), negate)


def format_filter(flt: Filter) -> str:
    """The text parse_filter reads back into the same filter (for echoing a query)."""
    if flt.is_range:
        low = "" if flt.low is None else str(flt.low)
        high = "" if flt.high is None else str(flt.high)
        return f"{flt.level}={low}..{high}"
    return f"{flt.level}{'!=' if flt.negate else '='}{','.join(str(v) for v in flt.values)}"


def finest_date_level(cube: Cube, levels: tuple[str, ...]) -> str | None:
    """The finest calendar level among these, the one time functions shift along."""
    calendar = [f"date.{lv.name}" for lv in cube.dimension("date").hierarchies[0].levels]
    on_axes = [lv for lv in calendar if lv in levels]
    return on_axes[-1] if on_axes else None


def validate(cube: Cube, query: Query) -> Query:
    """Check every name and combination; return the query unchanged or raise QueryError."""
    if not query.measures:
        raise QueryError(
            f"name at least one measure; valid measures: {', '.join(cube.measure_names)}"
        )
    for level in query.levels:
        check_level(cube, level)
    duplicated = {lv for lv in query.levels if query.levels.count(lv) > 1}
    if duplicated:
        raise QueryError(f"level {sorted(duplicated)[0]} appears twice in rows and columns")
    axis_date = finest_date_level(cube, query.levels)
    for name in query.measures:
        _check_measure(cube, query, name, axis_date)
    for measure in {split_measure(n)[0] for n in query.measures}:
        _check_sliceable(cube, query, measure)
    if query.top is not None:
        _check_top(cube, query)
    return query


def _check_measure(cube: Cube, query: Query, name: str, axis_date: str | None) -> None:
    """A measure name, and its time function if it has one."""
    measure, function = split_measure(name)
    if name.endswith(":"):
        raise QueryError(
            f"measure {name!r}: name a time function after ':' "
            f"({', '.join(TIME_FUNCTIONS)}) or leave the ':' out"
        )
    if measure not in cube.measure_names:
        raise unknown_name("measure", measure, cube.measure_names)
    if function is None:
        return
    if function not in TIME_FUNCTIONS:
        raise unknown_name("time function", function, list(TIME_FUNCTIONS))
    if axis_date is None:
        raise QueryError(
            f"{name}: a time function needs a calendar level (date.year, date.quarter, "
            "date.month or date.day) on rows or columns"
        )
    _check_time_filters(cube, query, name, axis_date)
    if function == "ytd" and any(b.distinct for b in cube.base_measures([measure])):
        raise QueryError(
            f"{name}: year to date is not offered for a distinct count (a customer counted "
            "in two months is one customer for the year); query it by date.year instead"
        )


def _check_sliceable(cube: Cube, query: Query, measure: str) -> None:
    """Every base of the measure has a fact with each dimension the query names."""
    for base in cube.base_measures([measure]):
        if cube.source_for(base, query.dimensions) is not None:
            continue
        facts = ", ".join(s.fact for s in base.sources)
        missing = sorted(
            d
            for d in query.dimensions
            if not cube.dimension(d).slicing
            and all(d not in cube.fact(s.fact).foreign_keys for s in base.sources)
        )
        raise QueryError(
            f"measure {measure} (from {facts}) cannot be split or filtered by "
            f"{', '.join(missing)}: its facts have no such dimension"
        )


def _check_top(cube: Cube, query: Query) -> None:
    top = query.top
    assert top is not None
    if top.level not in query.rows + query.cols:
        raise QueryError(f"top {top.n}: level {top.level} must be on rows or columns")
    if top.measure not in cube.measure_names:
        raise unknown_name("measure", top.measure, cube.measure_names)
    if top.n < 1:
        raise QueryError(f"top N needs N >= 1, not {top.n}")
    validate(cube, Query((top.measure,), (top.level,), filters=query.filters))


def _check_time_filters(cube: Cube, query: Query, name: str, axis_date: str) -> None:
    calendar = [f"date.{lv.name}" for lv in cube.dimension("date").hierarchies[0].levels]
    for flt in query.filters:
        if flt.level.startswith("date.") and (
            flt.level not in calendar or calendar.index(flt.level) > calendar.index(axis_date)
        ):
            raise QueryError(
                f"{name}: with a time function, filter dates at {axis_date} or coarser "
                f"(not {flt.level}), so every period is whole"
            )


def parse_top(cube: Cube, text: str, rows: list[str], lowest: bool = False) -> TopN:
    """`N:MEASURE[:LEVEL]`; the level defaults to the last row level."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) not in (2, 3) or not re.fullmatch(r"[0-9]{1,6}", parts[0]):
        raise QueryError(
            f"top-N {text!r}: write N:MEASURE or N:MEASURE:LEVEL with N from 1 to {MAX_TOP:,}, "
            "e.g. 5:revenue"
        )
    if not 1 <= int(parts[0]) <= MAX_TOP:
        raise QueryError(f"top-N {text!r}: N must be from 1 to {MAX_TOP:,}")
    level = parts[2] if len(parts) == 3 else (rows[-1] if rows else None)
    if level is None:
        raise QueryError(f"top-N {text!r}: name the level (N:MEASURE:LEVEL) or put one on rows")
    if parts[1] not in cube.measure_names:
        raise unknown_name("measure", parts[1], cube.measure_names)
    return TopN(check_level(cube, level), parts[1], int(parts[0]), lowest)


def build_query(
    cube: Cube,
    measures: list[str],
    rows: list[str] | None = None,
    cols: list[str] | None = None,
    filters: list[str] | None = None,
    totals: bool = False,
    top: TopN | None = None,
) -> Query:
    query = Query(
        measures=tuple(measures),
        rows=tuple(rows or ()),
        cols=tuple(cols or ()),
        filters=tuple(parse_filter(cube, f) for f in (filters or [])),
        totals=totals,
        top=top,
    )
    return validate(cube, query)


def drill_down(cube: Cube, query: Query, level: str, member: object) -> Query:
    """Open `member` of `level`: the level gives way to the next finer one, kept to member."""
    if level not in query.levels:
        raise QueryError(f"drill down: {level} is not on rows or columns")
    finer = cube.relative_level(level, +1)
    if finer is None:
        raise QueryError(f"drill down: {level} is the finest level of its hierarchy")
    _, lv = cube.level(level)
    try:
        flt = Filter(level, (lv.parse(member) if isinstance(member, str) else member,))
    except ValueError:
        raise QueryError(f"drill down: {member!r} is not a member of {level}") from None

    def swap(axis: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(finer if name == level else name for name in axis)

    others = tuple(f for f in query.filters if f.level != level)
    return validate(
        cube, replace(query, rows=swap(query.rows), cols=swap(query.cols), filters=(*others, flt))
    )


def drill_up(cube: Cube, query: Query, level: str) -> Query:
    """Close `level`: it gives way to the next coarser one. Filters on that coarser level
    and below go too (drilling down put them there), so the coarser level shows all members."""
    if level not in query.levels:
        raise QueryError(f"drill up: {level} is not on rows or columns")
    coarser = cube.relative_level(level, -1)
    if coarser is None:
        raise QueryError(f"drill up: {level} is the coarsest level of its hierarchy")
    dim, lv = cube.level(level)
    hierarchy = dim.hierarchy_of(lv.name).levels
    at_or_below = {f"{dim.name}.{x.name}" for x in hierarchy[hierarchy.index(lv) - 1 :]}

    def swap(axis: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(coarser if name == level else name for name in axis)

    kept = tuple(f for f in query.filters if f.level not in at_or_below)
    return validate(
        cube, replace(query, rows=swap(query.rows), cols=swap(query.cols), filters=kept)
    )


def split_names(text: str | list[str] | None) -> list[str]:
    """`a,b, c` (or a list of such) as names; blanks dropped."""
    parts = [text] if isinstance(text, str) else list(text or [])
    return [name.strip() for part in parts for name in part.split(",") if name.strip()]


def _check_text(value: str | list[str] | None) -> None:
    """Text a request gives must be encodable: a lone surrogate (`\\ud800`) is no text."""
    for text in [value] if isinstance(value, str) else list(value or []):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise QueryError(
                f"{text.encode('utf-8', 'backslashreplace').decode()!r} is not valid text "
                f"({exc.reason} at position {exc.start}); send UTF-8"
            ) from None


def parse_request(
    cube: Cube,
    measures: str | list[str],
    rows: str | list[str] | None = None,
    cols: str | list[str] | None = None,
    filters: list[str] | None = None,
    totals: bool = False,
    top: str | None = None,
    bottom: str | None = None,
    open_member: str | None = None,
    close_level: str | None = None,
) -> Query:
    """A query from the words a user types (the CLI's options, the HTTP API's parameters):
    comma-separated names, filters as text, `N:MEASURE[:LEVEL]` for top or bottom N,
    `open_member` LEVEL=MEMBER to drill down and `close_level` LEVEL to drill up.
    Raises QueryError naming the bad part and the valid choices."""
    if top and bottom:
        raise QueryError("give top or bottom, not both")
    for part in (measures, rows, cols, filters, top, bottom, open_member, close_level):
        _check_text(part)
    row_names = split_names(rows)
    ranking = None
    if top or bottom:
        ranking = parse_top(cube, top or bottom, row_names, lowest=bool(bottom))
    query = build_query(
        cube, split_names(measures), row_names, split_names(cols), filters or [], totals, ranking
    )
    if open_member:
        level, sep, member = open_member.partition("=")
        if not sep:
            raise QueryError(f"drill down {open_member!r}: write LEVEL=MEMBER")
        query = drill_down(cube, query, level.strip(), member.strip())
    if close_level:
        query = drill_up(cube, query, close_level.strip())
    return query
