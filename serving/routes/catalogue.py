"""The catalogue: levels, measures, members and the build the answers come from."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import duckdb
from fastapi import APIRouter, Query, Request

from core.publication import PARQUET_LINK, read_build, read_manifest, safe_url
from cubes import ACRM_CUBE
from cubes.access import members_filters
from cubes.model import TIME_FUNCTIONS
from serving.routes.common import DATA_ERRORS, LEVEL_NAME, errors, policy_of

router = APIRouter()


@router.get("/api/levels", tags=["catalogue"], responses=errors(401))
def levels() -> list[dict]:
    """Every level, coarse to fine in its hierarchy, with the levels to drill to."""
    return ACRM_CUBE.level_catalogue()


@router.get("/api/measures", tags=["catalogue"], responses=errors(401))
def measures() -> dict:
    """Every measure with its definition and number format, and the time functions."""
    return {
        "measures": [
            {"measure": m.name, "description": m.description, "format": m.format}
            for m in ACRM_CUBE.measures
        ],
        "time_functions": TIME_FUNCTIONS,
    }


@router.get("/api/members", tags=["catalogue"], responses=DATA_ERRORS)
def members(
    request: Request,
    level: Annotated[
        str, Query(description="a level, e.g. channel.channel", json_schema_extra=LEVEL_NAME)
    ],
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict:
    """The members of a level, in the level's order (those the user's policy allows)."""
    within = members_filters(ACRM_CUBE, level, policy_of(request))
    with request.app.state.pool.engine() as engine:
        values = engine.members(level, limit, within)
    return {"level": level, "members": values}


@router.get("/api/freshness", tags=["catalogue"], responses=errors(401, 503))
def freshness(request: Request) -> dict:
    """The published build the answers come from: id, time, age and rows per table (read
    from the copy the answers come from, so it never names another build)."""
    source = request.app.state.pool.source  # the one the answers come from
    with request.app.state.pool.engine() as engine:
        try:
            build = engine.read(read_build)
        except duckdb.CatalogException:  # a copy published before ops.build existed
            build = read_manifest(source)
    if isinstance(source, str):  # the PostgreSQL publication
        manifest = {**build, "warehouse": safe_url(source)}
    else:
        manifest = {**build, "warehouse": source.name, "parquet": f"{PARQUET_LINK}/"}
    built = dt.datetime.fromisoformat(manifest["built_at"])
    age = (dt.datetime.now(dt.UTC) - built).total_seconds()
    return manifest | {"age_seconds": round(age, 1)}
