"""Audiences over HTTP: the same selection and writes as `acrm audience create`. A write
into the CRM is never open: the route refuses unless the server has a token."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from core.settings import crm_url
from cubes.access import AccessError, audience_levels
from cubes.audiences import (
    AudienceError,
    Rule,
    folder_of,
    listing,
    select,
    write_crm,
    write_files,
)
from serving.routes.common import errors, may_write, policy_of

router = APIRouter()


class AudienceRequest(BaseModel):
    """An audience in the words of `acrm audience create`."""

    model_config = ConfigDict(strict=True, extra="forbid")  # `"crm": "no"`: 422

    name: str = Field(examples=["winback"])
    filters: list[str] = Field(
        default_factory=list, examples=[["customer.segment=Retail", "churn_probability>0.6"]]
    )
    holdout: float = Field(0.0, ge=0, le=1, examples=[0.1])
    crm: bool = True


@router.post("/api/audiences", tags=["act"], responses=errors(400, 401, 403, 503))
def create(request: Request, body: AudienceRequest) -> dict:
    """Select the audience, write its files beside the publication and its rows into the
    CRM's acrm_audience_members; the answer says what was written."""
    if not may_write(request):
        raise HTTPException(
            403, "writing audiences needs the server's ACRM_API_TOKEN or an admin user's token"
        )
    settings = request.app.state.settings
    forced = _forced_levels(request)  # the user's access policy, on top of their filters
    rule = Rule(
        levels=tuple(f for f in body.filters if f.strip().startswith("customer.")) + forced,
        thresholds=tuple(f for f in body.filters if not f.strip().startswith("customer.")),
        holdout=body.holdout,
    )
    try:
        with request.app.state.pool.engine() as engine:  # the pool's connections only:
            members, about = engine.read(lambda con: select(con, body.name, rule))
        write_files(folder_of(settings.published), members, about)
        written = write_crm(crm_url(settings), members, about) if body.crm else 0
    except AudienceError as exc:
        raise HTTPException(400, str(exc)) from None
    return about | {"crm_rows": written}


@router.get("/api/audiences", tags=["act"], responses=errors(401, 403))
def audiences(request: Request) -> list[dict]:
    """Every audience written: size, holdout and creation."""
    forced = set(_forced_levels(request))  # a restricted user sees audiences inside it only
    made = listing(folder_of(request.app.state.settings.published))
    return [about for about in made if forced <= set(about.get("levels", []))]


def _forced_levels(request: Request) -> tuple[str, ...]:
    try:
        return audience_levels(policy_of(request))
    except AccessError as exc:
        raise HTTPException(403, str(exc)) from None
