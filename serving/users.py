"""API users: a YAML file (ACRM_USERS_FILE) of names, hashed tokens, roles and access
policies. Tokens are stored as SHA-256 hex digests, never in clear; a presented token is
hashed and compared with every user's digest in constant time, all of them every time, so
neither the timing nor a log line tells which user was close.

    users:
      - name: anna
        token_sha256: 9f86d08...           # `acrm users token` makes one
        role: analyst                      # analyst: reads; admin: also writes audiences
        policy:                            # optional; none: everything
          manager.team: [North]
          unrestricted_facts: [marketing_spend]
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from cubes.access import Policy
from cubes.model import Cube

ROLES = ("analyst", "admin")
DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class User:
    name: str
    digest: bytes
    role: str
    policy: Policy | None

    @property
    def may_write(self) -> bool:
        return self.role == "admin"


def token_digest(token: str | bytes) -> str:
    """The SHA-256 hex digest a users file keeps of a token."""
    raw = token.encode("utf-8") if isinstance(token, str) else token
    return hashlib.sha256(raw).hexdigest()


class Users:
    """The users of a file, looked up by a presented token."""

    def __init__(self, users: list[User]):
        self.users = users

    def identify(self, token: bytes) -> User | None:
        given = hashlib.sha256(token).digest()
        found = None
        for user in self.users:  # every user compared: the time says nothing of which
            if hmac.compare_digest(given, user.digest) and found is None:
                found = user
        return found

    @classmethod
    def load(cls, path: Path, cube: Cube) -> Users:
        """The users of `path`; a bad entry is an error naming the file, the user and what
        to fix."""
        try:
            body = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"{path}: cannot read the users file: {exc}") from None
        entries = body.get("users") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"{path}: expected `users:` with a list of users")
        users, names = [], set()
        for n, entry in enumerate(entries, 1):
            users.append(_user(path, n, entry, cube))
            if users[-1].name in names:
                raise ValueError(f"{path}: user {users[-1].name!r} appears twice")
            names.add(users[-1].name)
        return cls(users)


def _user(path: Path, n: int, entry: object, cube: Cube) -> User:
    if not isinstance(entry, dict) or not entry.get("name"):
        raise ValueError(f"{path}: user {n} needs a name")
    name = str(entry["name"])
    digest = str(entry.get("token_sha256", "")).lower()
    if not DIGEST.match(digest):
        raise ValueError(
            f"{path}: user {name!r}: token_sha256 must be 64 hex digits (`acrm users token` "
            "makes a token and its digest); tokens are never stored in clear"
        )
    role = str(entry.get("role", "analyst"))
    if role not in ROLES:
        raise ValueError(f"{path}: user {name!r}: role {role!r} is not one of {ROLES}")
    try:
        policy = Policy.parse(cube, entry.get("policy"), name) if entry.get("policy") else None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return User(name, bytes.fromhex(digest), role, policy)
