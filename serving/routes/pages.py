"""The pages: the health check, the pivot, the report, the API's docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from cubes.report import report_path

STATIC = Path(__file__).parents[1] / "static"
router = APIRouter()


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
