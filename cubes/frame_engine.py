"""Answering cube queries from per-fact frames: the part of an engine that is not SQL.

An engine that can aggregate one fact by some levels (atoti's cube.query, pandas'
pivot_table) gets the rest of the cube's semantics here, the same as the embedded engine's:
one frame per grouping set for subtotals, facts merged on their levels, a slicing dimension's
default member and its repetition for facts without it, ratios and differences computed from
summed parts, and top-N resolved to a member filter. Time functions stay with the embedded
engine, which computes them in SQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from cubes.model import Z95, Aggregate, Cube, Difference, Ratio, UpliftBound, fact_projection
from cubes.query import Filter, Query, QueryError, split_measure, validate

GROUPING_COLUMN = "_grouping"

# fact name, levels to group by, base measures (name -> Source.function), filters; a
# count is loaded as its 1-or-0 summand, so every function but count_distinct sums
FactFrame = Callable[[str, list[str], dict[str, str], list[Filter]], pd.DataFrame]


def grouping_sets(query: Query, cube: Cube) -> list[tuple[str, ...]]:
    """The level sets to aggregate: every row prefix x every column prefix (ROLLUP x ROLLUP).

    Slicing levels (attribution model) are never rolled up.
    """
    if not query.totals:
        return [query.levels]

    def prefixes(axis: tuple[str, ...]) -> list[tuple[str, ...]]:
        fixed = [lv for lv in axis if cube.level(lv)[0].slicing]
        free = [lv for lv in axis if not cube.level(lv)[0].slicing]
        return [tuple(fixed + free[:k]) for k in range(len(free), -1, -1)]

    sets = []
    for rows, cols in itertools.product(prefixes(query.rows), prefixes(query.cols)):
        kept = set(rows) | set(cols)
        sets.append(tuple(lv for lv in query.levels if lv in kept))
    return sets


def grouping_bits(levels: Sequence[str], kept: Sequence[str]) -> int:
    """The SQL GROUPING() bitmask: the first level is the highest bit; 1 = rolled up."""
    n = len(levels)
    return sum(1 << (n - 1 - i) for i, lv in enumerate(levels) if lv not in kept)


def evaluate(cube: Cube, name: str, frame: pd.DataFrame) -> pd.Series:
    """A measure's values from the base-measure columns of a frame."""
    m = cube.measure(name)
    if isinstance(m, Ratio):
        numerator = evaluate(cube, m.numerator, frame).astype("float64")
        denominator = evaluate(cube, m.denominator, frame).astype("float64")
        return numerator / denominator.replace(0, np.nan)
    if isinstance(m, UpliftBound):
        rates, variance = [], 0.0
        for name in (m.treated, m.holdout):  # Agresti-Caffo (cubes.model.UpliftBound)
            ratio = cube.measure(name)
            x = evaluate(cube, ratio.numerator, frame).astype("float64").fillna(0)
            n = evaluate(cube, ratio.denominator, frame).astype("float64").fillna(0)
            rate = (x + 1) / (n + 2)
            rates.append(rate)
            variance = variance + rate * (1 - rate) / (n + 2)
        return rates[0] - rates[1] + m.side * Z95 * np.sqrt(variance)
    if isinstance(m, Difference):
        a = evaluate(cube, m.minuend, frame).astype("float64")
        b = evaluate(cube, m.subtrahend, frame).astype("float64")
        return (a.fillna(0) - b.fillna(0)).where(a.notna() | b.notna())
    return frame[name] if name in frame else pd.Series(np.nan, index=frame.index)


class FrameEngine:
    """A cube engine over any backend that aggregates one fact at a time."""

    def __init__(self, cube: Cube, database: Path, fact_frame: FactFrame):
        self.cube = cube
        self.database = Path(database)
        self.fact_frame = fact_frame

    def members(self, level: str, filters: list[Filter]) -> list[object]:
        """Members of a slicing level, for facts that repeat their values across it."""
        dim, lv = self.cube.level(level)
        values = [v for f in filters if f.level == level for v in f.values]
        with duckdb.connect(str(self.database), read_only=True) as con:
            found = [
                r[0]
                for r in con.sql(f"select distinct {lv.column} from {dim.full_relation}").fetchall()
            ]
        return [v for v in found if not values or v in values]

    def query(self, query: Query) -> pa.Table:
        validate(self.cube, query)
        if any(split_measure(m)[1] for m in query.measures):
            raise QueryError(
                "time functions (measure:function) are computed by the embedded engine only"
            )
        if query.top is not None:
            query = self._resolve_top(query)
        filters = list(query.filters)
        for dim in self.cube.dimensions:  # a slicing dimension not named reads its default
            if dim.slicing and dim.name not in query.dimensions:
                level = f"{dim.name}.{dim.hierarchies[0].levels[0].name}"
                filters.append(Filter(level, (dim.default_member,)))
        bases = self.cube.base_measures(list(query.measures))
        frames = []
        for kept in grouping_sets(query, self.cube):
            frame = self._cells(query, list(kept), bases, filters)
            for level in query.levels:
                if level not in kept:
                    frame[level] = None
            frame[GROUPING_COLUMN] = grouping_bits(query.levels, kept)
            frames.append(frame)
        cells = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        out = pd.DataFrame({lv: cells[lv] for lv in query.levels})
        out[GROUPING_COLUMN] = cells[GROUPING_COLUMN].astype("int64")
        for name in query.measures:
            values = evaluate(self.cube, name, cells)
            m = self.cube.measure(name)
            out[name] = values.astype("Int64") if isinstance(m, Aggregate) and m.integer else values
        return pa.Table.from_pandas(out, preserve_index=False)

    def _cells(
        self, query: Query, kept: list[str], bases: list[Aggregate], filters: list[Filter]
    ) -> pd.DataFrame:
        by_fact: dict[str, dict[str, str]] = {}
        for base in bases:
            source = self.cube.source_for(base, query.dimensions)
            assert source is not None  # validate() guarantees it
            by_fact.setdefault(source.fact, {})[base.name] = source.function
        merged: pd.DataFrame | None = None
        for fact_name, aggregates in by_fact.items():
            keys = self.cube.fact(fact_name).foreign_keys
            own = [lv for lv in kept if lv.split(".")[0] in keys]
            own_filters = [f for f in filters if f.level.split(".")[0] in keys]
            frame = self.fact_frame(fact_name, own, aggregates, own_filters)
            for level in kept:
                if level not in own:  # a slicing level the fact lacks: the same for each member
                    members = pd.DataFrame({level: self.members(level, filters)})
                    frame = frame.merge(members, how="cross")
            merged = (
                frame
                if merged is None
                else (
                    merged.merge(frame, on=kept, how="outer")
                    if kept
                    else pd.concat([merged, frame], axis=1)
                )
            )
        assert merged is not None
        return merged

    def _resolve_top(self, query: Query) -> Query:
        top = query.top
        assert top is not None
        ranking = self.query(Query((top.measure,), (top.level,), filters=query.filters)).to_pandas()
        ranking = ranking[ranking[top.measure].notna()]
        ranking = ranking.sort_values(top.measure, ascending=top.lowest).head(top.n)
        members = tuple(ranking[top.level].tolist())
        return Query(
            query.measures,
            query.rows,
            query.cols,
            (*query.filters, Filter(top.level, members or (object(),))),
            query.totals,
        )


