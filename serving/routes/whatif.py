"""What-if projections (cubes.whatif) over the publication, with their assumptions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from cubes import ACRM_CUBE, whatif
from cubes.access import allowed_keys
from serving.routes.common import DATA_ERRORS, policy_of

router = APIRouter()


@router.get("/api/whatif/funnel", tags=["what-if"], responses=DATA_ERRORS)
def funnel(
    request: Request,
    manager: Annotated[str, Query(description="manager key or name")],
    stage: Annotated[str, Query(description="open funnel stage, e.g. Proposal")],
    conversion: Annotated[
        float | None, Query(gt=0, le=1, description="target conversion out of the stage")
    ] = None,
    to: Annotated[Literal["peers"] | None, Query(description="the other managers'")] = None,
) -> dict:
    """Extra won deals and revenue per month if a manager converted one stage at a target
    (or at the other managers' rate), beside the actual."""
    policy = policy_of(request)  # a team lead's what-if: their managers, their peers

    def answer(con):
        allowed = allowed_keys(
            con, ACRM_CUBE, policy, "manager", "the funnel what-if", whatif.FUNNEL_FACTS
        )
        return whatif.funnel(con, manager, stage, conversion, to == "peers", allowed)

    with request.app.state.pool.engine() as engine:
        return engine.read(answer)


@router.get("/api/whatif/budget", tags=["what-if"], responses=DATA_ERRORS)
def budget(
    request: Request,
    move: Annotated[float, Query(description="share of the source's spend to move, 0 to 1")],
    source: Annotated[str, Query(alias="from", description="channel to take spend from")],
    to: Annotated[str, Query(description="channel to give it to")],
    model: Annotated[Literal["linear", "saturating"], Query()] = "linear",
) -> dict:
    """Projected attributed revenue and ROMI per channel with spend moved between two."""
    policy = policy_of(request)  # a channel lead's what-if: their channels' spend and revenue

    def answer(con):
        allowed = allowed_keys(
            con, ACRM_CUBE, policy, "channel", "the budget what-if", whatif.BUDGET_FACTS
        )
        return whatif.budget(con, move, source, to, model, allowed)

    with request.app.state.pool.engine() as engine:
        return engine.read(answer)
