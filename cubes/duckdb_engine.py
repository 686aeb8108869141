"""The embedded engine: compiles cube queries to DuckDB SQL over the published warehouse.

A query becomes one SELECT per fact it needs (its levels, its aggregates, GROUP BY with
ROLLUP for subtotals), full-joined on the level values; ratios and differences are computed
from the summed parts of each cell. Time functions read the same facts through a shifted
calendar (each day counted in the next period, the period a year later, or every later
period of its year), so they are exact for distinct counts and respect date filters. Names
come from the model only; user values travel as bound parameters.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Container
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from cubes.model import (
    GROWTH_OF,
    Z95,
    Aggregate,
    Cube,
    Difference,
    Dimension,
    Ratio,
    UpliftBound,
    fact_projection,
)
from cubes.query import (
    Filter,
    Query,
    TooLargeError,
    TooSlowError,
    check_level,
    finest_date_level,
    split_measure,
    validate,
)

# run_arrow's copy is chosen (its docstring); warnings.catch_warnings is not thread-safe,
# and the server answers from several threads, so the warning is filtered once, here
warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)
GROUPING_COLUMN = "_grouping"  # bitmask: bit i set = level i is rolled up (a subtotal row)
_UNIT = {"date.year": "year", "date.quarter": "quarter", "date.month": "month", "date.day": "day"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    parameters: dict[str, object]


class _Parameters:
    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def bind(self, value: object) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def shifted_dates(dates: Dimension, function: str, axis_level: str) -> str:
    """dim_dates re-keyed so each day's facts count in the period the function reads them.

    previous_period: a day counts in the next period (so March shows February);
    last_year: in the same day a year later; ytd: in its period and every later period of
    the same year. The relation has the key and the levels' columns of the date dimension,
    with the target period's values (named, not `n.* exclude`: any SQL engine reads it).
    """
    unit = _UNIT[axis_level]
    start = f"cast(date_trunc('{unit}', d.date_day) as date)"
    if function == "previous_period":
        on = f"n.date_day = cast({start} + interval 1 {unit} as date)"
    elif function == "last_year":
        on = "n.date_day = cast(d.date_day + interval 1 year as date)"
    else:  # ytd
        on = (
            f"n.year = d.year and n.date_day >= {start} "
            f"and n.date_day = cast(date_trunc('{unit}', n.date_day) as date)"
        )
    columns = dict.fromkeys(c for lv in dates.levels for c in (lv.column, lv.sort_column) if c)
    columns.pop(dates.key, None)
    shifted = ", ".join(f"n.{c}" for c in columns)
    return (
        f"(select d.{dates.key}, {shifted} from {dates.relation} as d "
        f"inner join {dates.relation} as n on {on})"
    )


def _filter_sql(column: str, flt: Filter, params: _Parameters) -> str:
    if flt.is_range:
        parts = []
        if flt.low is not None:
            parts.append(f"{column} >= {params.bind(flt.low)}")
        if flt.high is not None:
            parts.append(f"{column} <= {params.bind(flt.high)}")
        return " and ".join(parts)
    members = ", ".join(params.bind(v) for v in flt.values)
    if flt.negate:  # members with no value (unknown days) are kept, not dropped by NULL logic
        return f"not coalesce({column} in ({members}), false)"
    return f"{column} in ({members})"


def _on_fact(cube: Cube, fact, qualified: str, relations: dict[str, str]) -> bool:
    """Whether a level's value is the fact's own foreign key (the level's column is its
    dimension's key, e.g. attribution.model): then no join to the dimension is needed (a
    sort column is looked up per cell)."""
    dim, lv = cube.level(qualified)
    return (
        lv.relation is None
        and lv.column == dim.key
        and dim.name in fact.foreign_keys
        and dim.name not in relations
    )


class _Columns:
    """The SQL of levels within one fact's SELECT. A level kept in another table (RFM and
    mining levels of the customer) joins that table on the fact's key on first use; a
    level that is the fact's foreign key reads it from the fact."""

    def __init__(
        self, cube: Cube, fact, aliases: dict[str, str], joins: list[str], relations: dict
    ):
        self.cube, self.fact, self.aliases, self.joins = cube, fact, aliases, joins
        self.relations = relations
        self.kept_elsewhere: dict[str, str] = {}

    def of(self, qualified: str, sort: bool = False) -> str:
        dim, lv = self.cube.level(qualified)
        if _on_fact(self.cube, self.fact, qualified, self.relations):
            return f"f.{self.fact.foreign_keys[dim.name]}"
        if lv.relation is None:
            column = lv.sort_column if sort and lv.sort_column else lv.column
            return f"{self.aliases[dim.name]}.{column}"
        alias = self.kept_elsewhere.get(qualified)
        if alias is None:
            alias = self.kept_elsewhere[qualified] = f"x{len(self.kept_elsewhere)}"
            self.joins.append(
                f"left join {lv.relation} as {alias} "
                f"on f.{self.fact.foreign_keys[dim.name]} = {alias}.{dim.key}"
            )
        missing = str(lv.missing).replace("'", "''")  # the model's words, not a user's
        return f"coalesce({alias}.{lv.column}, '{missing}')"


