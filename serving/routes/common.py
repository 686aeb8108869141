"""What the routes share: the valid names for the schema, and the documented errors."""

from __future__ import annotations

import re

from fastapi import Request
from pydantic import BaseModel

from cubes import ACRM_CUBE
from cubes.model import TIME_FUNCTIONS

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


def errors(*codes: int) -> dict:
    said = {
        400: "the query names something the cube does not have, or breaks a limit "
        "(filters, time); `detail` says which and what to do",
        401: "a token is needed (ACRM_API_TOKEN): Authorization: Bearer <token>",
        403: "not for this user: a write into the CRM without an admin token, or beyond the "
        "user's access policy; `detail` says what is allowed",
        413: "the answer or the body is over the server's limit; `detail` names it",
        503: "no publication yet, or every query connection is busy (Retry-After)",
    }
    return {c: {"model": Problem, "description": said[c]} for c in codes}


DATA_ERRORS = errors(400, 401, 403, 413, 503)


def policy_of(request: Request):
    """The access policy of the request's user (serving.users), or None: all data."""
    user = getattr(request.state, "user", None)
    return user.policy if user else None


def may_write(request: Request) -> bool:
    """The server's own token, or a user whose role is admin (their policy still applies)."""
    user = getattr(request.state, "user", None)
    return (user is None and bool(request.app.state.serve.token)) or bool(user and user.may_write)
