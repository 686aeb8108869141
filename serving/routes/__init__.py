"""The server's routes by resource (cube, catalogue, pages). A route that reads the
publication is a plain function: FastAPI runs it in a worker thread, so the event loop only
moves bytes."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.routing import Match

from serving.routes import audiences, catalogue, cube, pages, whatif

PARTS = (cube.router, catalogue.router, whatif.router, audiences.router, pages.router)
router = APIRouter()
for part in PARTS:
    router.include_router(part)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at `path` (for a 405's Allow header)."""
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    methods = set()
    ours = [route for part in PARTS for route in part.routes]
    for route in [*app.routes, *ours]:  # the app's own (openapi.json) and ours
        if getattr(route, "methods", None) and route.matches(scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)