def _bases_by_fact(
    cube: Cube, query: Query, bases: list[Aggregate]
) -> dict[str, list[tuple[Aggregate, str, str]]]:
    """Fact name -> (base, expression, function) of the source each base reads here."""
    by_fact: dict[str, list[tuple[Aggregate, str, str]]] = {}
    for base in bases:
        source = cube.source_for(base, query.dimensions)
        assert source is not None  # validate() guarantees it
        by_fact.setdefault(source.fact, []).append((base, source.expression, source.function))
    return by_fact


@dataclass
class _FactPlan:
    """One fact's SELECT, decided before any SQL is written: what it reads, what it joins,
    filters and groups by, and which aggregates it computes."""

    name: str
    projection: str  # the relation read as `f`
    joins: list[str]
    where: list[str]
    levels: list[str]  # each query level's SQL, in the query's order
    sorts: list[str]  # each level's sort key
    group_by: str
    grouping: str
    aggregates: dict[str, str]  # base measure -> its aggregate's SQL
    counts: set[str]  # base measures that count rows (never null in a cell with rows)

    @property
    def body(self) -> str:
        where = " where " + " and ".join(f"({w})" for w in self.where) if self.where else ""
        return f"from {self.projection} as f {' '.join(self.joins)}{where} {self.group_by}"


def _plan_fact(
    cube: Cube,
    query: Query,
    fact_name: str,
    aggregates: list[tuple[Aggregate, str, str]],
    params: _Parameters,
    relations: dict[str, str],
    top_sql: str | None,
    projections: dict[str, str] | None,
) -> _FactPlan:
    fact = cube.fact(fact_name)
    levels = list(query.levels)
    used = levels + [f.level for f in query.filters]
    slicing_defaults = [d for d in cube.dimensions if d.slicing and d.name not in query.dimensions]
    needed, defaults_on_fact = _needed_dimensions(cube, fact, used, slicing_defaults, relations)
    joins, aliases = _dimension_joins(cube, fact, needed, relations)
    columns = _Columns(cube, fact, aliases, joins, relations)
    where = []
    for dim in slicing_defaults:
        if dim.name in aliases or dim.name in defaults_on_fact:
            default = str(dim.default_member).replace("'", "''")  # the model's, not a user's
            where.append(
                f"{columns.of(f'{dim.name}.{dim.hierarchies[0].levels[0].name}')} = '{default}'"
            )
    for flt in query.filters:
        where.append(_filter_sql(columns.of(flt.level), flt, params))
    if top_sql is not None:
        where.append(f"{columns.of(query.top.level)} in ({top_sql})")  # type: ignore[union-attr]
    level_sql, sorts = _level_columns(cube, query, fact, columns, relations)
    group_by, grouping = _grouping(cube, query, level_sql)
    summed = fact_name in (projections or {})  # counts already counted: summed here
    keyed = list(dict.fromkeys([*(q.split(".")[0] for q in used), *needed, *defaults_on_fact]))
    return _FactPlan(
        name=fact_name,
        projection=(projections or {}).get(fact_name)
        or fact_projection(fact, keyed, {b.name: e for b, e, _ in aggregates}),
        joins=joins,
        where=where,
        levels=level_sql,
        sorts=sorts,
        group_by=group_by,
        grouping=grouping,
        aggregates={
            base.name: _aggregate_sql(function, expression, f"f.{_quote(base.name)}", summed)
            for base, expression, function in aggregates
        },
        counts={b.name for b, _, f in aggregates if f in ("count", "count_distinct")},
    )


def _needed_dimensions(cube: Cube, fact, used: list[str], slicing_defaults, relations):
    """(dimensions whose own table the fact's SELECT joins, slicing dimensions whose
    default member is on the fact). Levels kept elsewhere join on their own; a level that
    is the fact's foreign key needs no join."""
    needed = dict.fromkeys(
        q.split(".")[0]
        for q in used
        if not cube.level(q)[1].relation and not _on_fact(cube, fact, q, relations)
    )
    defaults_on_fact = {
        d.name
        for d in slicing_defaults
        if _on_fact(cube, fact, f"{d.name}.{d.hierarchies[0].levels[0].name}", relations)
    }
    needed.update(
        dict.fromkeys(
            d.name
            for d in slicing_defaults
            if d.name in fact.foreign_keys and d.name not in defaults_on_fact
        )
    )
    return needed, defaults_on_fact


def _dimension_joins(cube: Cube, fact, needed, relations) -> tuple[list[str], dict[str, str]]:
    joins, aliases = [], {}
    for j, dim_name in enumerate(needed):
        dim = cube.dimension(dim_name)
        alias = aliases[dim_name] = f"d{j}"
        relation = relations.get(dim_name, dim.relation)
        if dim_name in fact.foreign_keys:
            joins.append(
                f"left join {relation} as {alias} "
                f"on f.{fact.foreign_keys[dim_name]} = {alias}.{dim.key}"
            )
        else:  # a slicing dimension the fact does not have: the same value for each member
            joins.append(f"cross join {relation} as {alias}")
    return joins, aliases