class PandasBackend:
    """Per-fact frames by pandas pivot_table over tables read into memory once.

    The naive way the benchmark compares against, and a second implementation of the cube's
    semantics for the conformance tests.
    """

    def __init__(self, cube: Cube, database: Path):
        self.cube = cube
        self.database = Path(database)
        self._facts: dict[str, pd.DataFrame] = {}
        self._dims: dict[str, pd.DataFrame] = {}

    def load(self, facts: Sequence[str] | None = None) -> None:
        """Read facts (all by default) into pandas; dimensions are read when first used."""
        with duckdb.connect(str(self.database), read_only=True) as con:
            for fact in self.cube.facts:
                if fact.name in self._facts or (facts is not None and fact.name not in facts):
                    continue
                expressions = {
                    name: s.summand for name, s in self.cube.fact_sources(fact.name).items()
                }
                sql = fact_projection(fact, list(fact.foreign_keys), expressions)
                self._facts[fact.name] = con.sql(sql).df()

    def dimension(self, name: str) -> pd.DataFrame:
        if name not in self._dims:
            with duckdb.connect(str(self.database), read_only=True) as con:
                relation = self.cube.dimension(name).full_relation
                self._dims[name] = con.sql(f"select * from {relation}").df()
        return self._dims[name]

    def __call__(
        self, fact_name: str, levels: list[str], aggregates: dict[str, str], filters: list[Filter]
    ) -> pd.DataFrame:
        self.load([fact_name])
        fact = self.cube.fact(fact_name)
        frame = self._facts[fact_name]
        for dim_name in dict.fromkeys(
            lv.split(".")[0] for lv in levels + [f.level for f in filters]
        ):
            dim = self.cube.dimension(dim_name)
            wanted = {
                lv: dim.level(lv.split(".")[1]).column
                for lv in levels + [f.level for f in filters]
                if lv.split(".")[0] == dim_name
            }
            table = self.dimension(dim_name)[list(dict.fromkeys([dim.key, *wanted.values()]))]
            table = table.rename(columns={c: f"{dim_name}:{c}" for c in table.columns})
            frame = frame.merge(
                table,
                how="left",
                left_on=fact.foreign_keys[dim_name],
                right_on=f"{dim_name}:{dim.key}",
            )
        for flt in filters:
            dim, lv = self.cube.level(flt.level)
            column = frame[f"{dim.name}:{lv.column}"]
            if flt.is_range:
                keep = pd.Series(True, index=frame.index)
                as_column = pd.Timestamp if pd.api.types.is_datetime64_any_dtype(column) else None
                for bound, above in ((flt.low, True), (flt.high, False)):
                    if bound is not None:
                        bound = as_column(bound) if as_column else bound
                        keep &= column >= bound if above else column <= bound
            else:
                keep = column.isin(flt.values)
                keep = ~keep if flt.negate else keep
            frame = frame[keep.fillna(False).astype(bool)]
        functions = {
            name: "nunique" if f == "count_distinct" else "sum" for name, f in aggregates.items()
        }
        columns = {lv: f"{lv.split('.')[0]}:{self.cube.level(lv)[1].column}" for lv in levels}
        if not levels:
            return pd.DataFrame({name: [frame[name].agg(f)] for name, f in functions.items()})
        view = frame[[*columns.values(), *functions]].rename(
            columns={v: k for k, v in columns.items()}
        )
        missing = "\0"  # pivot_table drops missing keys: stand one in, and put None back
        view[levels] = view[levels].astype(object).where(view[levels].notna(), missing)
        pivot = view.pivot_table(index=levels, values=list(functions), aggfunc=functions)
        pivot = pivot.reset_index()
        pivot[levels] = pivot[levels].replace({missing: None})
        return pivot
