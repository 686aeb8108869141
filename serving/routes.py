"""The server's routes. Each route that reads the publication is a plain function: FastAPI
runs it in a worker thread, so the event loop only moves bytes."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal

import duckdb
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.routing import Match

from core.publication import PARQUET_LINK, read_build, read_manifest
from core.settings import ServeSettings
from cubes import ACRM_CUBE, GROUPING_COLUMN
from cubes.model import TIME_FUNCTIONS
from cubes.privacy import SUPPRESSED, breaks_down_customers, population_query, suppress
from cubes.query import Query as CubeQuery
from cubes.query import QueryError, format_filter, parse_request
from cubes.report import report_path
from serving.answers import csv_response, json_response

STATIC = Path(__file__).parent / "static"
_MEASURE = (
    f"(?:{'|'.join(map(re.escape, ACRM_CUBE.measure_names))})"
    f"(?::(?:{'|'.join(map(re.escape, TIME_FUNCTIONS))}))?"
)
_LEVEL = f"(?:{'|'.join(map(re.escape, ACRM_CUBE.level_names))})"
MEASURE_LIST = f"^ *{_MEASURE} *(?:, *{_MEASURE} *)*$"
LEVEL_LIST = f"^(?: *{_LEVEL} *(?:, *{_LEVEL} *)*)?$"
# The schema lists the valid names; the server checks them itself, so a wrong one gets a
# 400 that says what is close and what is valid, not a bare pattern mismatch.
MEASURE_NAME = {"pattern": f"^{_MEASURE}$"}
LEVEL_NAME = {"enum": ACRM_CUBE.level_names}


class Problem(BaseModel):
    """An error: what was wrong, and what to do."""

    detail: str


def _errors(*codes: int) -> dict:
    said = {
        400: "the query names something the cube does not have, or breaks a limit "
        "(filters, time); `detail` says which and what to do",
        401: "a token is needed (ACRM_API_TOKEN): Authorization: Bearer <token>",
        413: "the answer or the body is over the server's limit; `detail` names it",
        503: "no publication yet, or every query connection is busy (Retry-After)",
    }
    return {c: {"model": Problem, "description": said[c]} for c in codes}


DATA_ERRORS = _errors(400, 401, 413, 503)
router = APIRouter()


class QueryRequest(BaseModel):
    """A cube query in the words of `acrm cube query`."""

    model_config = ConfigDict(strict=True, extra="forbid")  # `"totals": 0` or `"filter"`: 422

    measures: list[Annotated[str, Field(json_schema_extra=MEASURE_NAME)]] = Field(
        examples=[["revenue", "win_rate"]], min_length=1
    )
    rows: list[Annotated[str, Field(json_schema_extra=LEVEL_NAME)]] = Field(
        default_factory=list, examples=[["channel.channel"]]
    )
    cols: list[Annotated[str, Field(json_schema_extra=LEVEL_NAME)]] = Field(
        default_factory=list, examples=[["date.quarter"]]
    )
    filters: list[str] = Field(default_factory=list, examples=[["manager.team=North"]])
    totals: bool = False
    top: str | None = Field(None, examples=["5:revenue"])
    bottom: str | None = None
    drill_down: str | None = Field(None, description="LEVEL=MEMBER: open a member")
    drill_up: Annotated[str, Field(json_schema_extra=LEVEL_NAME)] | None = None


def _checked_limits(request: QueryRequest, serve: ServeSettings) -> None:
    if len(request.filters) > serve.max_filters:
        raise QueryError(
            f"{len(request.filters)} filters; the server takes at most {serve.max_filters} "
            "(ACRM_SERVE_MAX_FILTERS)"
        )
    for text in request.filters:
        values = text.split("=", 1)[-1].count(",") + 1
        if values > serve.max_filter_values:
            raise QueryError(
                f"a filter of {values} values; the server takes at most "
                f"{serve.max_filter_values} per filter (ACRM_SERVE_MAX_FILTER_VALUES)"
            )


def _parsed(request: QueryRequest) -> CubeQuery:
    return parse_request(
        ACRM_CUBE,
        request.measures,
        request.rows,
        request.cols,
        request.filters,
        request.totals,
        request.top,
        request.bottom,
        request.drill_down,
        request.drill_up,
    )


def _answer(app: FastAPI, request: QueryRequest, fmt: str) -> Response:
    serve: ServeSettings = app.state.serve
    _checked_limits(request, serve)
    query = _parsed(request)
    with app.state.pool.engine() as engine:
        table = engine.query(query)
        if breaks_down_customers(query):
            cube, counted = population_query(ACRM_CUBE, query)
            counts = engine.query(counted, cube)
            table = suppress(table, counts, query, serve.min_cell_customers)
    if fmt == "csv":
        return csv_response(table)
    return json_response(_echo(query, table), table)


def _echo(query: CubeQuery, table) -> dict:
    ranking = (
        f"{query.top.n}:{query.top.measure}:{query.top.level}" if query.top is not None else None
    )
    lowest = query.top is not None and query.top.lowest
    return {
        "query": {
            "measures": list(query.measures),
            "rows": list(query.rows),
            "cols": list(query.cols),
            "filters": [format_filter(f) for f in query.filters],
            "totals": query.totals,
            "top": None if lowest else ranking,
            "bottom": ranking if lowest else None,
        },
        "columns": [n for n in table.column_names if n not in (GROUPING_COLUMN, SUPPRESSED)],
        "formats": {name: ACRM_CUBE.format_of(name) for name in query.measures},
        "suppressed": SUPPRESSED in table.column_names
        and bool(any(table.column(SUPPRESSED).to_pylist())),
    }


ANSWER = {
    200: {
        "description": "the answer: JSON (the query as understood, the columns, each "
        "measure's number format, the records) or CSV",
        "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}},
    },
    **DATA_ERRORS,
}


@router.get("/api/query", tags=["cube"], responses=ANSWER, response_class=Response)
def query_get(
    request: Request,
    measures: Annotated[
        str,
        Query(
            description="comma-separated, e.g. revenue,win_rate",
            json_schema_extra={"pattern": MEASURE_LIST},
        ),
    ],
    rows: Annotated[
        str, Query(description="comma-separated levels", json_schema_extra={"pattern": LEVEL_LIST})
    ] = "",
    cols: Annotated[
        str, Query(description="comma-separated levels", json_schema_extra={"pattern": LEVEL_LIST})
    ] = "",
    filter: Annotated[
        list[str] | None,
        Query(description="LEVEL=V1[,V2], LEVEL!=V or LEVEL=LOW..HIGH; repeatable"),
    ] = None,
    totals: bool = False,
    top: Annotated[str | None, Query(description="N:MEASURE[:LEVEL]")] = None,
    bottom: Annotated[str | None, Query(description="N:MEASURE[:LEVEL]")] = None,
    drill_down: Annotated[str | None, Query(description="LEVEL=MEMBER")] = None,
    drill_up: Annotated[
        str | None, Query(description="LEVEL", json_schema_extra=LEVEL_NAME)
    ] = None,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Slice the cube. JSON: the query as understood (after drills), the columns, each
    measure's number format and the records (`_grouping` is the SQL GROUPING bitmask: 0
    for a detail row; `_suppressed` marks a cell of too few customers to show)."""
    try:
        body = _get_request(measures, rows, cols, filter, totals, top, bottom, drill_down, drill_up)
    except ValidationError as exc:
        raise QueryError(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from None
    return _answer(request.app, body, format)


def _get_request(measures, rows, cols, filters, totals, top, bottom, drill_down, drill_up):
    """The GET parameters as the POST body has them."""
    return QueryRequest(
        measures=[m.strip() for m in measures.split(",") if m.strip()],
        rows=[r.strip() for r in rows.split(",") if r.strip()],
        cols=[c.strip() for c in cols.split(",") if c.strip()],
        filters=filters or [],
        totals=totals,
        top=top,
        bottom=bottom,
        drill_down=drill_down,
        drill_up=drill_up,
    )


@router.post("/api/query", tags=["cube"], responses=ANSWER, response_class=Response)
def query_post(
    request: Request, body: QueryRequest, format: Literal["json", "csv"] = "json"
) -> Response:
    """Slice the cube, the query as a JSON body."""
    return _answer(request.app, body, format)


@router.get("/api/levels", tags=["catalogue"], responses=_errors(401))
def levels() -> list[dict]:
    """Every level, coarse to fine in its hierarchy, with the levels to drill to."""
    return ACRM_CUBE.level_catalogue()


@router.get("/api/measures", tags=["catalogue"], responses=_errors(401))
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
    """The members of a level, in the level's order."""
    with request.app.state.pool.engine() as engine:
        values = engine.members(level, limit)
    return {"level": level, "members": values}


@router.get("/api/freshness", tags=["catalogue"], responses=_errors(401, 503))
def freshness(request: Request) -> dict:
    """The published build the answers come from: id, time, age and rows per table (read
    from the copy the answers come from, so it never names another build)."""
    published = request.app.state.settings.published
    with request.app.state.pool.engine() as engine:
        try:
            build = engine.read(read_build)
        except duckdb.CatalogException:  # a copy published before ops.build existed
            build = read_manifest(published)
    manifest = {**build, "warehouse": published.name, "parquet": f"{PARQUET_LINK}/"}
    built = dt.datetime.fromisoformat(manifest["built_at"])
    age = (dt.datetime.now(dt.UTC) - built).total_seconds()
    return manifest | {"age_seconds": round(age, 1)}


@router.get("/health", tags=["server"])
def health() -> dict:
    """Whether the server is up; no data, no token."""
    return {"status": "ok"}


@router.get("/report", include_in_schema=False)
def report(request: Request) -> FileResponse:
    path = report_path(request.app.state.settings.published)
    if not path.exists():
        raise HTTPException(404, "no report published yet: run `acrm report` or `acrm run`")
    return FileResponse(path, media_type="text/html")


@router.get("/docs", include_in_schema=False)
def docs() -> FileResponse:
    return FileResponse(STATIC / "docs.html", media_type="text/html")


@router.get("/static/plotly.min.js", include_in_schema=False)
def plotly_js() -> FileResponse:
    import plotly

    bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return FileResponse(bundled, media_type="text/javascript")


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return Response(status_code=204)


@router.get("/", include_in_schema=False)
def pivot() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at `path` (for a 405's Allow header)."""
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    methods = set()
    for route in [*app.routes, *router.routes]:  # the app's own (openapi.json) and ours
        if getattr(route, "methods", None) and route.matches(scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)