def _level_columns(cube: Cube, query: Query, fact, columns: _Columns, relations):
    """(each level's SQL, its sort key)."""
    level_sql, sorts = [], []
    for qualified in query.levels:
        dim, lv = cube.level(qualified)
        level_sql.append(columns.of(qualified))
        if lv.sort_column and _on_fact(cube, fact, qualified, relations):
            # a member on the fact looks its order up once per cell, not a join per row
            sort = (
                f"(select min(s.{lv.sort_column}) from {dim.relation} as s "
                f"where s.{dim.key} = {level_sql[-1]})"
            )
        else:
            sort = f"min({columns.of(qualified, sort=True)})"
        if query.totals:  # a subtotal sorts after the members it adds up
            sort = f"case when grouping({level_sql[-1]}) = 0 then {sort} end"
        if not lv.sort_column:
            sort = level_sql[-1]  # the member itself; null (a subtotal) sorts last
        sorts.append(sort)
    return level_sql, sorts


def _grouping(cube: Cube, query: Query, level_sql: list[str]) -> tuple[str, str]:
    """(GROUP BY, the GROUPING expression): rollups per axis with totals. The grouping is
    a bigint in every answer, whichever engine runs the SQL (PostgreSQL's is an integer)."""
    levels = list(query.levels)
    if levels and query.totals:
        fixed = [s for s, q in zip(level_sql, levels, strict=True) if cube.level(q)[0].slicing]
        axes = [
            [
                level_sql[k]
                for k, q in enumerate(levels)
                if q in axis and not cube.level(q)[0].slicing
            ]
            for axis in (query.rows, query.cols)
        ]
        group_by = "group by " + ", ".join(
            [*fixed, *(f"rollup({', '.join(axis)})" for axis in axes if axis)]
        )
        return group_by, f"cast(grouping({', '.join(level_sql)}) as bigint)"
    if levels:
        return f"group by {', '.join(level_sql)}", "cast(0 as bigint)"
    return "", "cast(0 as bigint)"


def _render_cells(cube: Cube, query: Query, plan: _FactPlan) -> str:
    """A fact's cells: levels with their sort keys, its measures, the grouping."""
    select = []
    for k, qualified in enumerate(query.levels):
        select += [f"{plan.levels[k]} as {_quote(qualified)}", f"{plan.sorts[k]} as _sort{k}"]
    select += [
        f"{_output_sql(cube, name, plan.aggregates.__getitem__)} as {_quote(name)}"
        for name in plan.aggregates
    ]
    return f"select {', '.join([*select, f'{plan.grouping} as {GROUPING_COLUMN}'])} {plan.body}"


def _render_flat(cube, query, plan: _FactPlan, flat: list[str], axis_date) -> str:
    """One fact's whole answer, ordered, its measures computed in place."""
    columns = [f"{sql} as {_quote(q)}" for sql, q in zip(plan.levels, query.levels, strict=True)]
    columns.append(f"{plan.grouping} as {GROUPING_COLUMN}")
    # every cell here has rows of this fact, so its counts are never null
    measures, window = _flat_measures(
        cube, query, flat, plan.aggregates, plan.counts, plan.levels, plan.grouping, axis_date
    )
    columns += measures
    order = f" order by {', '.join(f'{x} nulls last' for x in plan.sorts)}" if plan.sorts else ""
    return f"select {', '.join(columns)} {plan.body}{window}{order}"


def _render_joined(cube, query, plans: list[_FactPlan], bases, flat: list[str] | None) -> str:
    """Several facts' cells full-joined on the level values (and grouping)."""
    levels = list(query.levels)
    selects = [f"q{i} as ({_render_cells(cube, query, p)})" for i, p in enumerate(plans)]
    keys = [*levels, GROUPING_COLUMN]
    n = len(selects)
    from_sql = "q0"
    for i in range(1, n):
        on = [f"q0.{_quote(k)} is not distinct from q{i}.{_quote(k)}" for k in levels]
        if query.totals:  # without totals every cell's grouping is 0
            on.append(f"q0.{GROUPING_COLUMN} = q{i}.{GROUPING_COLUMN}")
        from_sql += f" full join q{i} on {' and '.join(on) or 'true'}"

    def coalesced(column: str) -> str:
        if n == 1:
            return f"q0.{column}"
        return f"coalesce({', '.join(f'q{i}.{column}' for i in range(n))})"

    columns = [f"{coalesced(_quote(k))} as {_quote(k)}" for k in keys]
    if flat is not None:  # the measures over the joined facts, ordered: no outer SELECT
        fact_of = {b: i for i, p in enumerate(plans) for b in p.aggregates}
        columns += [
            f"{_measure_sql(cube, name, lambda b: f'q{fact_of[b]}.{_quote(b)}')} as {_quote(name)}"
            for name in flat
        ]
        order = ", ".join(f"{coalesced(f'_sort{k}')} nulls last" for k in range(len(levels)))
        return f"with {', '.join(selects)} select {', '.join(columns)} from {from_sql}" + (
            f" order by {order}" if order else ""
        )
    columns += [f"{coalesced(f'_sort{k}')} as _sort{k}" for k in range(len(levels))]
    columns += [_quote(b.name) for b in bases]  # base names are unique across facts
    return f"(with {', '.join(selects)} select {', '.join(columns)} from {from_sql})"


