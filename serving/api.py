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
    GET  /api/whatif/funnel, /api/whatif/budget   what-if projections (cubes/whatif.py)
    POST /api/audiences    an audience written to files and the CRM (token required);
    GET  /api/audiences    the audiences written
    GET  /report           the directors' report; /docs the API's pages; /openapi.json
    GET  /                 the web pivot (serving/static): no data, it asks the API
    GET  /health           whether the server is up (no data, no token)

With ACRM_API_TOKEN set, everything but /health, / and /static/ needs the token
(serving/security.py). Queries run on a small pool of read-only connections, bounded in
memory, threads, time and answer size (ServeSettings); a cell of fewer customers than
ACRM_MIN_CELL_CUSTOMERS hides its measures (cubes/privacy.py). ACRM_PUBLISHED=postgresql://...
answers from the PostgreSQL publication instead of the DuckDB copy, with the same answers.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.settings import ServeSettings, Settings
from cubes import ACRM_CUBE
from cubes.postgres_engine import PostgresPublicationError
from cubes.query import QueryError
from cubes.report import report_path
from serving import routes
from serving.pool import BusyError, EnginePool
from serving.security import Guard, SecurityHeaders, is_open
from serving.users import Users

TOKEN_ENV = "ACRM_API_TOKEN"
STATIC = Path(__file__).parent / "static"


def create_app(
    settings: Settings | None = None,
    serve: ServeSettings | None = None,
    allowed_hosts: tuple[str, ...] = (),
) -> FastAPI:
    """The server on the publication of `settings`, within the limits of `serve`; Host
    names other than loopback's must be in `allowed_hosts` ("*": any)."""
    settings = settings or Settings.load()
    serve = serve or ServeSettings.load()
    app = FastAPI(
        title="ACRM cube API",
        summary="Slice the analytical CRM cube: measures by levels, filters, drills.",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings, app.state.serve = settings, serve
    app.state.pool = EnginePool(ACRM_CUBE, settings.published_source, serve)
    app.include_router(routes.router)
    _handle_errors(app, settings)
    if serve.token or serve.users_file:
        _document_token(app)
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        Guard,
        token=serve.token,
        max_body=serve.max_body_bytes,
        hosts=allowed_hosts,
        serves=lambda path, method: method in routes.allowed_methods(app, path),
        users=Users.load(Path(serve.users_file), ACRM_CUBE) if serve.users_file else None,
    )
    app.add_middleware(SecurityHeaders, report=lambda: report_path(settings.published))
    return app


def _document_token(app: FastAPI) -> None:
    """The schema says which operations need the token, and how to send it (the docs page
    then offers to take it)."""
    make = app.openapi

    def with_security() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = make()
        schema.setdefault("components", {})["securitySchemes"] = {
            "token": {"type": "http", "scheme": "bearer", "description": "ACRM_API_TOKEN"},
            "basic": {"type": "http", "scheme": "basic", "description": "the token as password"},
        }
        for path, operations in schema["paths"].items():
            if not is_open(path):
                for operation in operations.values():
                    operation["security"] = [{"token": []}, {"basic": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = with_security


def _handle_errors(app: FastAPI, settings: Settings) -> None:
    """Every error a JSON answer with `detail`, at the status its kind has; paths in it
    relative to the warehouse folder."""
    base = str(settings.warehouse.parent) + "/"

    def problem(status: int, detail: str, headers: dict | None = None) -> JSONResponse:
        return JSONResponse({"detail": detail.replace(base, "")}, status, headers)

    @app.exception_handler(QueryError)
    async def query_error(_: Request, exc: QueryError) -> JSONResponse:
        return problem(exc.status, str(exc))

    @app.exception_handler(duckdb.ConversionException)
    @app.exception_handler(duckdb.OutOfRangeException)
    @app.exception_handler(duckdb.InvalidInputException)
    @app.exception_handler(psycopg.errors.DataException)  # the same from PostgreSQL
    @app.exception_handler(ValueError)
    async def bad_value(_: Request, exc: Exception) -> JSONResponse:  # a value DuckDB refuses
        return problem(400, f"a value in the request cannot be used: {exc}")

    @app.exception_handler(BusyError)
    async def busy(_: Request, exc: BusyError) -> JSONResponse:
        return problem(503, str(exc), {"Retry-After": "5"})

    @app.exception_handler(PostgresPublicationError)
    @app.exception_handler(FileNotFoundError)
    async def unpublished(_: Request, exc: Exception) -> JSONResponse:
        return problem(503, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Allow: every method the path serves, over all routes
            headers["Allow"] = ", ".join(routes.allowed_methods(request.app, request.url.path))
        return problem(exc.status_code, str(exc.detail), headers)
