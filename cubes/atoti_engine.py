"""The atoti engine: the same cube model built in an atoti session, for the Atoti UI.

Each fact becomes an atoti table (its foreign keys and base-measure columns, computed by
DuckDB through the same projection the embedded engine reads) joined to its own copy of
each dimension, and an atoti cube with the model's hierarchies, level orders, slicing
hierarchies and measures. Queries go through cubes.frame_engine, which asks each fact's
atoti cube for its aggregates and adds totals, the merge across facts, ratios and top-N.

atoti 6.2's community edition must reach ActiveViam's license server when it starts; with
no network it never starts, and sometimes it hangs. `start_session` first tries a session
in a child process with a deadline, and turns a failure into AtotiUnavailableError with the
reason, so callers (the CLI, the conformance tests) can say so instead of hanging or
pretending.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa

from cubes.frame_engine import FrameEngine
from cubes.model import Z95, Cube, Difference, Ratio, UpliftBound, fact_projection
from cubes.query import Filter

if TYPE_CHECKING:  # checked against atoti's own hints by mypy (make lint), run without it
    import atoti as tt

LICENSE_HINT = (
    "atoti 6.2's community edition must reach ActiveViam's license server at start; "
    "connect to the internet or set ATOTI_LICENSE to a license file or key"
)


# How atoti 6.2 says its Java server did not come up (here: it waits for the license server
# and times out): "Could not retrieve the port of the Atoti Spring application ... Timed out"
START_FAILURES = ("could not retrieve the port", "timed out", "license")


PROBE_SECONDS = 240.0  # atoti's own wait for its server is 120 s
PROBE = (
    "import atoti as tt, sys\n"
    "try:\n"
    "    tt.Session.start().close()\n"
    "except RuntimeError as exc:\n"
    "    print(str(exc).strip().splitlines()[0], file=sys.stderr); sys.exit(3)\n"
)


class AtotiUnavailableError(RuntimeError):
    """atoti is not installed or its session cannot start here."""


def _probe(seconds: float = PROBE_SECONDS) -> None:
    """Start and stop a session in a child process first, its Java server in the same
    process group, all killed after `seconds`: atoti's start can also hang for good (the
    server up, the client waiting), and a test or the CLI must not hang with it."""
    with subprocess.Popen(
        [sys.executable, "-c", PROBE],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as child:
        try:
            _, err = child.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise AtotiUnavailableError(
                f"atoti did not start within {seconds:.0f} s. {LICENSE_HINT}"
            ) from None
    if child.returncode != 0:
        lines = [line for line in err.strip().splitlines() if line.strip()]
        raise AtotiUnavailableError(
            f"atoti could not start: {lines[-1] if lines else 'no message'}. {LICENSE_HINT}"
        )


def start_session() -> tt.Session:
    """An atoti session, or AtotiUnavailableError saying why not."""
    os.environ.setdefault("ATOTI_HIDE_EULA_MESSAGE", "True")
    try:
        import atoti as tt
    except ImportError as exc:
        raise AtotiUnavailableError(
            f"atoti is not installed ({exc}): pip install 'acrm[atoti]'"
        ) from exc
    _probe()
    try:
        return tt.Session.start()
    except RuntimeError as exc:  # atoti appends the server's log to the message
        if not any(sign in str(exc).lower() for sign in START_FAILURES):
            raise  # not the known failure to start: a bug to see, not a skip
        first = str(exc).strip().splitlines()[0]
        raise AtotiUnavailableError(f"atoti could not start: {first}. {LICENSE_HINT}") from exc


class AtotiBackend:
    """Loads the published warehouse into an atoti session; aggregates one fact at a time."""

    def __init__(self, cube: Cube, database: Path, session: tt.Session):
        # lazy on purpose: atoti is an optional extra, and starts a JVM
        import atoti

        self.tt = atoti
        self.cube = cube
        self.session = session
        self.cubes: dict[str, tt.Cube] = {}
        with duckdb.connect(str(database), read_only=True) as con:
            for fact in cube.facts:
                self._load_fact(con, fact.name)

    def _read(self, arrow: pa.Table, name: str, keys: list[str]) -> tt.Table:
        nullable = {c: None for c in arrow.column_names if c not in keys}
        return self.session.read_arrow(arrow, keys=keys, table_name=name, default_values=nullable)

    def _load_fact(self, con: duckdb.DuckDBPyConnection, fact_name: str) -> None:
        tt, cube = self.tt, self.cube
        fact = cube.fact(fact_name)
        bases = cube.fact_sources(fact.name)
        expressions = {name: s.summand for name, s in bases.items()}
        arrow = con.sql(
            fact_projection(fact, list(fact.foreign_keys), expressions)
        ).to_arrow_table()
        arrow = arrow.append_column("_row", pa.array(range(arrow.num_rows), pa.int64()))
        table = self._read(arrow, f"{fact.name}", ["_row"])
        atoti_cube = self.session.create_cube(table, name=fact.name, mode="manual")
        for dim_name, foreign_key in fact.foreign_keys.items():
            dim = cube.dimension(dim_name)
            columns = dict.fromkeys(
                [dim.key]
                + [lv.column for lv in dim.levels]
                + [lv.sort_column for lv in dim.levels if lv.sort_column]
            )
            members = con.sql(
                f"select {', '.join(columns)} from {dim.full_relation}"
            ).to_arrow_table()
            dim_table = self._read(members, f"{fact.name}.{dim.name}", [dim.key])
            table.join(dim_table, table[foreign_key] == dim_table[dim.key])
            frame = members.to_pandas()
            for hierarchy in dim.hierarchies:
                atoti_cube.hierarchies[(dim.name, hierarchy.name)] = {
                    lv.name: dim_table[lv.column] for lv in hierarchy.levels
                }
                if dim.slicing:
                    atoti_cube.hierarchies[(dim.name, hierarchy.name)].slicing = True
                for lv in hierarchy.levels:
                    if lv.sort_column:  # members in the model's order, not the alphabet's
                        ordered = frame.sort_values(lv.sort_column)[lv.column].dropna().unique()
                        level = atoti_cube.levels[(dim.name, hierarchy.name, lv.name)]
                        level.order = tt.CustomOrder(first_elements=list(ordered))
        for name, source in bases.items():
            aggregate = tt.agg.count_distinct if source.function == "count_distinct" else tt.agg.sum
            atoti_cube.measures[name] = aggregate(table[name])
        for m in cube.measures:  # ratios and differences, for users of the Atoti UI
            if isinstance(m, Ratio | Difference | UpliftBound) and all(
                b.name in bases for b in cube.base_measures([m.name])
            ):
                self._define(atoti_cube, m.name)
        self.cubes[fact.name] = atoti_cube

    def _define(self, atoti_cube: tt.Cube, name: str) -> tt.Measure:
        measures = atoti_cube.measures
        if name in measures:
            return measures[name]
        m = self.cube.measure(name)
        if isinstance(m, Ratio):
            measures[name] = self._define(atoti_cube, m.numerator) / self._define(
                atoti_cube, m.denominator
            )
        elif isinstance(m, Difference):
            measures[name] = self._define(atoti_cube, m.minuend) - self._define(
                atoti_cube, m.subtrahend
            )
        elif isinstance(m, UpliftBound):
            measures[name] = self._uplift_bound(atoti_cube, m)
        return measures[name]

    def _uplift_bound(self, atoti_cube: tt.Cube, m: UpliftBound) -> Any:
        parts = []  # per group: rate and variance, Agresti-Caffo (cubes.model.UpliftBound)
        for name in (m.treated, m.holdout):
            ratio = self.cube.measure(name)
            assert isinstance(ratio, Ratio)  # tests/unit/test_uplift_bound.py holds it
            x = self._define(atoti_cube, ratio.numerator)
            n = self._define(atoti_cube, ratio.denominator)
            rate = (x + 1) / (n + 2)
            parts.append((rate, rate * (1 - rate) / (n + 2)))
        (p1, v1), (p0, v0) = parts
        return p1 - p0 + m.side * Z95 * tt.math.sqrt(v1 + v0)

    @staticmethod
    def _conditions(level: tt.Level, flt: Filter) -> list[Any]:
        """The filter as atoti conditions on the level, to be and-ed together."""
        if flt.is_range:
            low = [level >= _constant(flt.low)] if flt.low is not None else []
            return low + ([level <= _constant(flt.high)] if flt.high is not None else [])
        values = [_constant(v) for v in flt.values]
        if flt.negate:
            return [level != value for value in values]
        return [level.isin(*values)]

    def _level(self, atoti_cube: tt.Cube, qualified: str) -> tt.Level:
        dim, lv = self.cube.level(qualified)
        return atoti_cube.levels[(dim.name, dim.hierarchy_of(lv.name).name, lv.name)]

    def __call__(
        self, fact_name: str, levels: list[str], aggregates: dict[str, str], filters: list[Filter]
    ) -> pd.DataFrame:
        atoti_cube = self.cubes[fact_name]
        condition = None
        for flt in filters:
            for part in self._conditions(self._level(atoti_cube, flt.level), flt):
                condition = part if condition is None else condition & part
        result = atoti_cube.query(
            *[atoti_cube.measures[name] for name in aggregates],
            levels=[self._level(atoti_cube, lv) for lv in levels],
            filter=condition,
            mode="raw",
        )
        frame = pd.DataFrame(result).reset_index(drop=not levels)
        frame = frame[[c for c in frame.columns if c != "index"]]
        frame.columns = [*levels, *aggregates]  # atoti returns levels, then measures
        return frame


def _constant(value: object) -> bool | int | float | dt.date | str:
    """A filter value as atoti compares levels with it: a number, a date or text."""
    if isinstance(value, bool | int | float | dt.date | str):
        return value
    raise TypeError(f"a filter value atoti cannot compare with: {value!r}")


class AtotiEngine(FrameEngine):
    """The cube model served by atoti; `link` is the Atoti UI's address."""

    def __init__(self, cube: Cube, database: Path, session: tt.Session | None = None):
        self.session = session if session is not None else start_session()
        super().__init__(cube, database, AtotiBackend(cube, database, self.session))

    @property
    def link(self) -> str:
        return str(self.session.link)

    def close(self) -> None:
        self.session.close()