def _cells_sql(
    cube: Cube,
    query: Query,
    bases: list[Aggregate],
    params: _Parameters,
    relations: dict[str, str],
    top_sql: str | None,
    flat: list[str] | None = None,
    projections: dict[str, str] | None = None,
    axis_date: str | None = None,
) -> str:
    """Levels, sort keys, grouping and base aggregates: one row per cell.

    With `flat` (measure names), the whole answer instead, ordered, its measures computed
    in place: one SELECT for one fact (no CTE, no join), the full join's for several.
    `projections` names, per fact, a relation to read instead of the fact's projection
    (the facts summed once by their keys, shared by a query's time-function variants).
    Time functions in `flat` (one fact, `axis_date` on the axes) are windows over the cells.
    A plan per fact decides what it reads, joins, filters and groups; rendering writes it.
    """
    by_fact = _bases_by_fact(cube, query, bases)
    plans = [
        _plan_fact(cube, query, name, aggregates, params, relations, top_sql, projections)
        for name, aggregates in by_fact.items()
    ]
    if flat is not None and len(plans) == 1:
        return _render_flat(cube, query, plans[0], flat, axis_date)
    if len(plans) == 1:  # one fact: its cells as they are
        return f"({_render_cells(cube, query, plans[0])})"
    return _render_joined(cube, query, plans, bases, flat)


def _flat_measures(
    cube: Cube,
    query: Query,
    names: list[str],
    aggregates: dict[str, str],
    counts: set[str],
    level_sql: list[str],
    grouping: str,
    axis_date: str | None,
) -> tuple[list[str], str]:
    """The measure columns of a one-fact SELECT over its aggregates' SQL, and its WINDOW
    clause: time functions there are windows over the cells (see _by_window)."""
    variants = {GROWTH_OF.get(f, f) for _, f in map(split_measure, names) if f}
    if not variants:
        columns = [
            f"{_output_sql(cube, name, aggregates.__getitem__, counts)} as {_quote(name)}"
            for name in names
        ]
        return columns, ""
    assert axis_date is not None  # validate() guarantees it
    axis = list(query.levels).index(axis_date)
    others = [sql for k, sql in enumerate(level_sql) if k != axis]
    time = _TimeWindows(
        axis_date,
        variants,
        others + ([grouping] if query.totals else []),
        level_sql[axis],
        *_period_sql(axis_date, level_sql[axis]),
    )

    def read(variant: str, base: str) -> str:
        return time.read(variant, aggregates[base])

    columns = []
    for name in names:
        measure, function = split_measure(name)
        if function is None:
            sql = _output_sql(cube, name, aggregates.__getitem__, counts)
        else:
            sql = _time_function_sql(cube, name, aggregates.__getitem__, read)
            sql = sql if function in GROWTH_OF else _typed(cube, measure, sql)
        columns.append(f"{sql} as {_quote(name)}")
    return columns, f" window {', '.join(time.windows)}"


def _aggregate_sql(function: str, expression: str, column: str, summed: bool = False) -> str:
    """A source's function over the column of its expression; `summed`: the column holds
    partial counts or sums. A count of every row (`true`) is count(*)."""
    if function == "count_distinct":
        return f"count(distinct {column})"
    if function == "count" and not summed:
        return "count(*)" if expression == "true" else f"count_if({column})"
    return f"sum({column})"


def _output_sql(
    cube: Cube, name: str, base: Callable[[str], str], never_null: Container[str] = ()
) -> str:
    """A measure as answers give it: counts (and their differences) as bigint, other sums
    and differences as double, ratios as double; the parts inside stay as DuckDB sums them."""
    return _typed(cube, name, _measure_sql(cube, name, base, never_null))


def _typed(cube: Cube, name: str, sql: str) -> str:
    """A measure's SQL cast to its answer's type (a ratio is a double already)."""
    if _is_rate(cube, name):
        return sql
    integer = all(b.integer for b in cube.base_measures([name]))
    return f"cast({sql} as {'bigint' if integer else 'double'})"


def _is_rate(cube: Cube, name: str) -> bool:
    """A ratio, an uplift bound, or a measure computed from one (a difference of rates)."""
    m = cube.measure(name)
    return isinstance(m, Ratio | UpliftBound) or any(_is_rate(cube, p) for p in m.parts())


def _measure_sql(
    cube: Cube, name: str, base: Callable[[str], str], never_null: Container[str] = ()
) -> str:
    """A measure as SQL over its base aggregates; `base` gives each one's SQL, and
    `never_null` names the bases that have a value in every cell."""
    m = cube.measure(name)
    if isinstance(m, Ratio):
        numerator = _measure_sql(cube, m.numerator, base, never_null)
        denominator = _measure_sql(cube, m.denominator, base, never_null)
        return f"({numerator} / nullif(cast({denominator} as double), 0))"
    if isinstance(m, UpliftBound):
        return _uplift_bound_sql(cube, m, base, never_null)
    if isinstance(m, Difference):
        a = _measure_sql(cube, m.minuend, base, never_null)
        b = _measure_sql(cube, m.subtrahend, base, never_null)
        if m.minuend in never_null and m.subtrahend in never_null:
            return f"({a} - {b})"
        both_missing = f"{a} is null and {b} is null"
        return f"(case when {both_missing} then null else coalesce({a}, 0) - coalesce({b}, 0) end)"
    return base(name)


