"""The conformance suite: the same queries on two engines, compared frame by frame."""

from __future__ import annotations

import math
from decimal import Decimal

import pyarrow as pa

from cubes.model import Cube
from cubes.query import Query, TopN, build_query

GROUPING_COLUMN = "_grouping"

# Query arguments that hold on any ACRM warehouse (the unit star and a generated one alike).
QUERIES: list[dict] = [
    {
        "measures": ["revenue", "orders", "customers", "avg_check"],
        "rows": ["channel.channel"],
        "totals": True,
    },
    {
        "measures": ["win_rate", "deals", "avg_cycle_days"],
        "rows": ["manager.team", "manager.manager"],
        "totals": True,
    },
    {
        "measures": ["revenue", "orders"],
        "rows": ["product.category"],
        "cols": ["date.year"],
        "totals": True,
    },
    {
        "measures": ["romi", "spend", "attributed_revenue"],
        "rows": ["channel.channel", "attribution.model"],
    },
    {"measures": ["stage_conversion", "deals_reached"], "rows": ["funnel.stage"], "totals": True},
    {
        "measures": ["calls", "missed_call_rate", "avg_talk_seconds"],
        "rows": ["time.hour"],
        "totals": True,
    },
    {"measures": ["csat", "nps"], "rows": ["customer.segment"], "totals": True},
    {"measures": ["revenue", "customers"], "rows": ["customer.rfm_segment"]},
    {"measures": ["cpl", "leads"], "rows": ["channel.channel"], "filters": ["date.year=2025"]},
    {"measures": ["revenue"], "rows": ["date.quarter"], "filters": ["manager.team!=South"]},
    {
        "measures": ["revenue"],
        "rows": ["channel.channel"],
        "top": TopN("channel.channel", "revenue", 1),
    },
    {"measures": ["revenue", "won_deals"], "filters": ["date.day=2025-01-01..2025-06-30"]},
]


def conformance_queries(cube: Cube) -> list[Query]:
    return [build_query(cube, **arguments) for arguments in QUERIES]


def _key(value: object) -> tuple:
    return (value is None or (isinstance(value, float) and math.isnan(value)), str(value))


def differences(
    query: Query, expected: pa.Table, actual: pa.Table, tolerance: float = 1e-6
) -> list[str]:
    """What differs between two engines' answers to a query (empty when they agree)."""
    keys = [*query.levels, GROUPING_COLUMN]

    def rows(table: pa.Table) -> list[dict]:
        return sorted(table.to_pylist(), key=lambda r: [_key(r[k]) for k in keys])

    left, right = rows(expected), rows(actual)
    if len(left) != len(right):
        return [f"{len(left)} rows expected, {len(right)} found"]
    found = []
    for a, b in zip(left, right, strict=True):
        for column in [*keys, *query.measures]:
            x, y = (
                float(v) if isinstance(v, Decimal) else v for v in (a.get(column), b.get(column))
            )
            missing_x = x is None or (isinstance(x, float) and math.isnan(x))
            missing_y = y is None or (isinstance(y, float) and math.isnan(y))
            if missing_x and missing_y:
                continue
            if (
                isinstance(x, int | float)
                and isinstance(y, int | float)
                and not (missing_x or missing_y)
            ):
                if math.isclose(x, y, rel_tol=tolerance, abs_tol=tolerance):
                    continue
            elif x == y:
                continue
            found.append(f"{[a.get(k) for k in keys]} {column}: {x!r} expected, {y!r} found")
    return found
