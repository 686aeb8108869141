"""The cube's query route, GET and POST: parsed as the CLI parses, within the server's
limits, small cells suppressed, answered as JSON or CSV bytes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.settings import ServeSettings
from cubes import ACRM_CUBE, GROUPING_COLUMN
from cubes.access import restrict
from cubes.privacy import SUPPRESSED, breaks_down_customers, population_query, suppress
from cubes.query import Query as CubeQuery
from cubes.query import QueryError, format_filter, parse_request
from serving.answers import csv_response, json_response
from serving.routes.common import (
    DATA_ERRORS,
    LEVEL_LIST,
    LEVEL_NAME,
    MEASURE_LIST,
    MEASURE_NAME,
    policy_of,
)

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


def _answer(app: FastAPI, request: QueryRequest, fmt: str, policy=None) -> Response:
    serve: ServeSettings = app.state.serve
    _checked_limits(request, serve)
    query = restrict(ACRM_CUBE, _parsed(request), policy)
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
    return _answer(request.app, body, format, policy_of(request))


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
    return _answer(request.app, body, format, policy_of(request))