def _uplift_bound_sql(cube: Cube, m: UpliftBound, base, never_null) -> str:
    """UpliftBound's formula (Agresti-Caffo) over the two rates' parts."""
    rates, variance = [], []
    for name in (m.treated, m.holdout):
        ratio = cube.measure(name)
        x = f"coalesce({_measure_sql(cube, ratio.numerator, base, never_null)}, 0)"
        n = f"coalesce({_measure_sql(cube, ratio.denominator, base, never_null)}, 0)"
        rate = f"(({x} + 1.0) / ({n} + 2.0))"
        rates.append(rate)
        variance.append(f"{rate} * (1 - {rate}) / ({n} + 2.0)")
    spread = f"{m.side} * {Z95} * sqrt({' + '.join(variance)})"
    return f"({rates[0]} - {rates[1]} + {spread})"


def _summed_facts(
    cube: Cube, query: Query, bases: list[Aggregate]
) -> tuple[list[str], dict[str, str]]:
    """CTEs summing each fact whose aggregates are all sums by the foreign keys the query
    can use (a day, not an order, per row), and the fact -> CTE names. The main cells and
    each time-function variant read the same sums: one scan of the fact, and a shifted
    calendar that repeats a day in several periods (year to date) repeats few rows. Sums
    of sums are exact; a fact with a distinct count is read as it is."""
    dimensions = set(query.dimensions) | {d.name for d in cube.dimensions if d.slicing}
    if query.top is not None:
        dimensions.add(query.top.level.split(".")[0])
    ctes, names = [], {}
    for i, (fact_name, aggregates) in enumerate(_bases_by_fact(cube, query, bases).items()):
        fact = cube.fact(fact_name)
        keys = list(dict.fromkeys(c for d, c in fact.foreign_keys.items() if d in dimensions))
        if not keys or any(function == "count_distinct" for *_, function in aggregates):
            continue
        projection = fact_projection(
            fact, sorted(dimensions), {b.name: e for b, e, _ in aggregates}
        )
        sums = ", ".join(
            f"{_aggregate_sql(function, expression, _quote(b.name))} as {_quote(b.name)}"
            for b, expression, function in aggregates
        )
        key_list = ", ".join(keys)
        names[fact_name] = f"summed{i}"
        ctes.append(
            f"summed{i} as materialized (select {key_list}, {sums} from {projection} as r "
            f"group by {key_list})"
        )
    return ctes, names


_PERIODS_PER_YEAR = {"date.year": 1, "date.quarter": 4, "date.month": 12}


def _by_window(query: Query, axis_date: str | None, variant: str) -> bool:
    """Whether a time-function variant can be read from the main cells by a window, exact
    when those cells hold every period it reads. Year to date: no date filter but on whole
    years. The previous period or a year earlier: no date filter at all, years, quarters or
    months alone on the date axis. Neither with a top-N of dates."""
    if axis_date is None or (query.top is not None and query.top.level.startswith("date.")):
        return False
    date_filters = [f for f in query.filters if f.level.startswith("date.")]
    if variant == "ytd":
        return axis_date != "date.year" and all(f.level == "date.year" for f in date_filters)
    dates_on_axes = [lv for lv in query.levels if lv.startswith("date.")]
    return axis_date in _PERIODS_PER_YEAR and not date_filters and dates_on_axes == [axis_date]


def _period_sql(axis_date: str, period: str) -> tuple[str, str]:
    """A period member's SQL as (its year, a number that counts periods); both null for the
    Unknown member, which no time function reads."""
    if axis_date == "date.day":
        return f"year({period})", period
    if axis_date == "date.year":
        return period, period
    year = f"try_cast(substr({period}, 1, 4) as integer)"
    number = {"date.quarter": f"try_cast(substr({period}, 7) as integer)"}.get(
        axis_date, f"try_cast(substr({period}, 6, 2) as integer)"
    )
    return year, f"{year} * {_PERIODS_PER_YEAR[axis_date]} + {number}"


class _TimeWindows:
    """Windowed time-function variants over cells: a WINDOW per variant (the running sum
    of the year for ytd; the one cell a period, or a year, back by a RANGE frame over the
    period number) and the SQL that reads a value through one. `partition` are the cells'
    other levels (and their grouping with totals); `year` and `index` come from
    _period_sql, over `period`, the cells' date member."""

    def __init__(
        self, axis_date: str, variants, partition: list[str], period: str, year: str, index: str
    ):
        self.year, self.index = year, index
        self.windows = []
        for variant in sorted(variants):
            if variant == "ytd":
                self.windows.append(
                    f"ytd as (partition by {', '.join([*partition, year])} order by {period} "
                    "rows between unbounded preceding and current row)"
                )
                continue
            back = 1 if variant == "previous_period" else _PERIODS_PER_YEAR[axis_date]
            by = f"partition by {', '.join(partition)} " if partition else ""
            self.windows.append(
                f"{variant} as ({by}order by {index} "
                f"range between {back} preceding and {back} preceding)"
            )

    def read(self, variant: str, value: str, sql_type: str | None = None) -> str:
        if variant == "ytd":  # validate refuses ytd of a distinct count: these are sums
            window = f"sum({value}) over ytd"
            window = f"cast({window} as {sql_type})" if sql_type else window
            return f"(case when {self.year} is not null then {window} end)"
        return f"(case when {self.index} is not null then max({value}) over {variant} end)"


