"""Who may see what: a user's access policy, forced on every query the cube answers for them.

A policy restricts levels to members, e.g. `manager.team: [North]`. Every query gets the
restriction as a filter, after its own filters and drills, so totals, top-N, drills and
CSV exports all come from the allowed rows. A measure read from a fact that lacks the
restricted dimension would not be restricted by that filter (the engine repeats its value
for each member), so such a query is refused, unless the policy names the fact in
`unrestricted_facts`: then measures of those facts alone are answered whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import duckdb

from cubes.model import Cube
from cubes.query import Filter, Query, QueryError, check_level


class AccessError(QueryError):
    """The user's policy does not allow this; the message says what is allowed."""

    status = 403


@dataclass(frozen=True)
class Policy:
    """Levels restricted to members, and the facts allowed without the restriction."""

    restrict: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unrestricted_facts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, cube: Cube, body: dict | None, who: str) -> Policy:
        """From a users-file entry's `policy` mapping; every name checked against the cube."""
        body = dict(body or {})
        allowed = body.pop("unrestricted_facts", []) or []
        facts = {f.name for f in cube.facts}
        for fact in allowed:
            if fact not in facts:
                raise ValueError(
                    f"user {who}: unrestricted fact {fact!r} is not one of {sorted(facts)}"
                )
        restrict = {}
        for level, values in body.items():
            check_level(cube, level)
            values = [values] if isinstance(values, str) else list(values or [])
            if not values:
                raise ValueError(f"user {who}: policy {level} names no member")
            restrict[level] = tuple(str(v) for v in values)
        return cls(restrict, frozenset(allowed))

    @property
    def filters(self) -> tuple[Filter, ...]:
        return tuple(Filter(level, values) for level, values in self.restrict.items())

    def dimensions(self) -> set[str]:
        return {level.split(".")[0] for level in self.restrict}


def _facts_of(cube: Cube, query: Query, dimension: str) -> tuple[set[str], set[str]]:
    """(facts the query's measures read that have `dimension`, those that lack it)."""
    having, lacking = set(), set()
    for measure in cube.base_measures(query.measures):
        source = cube.source_for(measure, query.dimensions | {dimension})
        if source is not None:
            having.add(source.fact)
        else:
            lacking.update(s.fact for s in measure.sources)
    return having, lacking


def restrict(cube: Cube, query: Query, policy: Policy | None) -> Query:
    """The query as the policy lets this user ask it (AccessError when it cannot)."""
    if policy is None or not policy.restrict:
        return query
    forced = []
    for flt in policy.filters:
        dimension = flt.level.split(".")[0]
        having, lacking = _facts_of(cube, query, dimension)
        refused = lacking - policy.unrestricted_facts
        if refused:
            raise AccessError(
                f"your access is limited to {flt.level}={','.join(flt.values)}, and "
                f"{', '.join(sorted(refused))} cannot be limited by {dimension}: ask for "
                "measures of facts that have it"
            )
        if lacking and having:
            raise AccessError(
                f"{', '.join(sorted(lacking))} are open to you whole but the other measures "
                f"are limited to {flt.level}={','.join(flt.values)}: query them separately"
            )
        if having:
            forced.append(flt)
    return replace(query, filters=query.filters + tuple(forced))


def members_filters(cube: Cube, level: str, policy: Policy | None) -> tuple[Filter, ...]:
    """The policy's restrictions on the dimension of `level`: the members a user may list."""
    if policy is None:
        return ()
    dimension = check_level(cube, level).split(".")[0]
    return tuple(f for f in policy.filters if f.level.split(".")[0] == dimension)


def audience_levels(policy: Policy | None) -> tuple[str, ...]:
    """The policy as audience filters (`customer.region=Moscow`): an audience of this user's
    is chosen among their customers only. AccessError when the policy restricts a dimension
    other than the customer's, which an audience (a set of customers) cannot be limited by."""
    if policy is None or not policy.restrict:
        return ()
    _refuse_beyond(policy, "customer", "an audience")
    return tuple(f"{level}={','.join(values)}" for level, values in policy.restrict.items())


def allowed_keys(
    con: duckdb.DuckDBPyConnection,
    cube: Cube,
    policy: Policy | None,
    dimension: str,
    what: str,
    facts: tuple[str, ...] = (),
) -> set | None:
    """The keys of `dimension`'s members the policy allows, for `what` (a what-if) that
    reads `facts` by that dimension outside the cube's compiler; None when not limited.
    A policy on another dimension: AccessError, unless it opens every one of `facts`
    (unrestricted_facts), which `what` then reads whole for that dimension."""
    if policy is None or not policy.restrict:
        return None
    _refuse_beyond(policy, dimension, what, facts)
    own = {n: v for n, v in policy.restrict.items() if n.split(".")[0] == dimension}
    if not own:
        return None
    table = cube.dimension(dimension)
    levels = {f"{dimension}.{lv.name}": lv for lv in table.levels}
    where, params = [], []
    for name, values in own.items():
        where.append(f"list_contains(?, cast({levels[name].column} as varchar))")
        params.append(list(values))
    rows = con.execute(
        f"select {table.key} from {table.relation} where {' and '.join(where)}", params
    ).fetchall()
    return {key for (key,) in rows}


def _refuse_beyond(policy: Policy, dimension: str, what: str, facts: tuple[str, ...] = ()) -> None:
    """AccessError when the policy limits a dimension other than `dimension`, the only one
    `what` (read outside the cube's compiler) can be limited by, and does not open every
    one of the `facts` it reads (none: nothing opens it)."""
    beyond = sorted(level for level in policy.restrict if level.split(".")[0] != dimension)
    if beyond and not (facts and set(facts) <= policy.unrestricted_facts):
        opened = f", or an admin opens {', '.join(facts)} to you (unrestricted_facts)" * bool(facts)
        raise AccessError(
            f"your access is limited by {', '.join(beyond)}, and {what} can only be limited "
            f"by {dimension} levels: ask an unrestricted user{opened}"
        )
