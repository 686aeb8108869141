"""The vocabulary of a cube: dimensions with ordered levels, facts, and measures.

Engine-neutral: the embedded DuckDB engine compiles it to SQL, an atoti engine would build
the same hierarchies and measures. SQL fragments here are written by developers in the
model, never taken from a user; user input only selects names declared here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Level:
    name: str  # short name inside its dimension, e.g. "month"
    column: str  # column of the dimension table
    description: str
    dtype: type = str  # how filter values are parsed: str or int
    sort_column: str | None = None  # order members by this column instead


@dataclass(frozen=True)
class Dimension:
    name: str  # e.g. "date"
    table: str  # e.g. "marts.dim_dates"
    key: str  # the dimension table's key column
    levels: tuple[Level, ...]  # one hierarchy, coarse to fine: drill down goes right
    description: str

    def level(self, name: str) -> Level:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(name)


@dataclass(frozen=True)
class Fact:
    name: str
    table: str
    foreign_keys: dict[str, str]  # dimension name -> fact column
    description: str


@dataclass(frozen=True)
class Measure:
    name: str
    description: str
    format: str = "{:,.0f}"


@dataclass(frozen=True)
class Aggregate(Measure):
    """sum / count / count distinct of an expression over one fact's rows."""

    fact: str = ""
    function: str = "sum"  # sum | count_distinct
    expression: str = "1"
    integer: bool = False  # a count: returned as an integer, else as a double


@dataclass(frozen=True)
class Ratio(Measure):
    """numerator / denominator, each summed at the cell's level (never an average of ratios)."""

    numerator: str = ""
    denominator: str = ""


@dataclass(frozen=True)
class Cube:
    name: str
    dimensions: tuple[Dimension, ...]
    facts: tuple[Fact, ...]
    measures: tuple[Measure, ...]
    _levels: dict[str, tuple[Dimension, Level]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        levels = {f"{d.name}.{lv.name}": (d, lv) for d in self.dimensions for lv in d.levels}
        object.__setattr__(self, "_levels", levels)
        names = [m.name for m in self.measures]
        if len(names) != len(set(names)):
            raise ValueError(f"cube {self.name}: a measure name is declared twice")
        by_name = {m.name: m for m in self.measures}
        facts = {f.name for f in self.facts}
        for m in self.measures:
            if isinstance(m, Aggregate) and m.fact not in facts:
                raise ValueError(f"measure {m.name}: unknown fact {m.fact}")
            if isinstance(m, Ratio):
                for part in (m.numerator, m.denominator):
                    if not isinstance(by_name.get(part), Aggregate):
                        raise ValueError(f"ratio {m.name}: {part} is not an aggregate measure")

    @property
    def level_names(self) -> list[str]:
        return list(self._levels)

    @property
    def measure_names(self) -> list[str]:
        return [m.name for m in self.measures]

    def level(self, qualified: str) -> tuple[Dimension, Level]:
        return self._levels[qualified]

    def measure(self, name: str) -> Measure:
        for m in self.measures:
            if m.name == name:
                return m
        raise KeyError(name)

    def fact(self, name: str) -> Fact:
        return next(f for f in self.facts if f.name == name)

    def base_measures(self, names: list[str]) -> list[Aggregate]:
        """The aggregates needed to compute these measures, each once, in a stable order."""
        needed: dict[str, Aggregate] = {}
        for name in names:
            m = self.measure(name)
            parts = (
                [m]
                if isinstance(m, Aggregate)
                else [self.measure(m.numerator), self.measure(m.denominator)]
            )  # type: ignore[attr-defined]
            for part in parts:
                needed.setdefault(part.name, part)  # type: ignore[arg-type]
        return list(needed.values())