def _windowed_main(cube: Cube, query: Query, axis_date: str, variants: dict[str, list[str]]) -> str:
    """The main cells with, per windowed variant, its base measures as columns named
    `variant:base`, each window computed once (for several facts, or a growth rate, which
    reads its window three times)."""
    year, index = _period_sql(axis_date, f"main.{_quote(axis_date)}")
    partition = [f"m.{_quote(k)}" for k in query.levels if k != axis_date]
    if query.totals:  # without totals every cell's grouping is 0
        partition.append(f"m.{GROUPING_COLUMN}")
    time = _TimeWindows(
        axis_date, variants, partition, f"m.{_quote(axis_date)}", "m._year", "m._period"
    )
    columns = [
        f"{time.read(v, f'm.{_quote(b.name)}', 'bigint' if b.integer else 'double')}"
        f" as {_quote(f'{v}:{b.name}')}"
        for v, measures in sorted(variants.items())
        for b in cube.base_measures(measures)
    ]
    periods = [f"{year} as _year"] if "ytd" in variants else []
    if set(variants) - {"ytd"}:
        periods.append(f"{index} as _period")
    return (
        f"(select m.*, {', '.join(columns)} from "
        f"(select main.*, {', '.join(periods)} from main) as m "
        f"window {', '.join(time.windows)})"
    )


def _time_function_sql(
    cube: Cube, name: str, now: Callable[[str], str], at: Callable[[str, str], str]
) -> str:
    """A `measure` or `measure:function` over base measures: `now(base)` in the cell,
    `at(variant, base)` in the variant's period."""
    measure, function = split_measure(name)
    if function is None:
        return _measure_sql(cube, measure, now)
    if function in GROWTH_OF:
        current = _measure_sql(cube, measure, now)
        before = _measure_sql(cube, measure, lambda b: at(GROWTH_OF[function], b))
        return f"(({current}) - ({before})) / nullif(cast({before} as double), 0)"
    return _measure_sql(cube, measure, lambda b: at(function, b))


def _top_by_limit(cube: Cube, query: Query) -> bool:
    """Top-N whose level is the only one on the axes, without totals: the answer's own
    cells are the ranking, so ORDER BY ... LIMIT replaces the member-filter subquery."""
    top = query.top
    if top is None or query.totals or query.cols or query.rows != (top.level,):
        return False
    return top.measure in query.measures and not cube.level(top.level)[1].sort_column


def compile_query(cube: Cube, query: Query, params: _Parameters | None = None) -> CompiledQuery:
    validate(cube, query)
    params = params or _Parameters()
    wanted = [split_measure(n) for n in query.measures]
    reads = _variants(wanted)
    axis_date = finest_date_level(cube, query.levels)
    bases = cube.base_measures([m for m, _ in wanted])
    windowed = {v for v in reads if v != "main" and _by_window(query, axis_date, v)}
    facts = _bases_by_fact(cube, query, bases)
    # one SELECT: no time function, or (one fact) only time functions read by a window and
    # no growth (which reads its window three times: planned thrice, slower than a subquery)
    flat_ok = list(reads) == ["main"] or (
        len(facts) == 1
        and set(reads) - {"main"} <= windowed
        and not any(f in GROWTH_OF for _, f in wanted)
    )
    if flat_ok and _top_by_limit(cube, query):  # the ranked level alone on the axes: one scan
        return CompiledQuery(_ranked_flat_sql(cube, query, bases, params), params.values)
    top_sql = _top_members_sql(cube, query, params)  # bound before the rest
    if flat_ok:  # the common case: one flat SELECT
        flat = _cells_sql(
            cube, query, bases, params, {}, top_sql, flat=list(query.measures), axis_date=axis_date
        )
        return CompiledQuery(flat, params.values)
    plan = _VariantPlan(reads, windowed, axis_date, bases, top_sql)
    return CompiledQuery(_variants_sql(cube, query, params, plan), params.values)


def _variants(wanted: list[tuple[str, str | None]]) -> dict[str, list[str]]:
    """Each calendar a query reads (main, or a time function's shift) -> its measures."""
    reads: dict[str, list[str]] = {}
    for measure, function in wanted:
        if function is None or function in GROWTH_OF:
            reads.setdefault("main", []).append(measure)
        if function is not None:
            reads.setdefault(GROWTH_OF.get(function, function), []).append(measure)
    reads.setdefault("main", [])
    return reads


def _ranked_flat_sql(cube: Cube, query: Query, bases, params: _Parameters) -> str:
    """Top N of the one level on the axes: the flat answer, ordered and limited."""
    top = query.top
    assert top is not None
    cells = _cells_sql(cube, query, bases, params, {}, None, flat=list(query.measures))
    measure, level = _quote(top.measure), _quote(top.level)
    ranked = (
        f"select * from ({cells}) as cells where {measure} is not null "
        f"order by {measure} {'asc' if top.lowest else 'desc'} limit {int(top.n)}"
    )
    return f"select * from ({ranked}) as ranked order by {level} nulls last"


