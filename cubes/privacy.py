"""Small cells: a cell that counts fewer than k customers does not show its measures.

Slicing customers finely (city x gender x age x income x education) makes cells of one
customer, and a cell of one customer shows that person's revenue. So, for a query that
breaks customers down (a customer level on rows or columns, or a filter on one), each cell
also counts the distinct customers behind it, in every fact its measures read. A cell whose
smallest count is below k has its measures replaced by null and `_suppressed` set.

Totals stay exact: a subtotal that rolls every customer level up is not a customer-level
cell, and is shown (unless a customer filter narrows the whole answer: then every cell is).
"""

from __future__ import annotations

import dataclasses

import polars as pl
import pyarrow as pa

from cubes.duckdb_engine import GROUPING_COLUMN as GROUPING
from cubes.model import Aggregate, Cube, Source
from cubes.query import Query, split_measure

CUSTOMER = "customer"  # the dimension whose cells must not single out a person
SUPPRESSED = "_suppressed"
COUNT_PREFIX = "_customers_in_"


def breaks_down_customers(query: Query) -> bool:
    return CUSTOMER in query.dimensions


def population_query(cube: Cube, query: Query) -> tuple[Cube, Query]:
    """The cube with a distinct-customer count per fact the query reads, and the query of
    those counts over the same cells (same levels, filters and totals, no ranking)."""
    facts = sorted(
        {
            cube.source_for(base, query.dimensions).fact
            for base in cube.base_measures([split_measure(m)[0] for m in query.measures])
        }
    )
    counts = tuple(
        Aggregate(
            f"{COUNT_PREFIX}{fact}",
            f"Distinct customers of {fact} in the cell",
            sources=(Source(fact, cube.fact(fact).foreign_keys[CUSTOMER], "count_distinct"),),
            integer=True,
        )
        for fact in facts
        if CUSTOMER in cube.fact(fact).foreign_keys
    )
    extended = dataclasses.replace(cube, measures=(*cube.measures, *counts))
    counted = Query(
        tuple(c.name for c in counts), query.rows, query.cols, query.filters, query.totals
    )
    return extended, counted


def suppress(table: pa.Table, population: pa.Table, query: Query, k: int) -> pa.Table:
    """`table` with the measures of each customer-level cell of fewer than `k` customers
    set to null, and a `_suppressed` column saying which cells those are."""
    levels = list(query.levels)
    keys = [*levels, GROUPING] if GROUPING in table.column_names else levels
    answer = pl.from_arrow(table).with_row_index("__order")
    counts = pl.from_arrow(population)
    count_columns = [c for c in counts.columns if c.startswith(COUNT_PREFIX)]
    smallest = pl.min_horizontal(count_columns).fill_null(0) if count_columns else pl.lit(0)
    counts = counts.select(*keys, smallest.alias("__customers"))
    joined = (
        answer.join(counts, on=keys, how="left", nulls_equal=True)
        if keys
        else answer.with_columns(counts.get_column("__customers").head(1).alias("__customers"))
    )
    hidden = _customer_level(query, levels, joined) & (pl.col("__customers").fill_null(0) < k)
    measures = [c for c in table.column_names if c not in keys]
    out = joined.sort("__order").with_columns(hidden.alias(SUPPRESSED))
    out = out.with_columns(
        pl.when(pl.col(SUPPRESSED)).then(None).otherwise(pl.col(m)).alias(m) for m in measures
    )
    return out.select(*table.column_names, SUPPRESSED).to_arrow()


def _customer_level(query: Query, levels: list[str], frame: pl.DataFrame) -> pl.Expr:
    """Rows that break customers down: all of them under a customer filter, else those in
    which some customer level on the axes is not rolled up (its GROUPING bit is 0)."""
    if any(f.level.split(".")[0] == CUSTOMER for f in query.filters):
        return pl.lit(True)
    positions = [i for i, name in enumerate(levels) if name.split(".")[0] == CUSTOMER]
    if GROUPING not in frame.columns:
        return pl.lit(bool(positions))
    shown = pl.lit(False)
    for i in positions:
        bit = 1 << (len(levels) - 1 - i)  # GROUPING(a, b, c): a is the highest bit
        shown = shown | ((pl.col(GROUPING) & bit) == 0)
    return shown
