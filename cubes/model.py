"""The vocabulary of a cube: dimensions with ordered hierarchies, facts, and measures.

Engine-neutral: the embedded DuckDB engine compiles it to SQL, the atoti engine builds the
same hierarchies and measures from it. SQL fragments here are written by developers in the
model, never taken from a user; user input only selects names declared here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field


def parse_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


parse_date.__name__ = "date (YYYY-MM-DD)"


@dataclass(frozen=True)
class Level:
    name: str  # short name inside its dimension, e.g. "month"
    column: str  # column of the dimension's relation
    description: str
    parse: Callable[[str], object] = str  # how filter values are read: str, int, parse_date
    sort_column: str | None = None  # order members by this column instead of their names
    # A level kept in another table (a report or mining table keyed like the dimension):
    # joined only when a query uses the level; `missing` names keys it has no row for.
    relation: str | None = None
    missing: str | None = None


@dataclass(frozen=True)
class Hierarchy:
    name: str
    levels: tuple[Level, ...]  # coarse to fine: drilling down goes right


@dataclass(frozen=True)
class Dimension:
    """A relation keyed by `key` and its hierarchies.

    `relation` is a table name or a parenthesised SELECT written in the model. A slicing
    dimension (attribution model) has no total: a query that does not name one of its levels
    reads `default_member`, and facts without it repeat their values for each member.
    """

    name: str  # e.g. "date"
    relation: str  # e.g. "marts.dim_dates"
    key: str  # the relation's key column
    hierarchies: tuple[Hierarchy, ...]
    description: str
    slicing: bool = False
    default_member: object = None

    @property
    def levels(self) -> tuple[Level, ...]:
        return tuple(lv for h in self.hierarchies for lv in h.levels)

    def level(self, name: str) -> Level:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(name)

    @property
    def full_relation(self) -> str:
        """The dimension with every level's column, its own and those kept elsewhere."""
        outer = [lv for lv in self.levels if lv.relation]
        if not outer:
            return self.relation
        columns = ", ".join(
            f"coalesce(l{i}.{lv.column}, '{lv.missing}') as {lv.column}"
            for i, lv in enumerate(outer)
        )
        joins = " ".join(
            f"left join {lv.relation} as l{i} on base.{self.key} = l{i}.{self.key}"
            for i, lv in enumerate(outer)
        )
        return f"(select base.*, {columns} from {self.relation} as base {joins})"

    def hierarchy_of(self, level_name: str) -> Hierarchy:
        return next(h for h in self.hierarchies if any(lv.name == level_name for lv in h.levels))


@dataclass(frozen=True)
class Fact:
    name: str
    table: str
    foreign_keys: dict[str, str]  # dimension name -> fact column
    description: str


def fact_projection(fact: Fact, dimensions: list[str], expressions: dict[str, str]) -> str:
    """A fact's foreign keys to `dimensions` and named base-measure expressions, as a SELECT.

    Both engines read facts through it: the expressions see only the fact's own columns
    (no clash with a dimension's), and atoti loads exactly these columns.
    """
    columns = [fact.foreign_keys[d] for d in dimensions if d in fact.foreign_keys]
    keys = ", ".join(dict.fromkeys(columns)) or "1 as _row"
    values = "".join(f', {sql} as "{name}"' for name, sql in expressions.items())
    return f"(select {keys}{values} from {fact.table} as fact_rows)"  # a subquery needs a name


@dataclass(frozen=True)
class Measure:
    name: str
    description: str
    format: str = "{:,.0f}"

    def parts(self) -> tuple[str, ...]:
        """The measures this one is computed from (none for an aggregate)."""
        return ()


@dataclass(frozen=True)
class Source:
    """How an aggregate is computed over one fact's rows."""

    fact: str
    expression: str = "1"
    function: str = "sum"  # sum | count (rows where the expression holds) | count_distinct

    @property
    def summand(self) -> str:
        """The expression as a number to sum: a count's condition as 1 or 0 (for engines
        that only sum, and for sums of counts)."""
        if self.function == "count":
            return f"coalesce(cast(({self.expression}) as integer), 0)"
        return self.expression


@dataclass(frozen=True)
class Aggregate(Measure):
    """sum, count or count distinct over a fact. With several sources the engine takes the first
    whose fact has every dimension the query names (orders before order lines, say)."""

    sources: tuple[Source, ...] = ()
    integer: bool = False  # a count: returned as an integer, else as a double

    @property
    def distinct(self) -> bool:
        return any(s.function == "count_distinct" for s in self.sources)


@dataclass(frozen=True)
class Ratio(Measure):
    """numerator / denominator, each aggregated at the cell (never an average of ratios)."""

    numerator: str = ""
    denominator: str = ""

    def parts(self) -> tuple[str, ...]:
        return (self.numerator, self.denominator)


@dataclass(frozen=True)
class Difference(Measure):
    """minuend - subtrahend, each aggregated at the cell."""

    minuend: str = ""
    subtrahend: str = ""

    def parts(self) -> tuple[str, ...]:
        return (self.minuend, self.subtrahend)


@dataclass(frozen=True)
class UpliftBound(Measure):
    """A bound of the 95 % interval of treated - holdout, two Ratio measures of responders
    to members, by Agresti and Caffo (2000): one response and one non-response added to
    each group, p = (x + 1) / (n + 2), then (p1 - p0) + side * 1.96 * sqrt(p1 (1 - p1) /
    (n1 + 2) + p0 (1 - p0) / (n0 + 2)). Unlike the plain normal interval it does not
    collapse when a small group has no responder. side: -1 the low bound, +1 the high."""

    treated: str = ""
    holdout: str = ""
    side: int = -1

    def parts(self) -> tuple[str, ...]:
        return (self.treated, self.holdout)