def _top_members_sql(cube: Cube, query: Query, params: _Parameters) -> str | None:
    """The members a top-N keeps, as a subquery (None without a top-N)."""
    if query.top is None:
        return None
    top = query.top
    inner = compile_query(
        cube, Query((top.measure,), (top.level,), filters=query.filters), params
    ).sql
    direction = "asc" if top.lowest else "desc"
    return (
        f"select {_quote(top.level)} from ({inner}) as ranked "
        f"where {_quote(top.measure)} is not null "
        f"order by {_quote(top.measure)} {direction} limit {int(top.n)}"
    )


@dataclass(frozen=True)
class _VariantPlan:
    reads: dict[str, list[str]]  # calendar variant -> its measures
    windowed: set[str]  # variants read by a window over main's cells
    axis_date: str | None
    bases: list[Aggregate]
    top_sql: str | None


def _variants_sql(cube: Cube, query: Query, params: _Parameters, plan: _VariantPlan) -> str:
    """Time functions by shifted calendars: a CTE of cells per variant, joined to main's."""
    levels = list(query.levels)
    ctes, projections = [], {}
    if any(v not in plan.windowed for v in plan.reads if v != "main"):
        # a shifted calendar: each fact of sums is summed once, read by every variant
        ctes, projections = _summed_facts(cube, query, plan.bases)
    joined = [v for v in plan.reads if v != "main" and v not in plan.windowed]
    for variant in [v for v in plan.reads if v not in plan.windowed]:
        relations = {}
        if variant != "main":
            relations["date"] = shifted_dates(
                cube.dimension("date"),
                variant,
                plan.axis_date,  # type: ignore[arg-type]
            )
        needed = (
            plan.bases
            if not plan.reads[variant] or (variant == "main" and plan.windowed)
            else cube.base_measures(plan.reads[variant])
        )
        cells = _cells_sql(
            cube, query, needed, params, relations, plan.top_sql, projections=projections
        )
        ctes.append(f"{variant} as {cells}")
    select = [f"main.{_quote(k)}" for k in [*levels, GROUPING_COLUMN]]
    joins = [f"left join {v} on {_variant_join(levels, v, plan.axis_date)}" for v in joined]

    def at(variant: str, base: str) -> str:
        if variant in plan.windowed:
            return f"main.{_quote(f'{variant}:{base}')}"
        return f"{variant}.{_quote(base)}"

    for name in query.measures:
        expression = _time_function_sql(cube, name, lambda b: at("main", b), at)
        select.append(f"{expression} as {_quote(name)}")
    source = "main"
    if plan.windowed:
        windowed_reads = {v: plan.reads[v] for v in plan.windowed}
        source = f"{_windowed_main(cube, query, plan.axis_date, windowed_reads)} as main"  # type: ignore[arg-type]
    order = [f"main._sort{k} nulls last" for k in range(len(levels))]
    return f"with {', '.join(ctes)} select {', '.join(select)} from {source} {' '.join(joins)}" + (
        f" order by {', '.join(order)}" if order else ""
    )


def _variant_join(levels: list[str], variant: str, axis_date: str | None) -> str:
    on = [f"main.{GROUPING_COLUMN} = {variant}.{GROUPING_COLUMN}"]
    for k in levels:
        op = "=" if k == axis_date else "is not distinct from"  # no time shift on totals
        on.append(f"main.{_quote(k)} {op} {variant}.{_quote(k)}")
    return " and ".join(on)


def run_arrow(con: duckdb.DuckDBPyConnection, sql: str, parameters: dict | None = None) -> pa.Table:
    """A query's answer as Arrow, the query bound once. `con.sql(...).to_arrow_table()`
    binds it twice (once to describe the lazy relation, again to run it): about a
    millisecond for a compiled cube query, a fifth of a small answer's time. The price is a
    copy of the rows, which DuckDB warns of: nothing for aggregated cells, about a fifth
    more for half a million rows (docs/DECISIONS.md)."""
    return con.execute(sql, parameters or None).to_arrow_table()


class ResultCache:
    """Answers by (published file, SQL, parameters), bounded in entries and in bytes;
    emptied when a new build is published. Safe to share between threads."""

    def __init__(self, capacity: int = 256, max_bytes: int | None = None):
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, pa.Table] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple) -> pa.Table | None:
        with self._lock:
            table = self._entries.get(key)
            if table is None:
                self.misses += 1
                return None
            self.hits += 1
            self._entries.move_to_end(key)
            return table

    def put(self, key: tuple, table: pa.Table) -> None:
        if self.max_bytes is not None and table.nbytes > self.max_bytes:
            return  # bigger than the whole cache: not kept
        with self._lock:
            if key in self._entries:
                self._bytes -= self._entries.pop(key).nbytes
            self._entries[key] = table
            self._bytes += table.nbytes
            while len(self._entries) > self.capacity or (
                self.max_bytes is not None and self._bytes > self.max_bytes
            ):
                self._bytes -= self._entries.popitem(last=False)[1].nbytes

    @property
    def bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


