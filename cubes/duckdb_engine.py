"""The embedded engine: compiles cube queries to DuckDB SQL over the published warehouse.

One SELECT per fact the query needs (its levels, its aggregates, GROUP BY with ROLLUP for
subtotals), full-joined on the level values; ratios are computed from the summed parts.
Names come from the model only; user values travel as bound parameters.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from cubes.model import Aggregate, Cube, Ratio
from cubes.query import Query

GROUPING_COLUMN = "_grouping"  # bitmask: bit i set = level i is rolled up (a subtotal row)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class CompiledQuery:
    def __init__(self, sql: str, parameters: list[object]):
        self.sql = sql
        self.parameters = parameters


def compile_query(cube: Cube, query: Query) -> CompiledQuery:
    levels = list(query.levels)
    bases = cube.base_measures(list(query.measures))
    facts = list(dict.fromkeys(b.fact for b in bases))
    parameters: list[object] = []
    selects = []
    for i, fact_name in enumerate(facts):
        fact = cube.fact(fact_name)
        joins, aliases = [], {}
        needed_dims = dict.fromkeys(
            [lv.split(".")[0] for lv in levels] + [f.level.split(".")[0] for f in query.filters]
        )
        for j, dim_name in enumerate(needed_dims):
            dim = next(d for d in cube.dimensions if d.name == dim_name)
            alias = f"d{j}"
            aliases[dim_name] = alias
            joins.append(
                f"left join {dim.table} as {alias} on "
                f"f.{fact.foreign_keys[dim_name]} = {alias}.{dim.key}"
            )
        level_sql = []
        for qualified in levels:
            dim, lv = cube.level(qualified)
            level_sql.append(f"{aliases[dim.name]}.{lv.column}")
        where = []
        for flt in query.filters:
            dim, lv = cube.level(flt.level)
            marks = ", ".join("?" for _ in flt.values)
            where.append(
                f"{aliases[dim.name]}.{lv.column} {'not in' if flt.negate else 'in'} ({marks})"
            )
            parameters.extend(flt.values)
        aggs = []
        for base in (b for b in bases if b.fact == fact_name):
            function = "count(distinct {})" if base.function == "count_distinct" else "sum({})"
            sql_type = "bigint" if base.integer else "double"
            aggs.append(
                f"cast({function.format(base.expression)} as {sql_type}) as {_quote(base.name)}"
            )
        select_levels = [
            f"{sql} as {_quote(name)}" for sql, name in zip(level_sql, levels, strict=True)
        ]
        grouping = "0"
        group_by = ""
        if levels:
            if query.totals:
                rows = [level_sql[k] for k in range(len(query.rows))]
                cols = [level_sql[k] for k in range(len(query.rows), len(levels))]
                sets = ", ".join(f"rollup({', '.join(part)})" for part in (rows, cols) if part)
                group_by = f"group by {sets}"
                grouping = f"grouping({', '.join(level_sql)})"
            else:
                group_by = f"group by {', '.join(level_sql)}"
        columns = ", ".join([*select_levels, f"{grouping} as {GROUPING_COLUMN}", *aggs])
        selects.append(
            f"q{i} as (select {columns}"
            f" from {fact.table} as f {' '.join(joins)}"
            f"{' where ' + ' and '.join(where) if where else ''} {group_by})"
        )

    keys = [*levels, GROUPING_COLUMN]
    from_sql = "q0"
    for i in range(1, len(facts)):
        on = " and ".join(f"q0.{_quote(k)} is not distinct from q{i}.{_quote(k)}" for k in keys)
        from_sql += f" full join q{i} on {on}"
    key_select = [
        f"coalesce({', '.join(f'q{i}.{_quote(k)}' for i in range(len(facts)))}) as {_quote(k)}"
        for k in keys
    ]
    measure_select = []
    for name in query.measures:
        m = cube.measure(name)
        if isinstance(m, Ratio):
            measure_select.append(
                f"{_quote(m.numerator)} / nullif(cast({_quote(m.denominator)} as double), 0) "
                f"as {_quote(name)}"
            )
        elif isinstance(m, Aggregate):
            measure_select.append(f"{_quote(name)}")
    # Base measures are unique across facts, so unqualified names resolve.
    order = [f"{_quote(k)} nulls last" for k in levels]
    sql = (
        f"with {', '.join(selects)} "
        f"select {', '.join([*key_select, *measure_select])} from {from_sql}"
        + (f" order by {GROUPING_COLUMN}, {', '.join(order)}" if levels else "")
    )
    return CompiledQuery(sql, parameters)


class DuckDBEngine:
    """Answers queries from a published (read-only) warehouse file."""

    def __init__(self, cube: Cube, database: Path):
        if not Path(database).exists():
            raise FileNotFoundError(
                f"no published warehouse at {database}: run `acrm run` (or `make demo`) first"
            )
        self.cube = cube
        self.database = Path(database)

    def query(self, query: Query) -> pa.Table:
        compiled = compile_query(self.cube, query)
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.sql(compiled.sql, params=compiled.parameters).to_arrow_table()