Z95 = 1.959963984540054  # the normal quantile of a two-sided 95 % interval

# Time functions, written `measure:function`: the measure at another period of the finest
# date level on the query's axes, or a growth rate against it.
TIME_FUNCTIONS = {
    "previous_period": "the measure in the previous period (month before, quarter before…)",
    "last_year": "the measure in the same period a year earlier",
    "ytd": "year to date: from the start of the period's year to the end of the period",
    "growth": "growth against the previous period: (this - previous) / previous",
    "yoy_growth": "growth against the same period last year: (this - last year) / last year",
}
GROWTH_OF = {"growth": "previous_period", "yoy_growth": "last_year"}


@dataclass(frozen=True)
class Cube:
    name: str
    dimensions: tuple[Dimension, ...]
    facts: tuple[Fact, ...]
    measures: tuple[Measure, ...]
    _levels: dict[str, tuple[Dimension, Level]] = field(init=False, repr=False, compare=False)
    _measures: dict[str, Measure] = field(init=False, repr=False, compare=False)
    _facts: dict[str, Fact] = field(init=False, repr=False, compare=False)
    _dimensions: dict[str, Dimension] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_facts", {f.name: f for f in self.facts})
        object.__setattr__(self, "_dimensions", {d.name: d for d in self.dimensions})
        levels = {f"{d.name}.{lv.name}": (d, lv) for d in self.dimensions for lv in d.levels}
        if len(levels) != sum(len(d.levels) for d in self.dimensions):
            raise ValueError(f"cube {self.name}: a level name is declared twice in a dimension")
        object.__setattr__(self, "_levels", levels)
        names = [m.name for m in self.measures]
        if len(names) != len(set(names)):
            raise ValueError(f"cube {self.name}: a measure name is declared twice")
        object.__setattr__(self, "_measures", {m.name: m for m in self.measures})
        facts = {f.name: f for f in self.facts}
        dims = {d.name for d in self.dimensions}
        for f in self.facts:
            if unknown := set(f.foreign_keys) - dims:
                raise ValueError(f"fact {f.name}: unknown dimensions {sorted(unknown)}")
        for m in self.measures:
            if isinstance(m, Aggregate) and (
                not m.sources or any(s.fact not in facts for s in m.sources)
            ):
                raise ValueError(f"measure {m.name}: needs sources over declared facts")
            for part in m.parts():
                if part not in self._measures:
                    raise ValueError(f"measure {m.name}: {part} is not a declared measure")

    @property
    def level_names(self) -> list[str]:
        return list(self._levels)

    @property
    def measure_names(self) -> list[str]:
        return [m.name for m in self.measures]

    @property
    def tables(self) -> set[str]:
        """Every warehouse table the cube reads (schema.name), relations included."""
        text = " ".join([d.full_relation for d in self.dimensions] + [f.table for f in self.facts])
        return set(re.findall(r"\b(?:marts|mining)\.\w+", text))

    def level(self, qualified: str) -> tuple[Dimension, Level]:
        return self._levels[qualified]

    def dimension(self, name: str) -> Dimension:
        return self._dimensions[name]

    def measure(self, name: str) -> Measure:
        return self._measures[name]

    def format_of(self, name: str) -> str:
        """How to print a measure, or a `measure:time_function` (growth rates as %)."""
        measure, _, function = name.partition(":")
        return "{:+.1%}" if function in GROWTH_OF else self.measure(measure).format

    def fact(self, name: str) -> Fact:
        return self._facts[name]

    def base_measures(self, names: list[str] | tuple[str, ...]) -> list[Aggregate]:
        """The aggregates these measures are computed from, each once, in a stable order."""
        needed: dict[str, Aggregate] = {}

        def visit(name: str) -> None:
            m = self.measure(name)
            if isinstance(m, Aggregate):
                needed.setdefault(name, m)
            for part in m.parts():
                visit(part)

        for name in names:
            visit(name)
        return list(needed.values())

    def source_for(self, measure: Aggregate, dimensions: AbstractSet[str]) -> Source | None:
        """The first source whose fact has every (non-slicing) dimension named."""
        for source in measure.sources:
            keys = self.fact(source.fact).foreign_keys
            if all(d in keys or self.dimension(d).slicing for d in dimensions):
                return source
        return None

    def fact_sources(self, fact: str) -> dict[str, Source]:
        """The aggregates that can read a fact, by name, with their source over it: what an
        engine that loads whole facts (pandas, atoti) loads, each as its `summand`."""
        return {
            m.name: s
            for m in self.measures
            if isinstance(m, Aggregate)
            for s in m.sources
            if s.fact == fact
        }

    def level_catalogue(self) -> list[dict]:
        """Every level, coarse to fine in its hierarchy, with the levels to drill to: what
        `acrm cube levels` and the HTTP API's /api/levels list."""
        rows = []
        for d in self.dimensions:
            for h in d.hierarchies:
                for lv in h.levels:
                    name = f"{d.name}.{lv.name}"
                    rows.append(
                        {
                            "level": name,
                            "dimension": d.name,
                            "hierarchy": f"{d.name}.{h.name}",
                            "description": lv.description,
                            "finer": self.relative_level(name, +1),
                            "coarser": self.relative_level(name, -1),
                        }
                    )
        return rows

    def relative_level(self, qualified: str, step: int) -> str | None:
        """The level `step` places finer (+1) or coarser (-1) in its hierarchy, if any."""
        dim, lv = self.level(qualified)
        levels = dim.hierarchy_of(lv.name).levels
        i = levels.index(lv) + step
        return f"{dim.name}.{levels[i].name}" if 0 <= i < len(levels) else None
