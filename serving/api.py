"""The HTTP API and the web pivot: the cube's query API over the published warehouse.

Same semantics and errors as `acrm cube query`: every name is checked against the model,
bad input is a 4xx whose `detail` names the bad part and the valid choices. Endpoints:

    GET  /api/query        measures, rows, cols, filter (repeatable), totals, top, bottom,
                           drill_down, drill_up, format=json|csv
    POST /api/query        the same as a JSON body
    GET  /api/levels       the levels with their hierarchy, description, finer and coarser
    GET  /api/measures     the measures with their description and number format
    GET  /api/members      the members of a level (for filter pickers)
    GET  /api/freshness    the published build: id, time, age, rows per table
    GET  /                 the web pivot (serving/static), /report the HTML report

Optional token authentication: when ACRM_API_TOKEN is set, every /api/ request needs
`Authorization: Bearer <token>`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import io
import os
import threading
from pathlib import Path
from typing import Annotated, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from acrm.settings import Settings
from cubes import ACRM_CUBE, GROUPING_COLUMN
from cubes.duckdb_engine import DuckDBEngine
from cubes.model import TIME_FUNCTIONS
from cubes.query import QueryError, format_filter, parse_request
from pipelines.publish.publisher import read_manifest
from serving.report import report_path

TOKEN_ENV = "ACRM_API_TOKEN"
STATIC = Path(__file__).parent / "static"


class QueryRequest(BaseModel):
    """A cube query in the words of `acrm cube query`."""

    measures: list[str] = Field(examples=[["revenue", "win_rate"]], min_length=1)
    rows: list[str] = Field(default_factory=list, examples=[["channel.channel"]])
    cols: list[str] = Field(default_factory=list, examples=[["date.quarter"]])
    filters: list[str] = Field(default_factory=list, examples=[["manager.team=North"]])
    totals: bool = False
    top: str | None = Field(None, examples=["5:revenue"])
    bottom: str | None = None
    drill_down: str | None = Field(None, examples=["channel.channel=Email"])
    drill_up: str | None = None


class Published:
    """One engine on the published file, shared by the server's threads under a lock
    (a DuckDB connection answers one statement at a time; each uses every core)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._engine: DuckDBEngine | None = None
        self.lock = threading.Lock()

    def engine(self) -> DuckDBEngine:
        if self._engine is None:
            try:
                self._engine = DuckDBEngine(ACRM_CUBE, self.settings.published)
            except FileNotFoundError as exc:
                raise HTTPException(503, str(exc)) from None
        return self._engine


def _authorise(request: Request) -> None:
    token = os.environ.get(TOKEN_ENV)
    if not token:
        return
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), token):
        raise HTTPException(
            401,
            f"this server needs a token: send 'Authorization: Bearer <token>' "
            f"(the server's {TOKEN_ENV})",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _csv(table: pa.Table) -> Response:
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="acrm-cube.csv"'},
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.load()
    published = Published(settings)
    app = FastAPI(
        title="ACRM cube API",
        summary="Slice the analytical CRM cube: measures by levels, filters, drills.",
        version="0.1.0",
    )
    auth = [Depends(_authorise)]

    @app.exception_handler(QueryError)
    async def query_error(_: Request, exc: QueryError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    def answer(request: QueryRequest, fmt: str):
        engine = published.engine()
        query = parse_request(
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
        with published.lock:
            table = engine.query(query)
        if fmt == "csv":
            return _csv(table)
        return {
            "query": {
                "measures": list(query.measures),
                "rows": list(query.rows),
                "cols": list(query.cols),
                "filters": [format_filter(f) for f in query.filters],
                "totals": query.totals,
                "top": (
                    f"{query.top.n}:{query.top.measure}:{query.top.level}"
                    if query.top and not query.top.lowest
                    else None
                ),
                "bottom": (
                    f"{query.top.n}:{query.top.measure}:{query.top.level}"
                    if query.top and query.top.lowest
                    else None
                ),
            },
            "columns": [name for name in table.column_names if name != GROUPING_COLUMN],
            "formats": {name: ACRM_CUBE.format_of(name) for name in query.measures},
            "records": table.to_pylist(),
        }

    @app.get("/api/query", dependencies=auth, tags=["cube"])
    def query_get(
        measures: Annotated[str, Query(description="comma-separated, e.g. revenue,win_rate")],
        rows: Annotated[str, Query(description="comma-separated row levels")] = "",
        cols: Annotated[str, Query(description="comma-separated column levels")] = "",
        filter: Annotated[
            list[str] | None,
            Query(description="LEVEL=V1[,V2], LEVEL!=V or LEVEL=LOW..HIGH; repeatable"),
        ] = None,
        totals: bool = False,
        top: Annotated[str | None, Query(description="N:MEASURE[:LEVEL]")] = None,
        bottom: Annotated[str | None, Query(description="N:MEASURE[:LEVEL]")] = None,
        drill_down: Annotated[str | None, Query(description="LEVEL=MEMBER")] = None,
        drill_up: Annotated[str | None, Query(description="LEVEL")] = None,
        format: Literal["json", "csv"] = "json",
    ):
        """Slice the cube. JSON: the query as understood (after drills), the columns, each
        measure's number format and the records (`_grouping` is the SQL GROUPING bitmask:
        0 for a detail row)."""
        request = QueryRequest(
            measures=[measures],
            rows=[rows],
            cols=[cols],
            filters=filter or [],
            totals=totals,
            top=top,
            bottom=bottom,
            drill_down=drill_down,
            drill_up=drill_up,
        )
        return answer(request, format)

    @app.post("/api/query", dependencies=auth, tags=["cube"])
    def query_post(
        request: QueryRequest,
        format: Literal["json", "csv"] = "json",
    ):
        """Slice the cube, the query as a JSON body."""
        return answer(request, format)

    @app.get("/api/levels", dependencies=auth, tags=["catalogue"])
    def levels() -> list[dict]:
        """Every level, coarse to fine in its hierarchy, with the levels to drill to."""
        return ACRM_CUBE.level_catalogue()

    @app.get("/api/measures", dependencies=auth, tags=["catalogue"])
    def measures() -> dict:
        """Every measure with its definition and number format, and the time functions."""
        return {
            "measures": [
                {"measure": m.name, "description": m.description, "format": m.format}
                for m in ACRM_CUBE.measures
            ],
            "time_functions": TIME_FUNCTIONS,
        }

    @app.get("/api/members", dependencies=auth, tags=["catalogue"])
    def members(
        level: Annotated[str, Query(description="a level, e.g. channel.channel")],
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> dict:
        """The members of a level, in the level's order."""
        engine = published.engine()
        with published.lock:
            values = engine.members(level, limit)
        return {"level": level, "members": values}

    @app.get("/api/freshness", tags=["catalogue"], dependencies=auth)
    def freshness() -> dict:
        """The published build the answers come from: id, time, age and rows per table."""
        try:
            manifest = read_manifest(settings.published)
        except FileNotFoundError as exc:
            raise HTTPException(503, str(exc)) from None
        built = dt.datetime.fromisoformat(manifest["built_at"])
        age = (dt.datetime.now(dt.UTC) - built).total_seconds()
        return manifest | {"age_seconds": round(age, 1)}

    @app.get("/report", include_in_schema=False)
    def report() -> FileResponse:
        path = report_path(settings.published)
        if not path.exists():
            raise HTTPException(404, f"no report at {path}: run `acrm report` or `acrm run`")
        return FileResponse(path, media_type="text/html")

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        import plotly

        bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        return FileResponse(bundled, media_type="text/javascript")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/", include_in_schema=False)
    def pivot() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