@dataclass(frozen=True)
class Bounds:
    """What one engine allows: DuckDB's memory and threads, a statement's seconds, and
    the cells of one answer (None: no bound)."""

    memory_limit: str | None = None
    threads: int | None = None
    statement_seconds: float | None = None
    max_cells: int | None = None

    @property
    def config(self) -> dict[str, str]:
        config = {"memory_limit": self.memory_limit, "threads": self.threads}
        return {k: str(v) for k, v in config.items() if v is not None}


class DuckDBEngine:
    """Answers queries from the published, read-only warehouse file.

    It keeps one read-only connection and a result cache. The publisher swaps in a new file
    by rename, so a new inode means a new build: the connection is reopened and the cache
    emptied before the next answer. `bounds` limit its memory, threads, statement time and
    answer size (TooLargeError, TooSlowError).
    """

    def __init__(
        self,
        cube: Cube,
        database: Path,
        cache: ResultCache | None = None,
        bounds: Bounds | None = None,
    ):
        if not Path(database).exists():
            raise FileNotFoundError(
                f"no published warehouse at {database}: run `acrm run` (or `make demo`) first"
            )
        self.cube = cube
        self.database = Path(database)
        self.cache = cache if cache is not None else ResultCache()
        self.bounds = bounds or Bounds()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._build: tuple[int, int, int] | None = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        stat = os.stat(self.database)
        build = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if build != self._build or self._con is None:
            if self._con is not None:
                self._con.close()
            self.cache.clear()
            self._con = duckdb.connect(
                str(self.database), read_only=True, config=self.bounds.config
            )
            self._build = build
        return self._con

    def query(self, query: Query, cube: Cube | None = None) -> pa.Table:
        """The answer; `cube` answers it from a cube extending the engine's (privacy's
        population counts)."""
        compiled = compile_query(cube or self.cube, query)
        sql, limit = compiled.sql, self._row_limit(query)
        if limit is not None:  # one row more than allowed tells that it is too many
            sql = f"select * from ({sql}) as answer limit {limit + 1}"
        con = self._connection()
        key = (self._build, sql, tuple(sorted(compiled.parameters.items(), key=str)))
        table = self.cache.get(key)
        if table is None:
            table = self._run(con, sql, compiled.parameters)
            self.cache.put(key, table)
        if limit is not None and table.num_rows > limit:
            raise TooLargeError(
                f"the answer has more than {self.bounds.max_cells:,} cells (rows x columns, "
                "ACRM_SERVE_MAX_CELLS): filter it, or put fewer or coarser levels on rows and "
                "columns"
            )
        return table

    def _row_limit(self, query: Query) -> int | None:
        if self.bounds.max_cells is None:
            return None
        columns = len(query.levels) + len(query.measures) + 1
        return max(1, self.bounds.max_cells // columns)

    def _run(self, con, sql: str, parameters: dict | None = None) -> pa.Table:
        """run_arrow, interrupted after the statement time limit."""
        seconds = self.bounds.statement_seconds
        if not seconds:
            return run_arrow(con, sql, parameters)
        timer = threading.Timer(seconds, con.interrupt)
        timer.start()
        try:
            return run_arrow(con, sql, parameters)
        except duckdb.InterruptException:
            raise TooSlowError(
                f"the query ran over {seconds:g} s (ACRM_SERVE_TIMEOUT) and was stopped: filter "
                "it, or put fewer or coarser levels on rows and columns"
            ) from None
        except duckdb.OutOfMemoryException:
            raise TooLargeError(
                f"the query needs more memory than the server allows ({self.bounds.memory_limit},"
                " ACRM_SERVE_MEMORY_LIMIT): filter it, or put fewer or coarser levels on rows "
                "and columns"
            ) from None
        finally:
            timer.cancel()

    def members(self, level: str, limit: int = 1000, within: tuple = ()) -> list[object]:
        """The members of a level (a checked name), in the level's order, at most `limit`;
        `within`: filters on other levels of the same dimension (an access policy's)."""
        dim, lv = self.cube.level(check_level(self.cube, level))
        order = lv.sort_column or lv.column
        conditions, parameters = [f"{lv.column} is not null"], {}
        for i, flt in enumerate(within):
            column = self.cube.level(flt.level)[1].column
            names = [f"w{i}_{j}" for j in range(len(flt.values))]
            parameters.update(zip(names, flt.values, strict=True))
            conditions.append(f"d.{column} in ({', '.join('$' + n for n in names)})")
        sql = (
            f"select {lv.column} from {dim.full_relation} as d where {' and '.join(conditions)} "
            f"group by {lv.column} order by min(d.{order}), 1 limit {int(limit)}"
        )
        con = self._connection()
        key = (self._build, sql, tuple(sorted(parameters.items())))
        table = self.cache.get(key)
        if table is None:
            table = self._run(con, sql, parameters or None)
            self.cache.put(key, table)
        return table.column(0).to_pylist()

    def read[T](self, reader: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`reader` run on the connection to the newest publication (fixed SQL of ours,
        e.g. the build record; user input goes through `query`)."""
        return reader(self._connection())

    @property
    def build(self) -> tuple[int, int, int] | None:
        """(inode, mtime, size) of the published file the last answer came from."""
        return self._build

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
