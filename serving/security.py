"""What stands between a request and the published data: the token, the Host header, the
body size, and the headers every answer carries.

- The token (ACRM_API_TOKEN) guards every route but OPEN_PATHS: the health check and the
  pivot page with its static files, which hold no data (the pivot gets its data through
  the guarded API). A method or path no route serves gets its 405 or 404, token or not.
  The token is `Authorization: Bearer <token>`, or HTTP Basic with the token as the
  password, which a browser asks for by itself on /report and /docs. Compared as bytes, in
  constant time.
- The Host header must name this server (loopback names, and `--allowed-host`): a page on
  another site that rebinds its DNS name to 127.0.0.1 gets 400, not the data.
- A body over the limit gets 413 before it is read.
- Every answer says: no framing, no sniffing, no referrer; scripts only from this origin
  (the report's inline scripts by their hashes); API answers and the report are not cached.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from serving.users import User, Users

OPEN_PATHS = ("/health", "/", "/favicon.ico")
OPEN_PREFIXES = ("/static/",)
BROWSER_PAGES = ("/report", "/docs")  # a browser asks for the token itself (Basic)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
NO_STORE = ("/api/", "/report", "/openapi.json")
CSP = (
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

Scope = dict
App = Callable


def presented(authorization: str) -> bytes | None:
    """The token of `Bearer <token>`, or the password of Basic; None for anything else.
    Header text arrives as latin-1 (as HTTP carries it), so any byte reads, none fails."""
    scheme, _, value = authorization.strip().partition(" ")
    given = value.strip().encode("latin-1", "replace")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(given, validate=True).partition(b":")[2]
        except (binascii.Error, ValueError):
            return None
    return given if scheme.lower() == "bearer" else None


def token_matches(authorization: str, token: str) -> bool:
    """Bearer <token>, or Basic with the token as password; bytes compared in constant time."""
    given = presented(authorization)
    return given is not None and hmac.compare_digest(given, token.encode("utf-8"))


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


async def send_json(send, status: int, detail: str, headers: list | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


class Guard:
    """ASGI middleware: Host check, body limit and token, before any route runs."""

    def __init__(
        self,
        app: App,
        token: str,
        max_body: int,
        hosts: tuple[str, ...],
        serves: Callable[[str, str], bool] = lambda path, method: True,
        users: Users | None = None,
    ):
        self.app, self.token, self.max_body, self.serves = app, token, max_body, serves
        self.users = users
        self.hosts = {h.lower() for h in (*LOOPBACK_HOSTS, *hosts)}

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = _header(scope, b"host").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if "*" not in self.hosts and name not in self.hosts:
            return await send_json(
                send,
                400,
                f"Host {host!r} is not this server's name; start `acrm serve` with "
                f"--allowed-host {name or 'NAME'} to serve it under that name",
            )
        path = scope["path"]
        guarded = not is_open(path) and self.serves(path, scope["method"])  # else 404/405
        user = self._user(_header(scope, b"authorization")) if guarded else None
        scope.setdefault("state", {})["user"] = user
        if user is False:
            challenge = b'Basic realm="acrm"' if path in BROWSER_PAGES else b"Bearer"
            return await send_json(
                send,
                401,
                "this server needs a token: send 'Authorization: Bearer <token>' (the "
                "server's ACRM_API_TOKEN, or a user's from ACRM_USERS_FILE)",
                [(b"www-authenticate", challenge)],
            )
        length = _header(scope, b"content-length")
        if length.isdigit() and int(length) > self.max_body:
            return await self._too_large(send)
        body = await self._body(receive)
        if body is None:
            return await self._too_large(send)
        await self.app(scope, _replay(body, receive), send)

    def _user(self, authorization: str) -> User | bool | None:
        """The user the request's token names; None on an open server or for the server's
        own token (everything allowed); False when the token is missing or unknown."""
        if not self.token and not self.users:
            return None
        if self.token and token_matches(authorization, self.token):
            return None
        given = presented(authorization)
        found = self.users.identify(given) if self.users and given is not None else None
        return found if found is not None else False

    async def _too_large(self, send) -> None:
        await send_json(
            send,
            413,
            f"the request body is over {self.max_body:,} bytes (ACRM_SERVE_MAX_BODY_BYTES)",
        )

    async def _body(self, receive) -> bytes | None:
        """The whole body (a chunked one too), or None once it passes the limit."""
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                return None
        return body


def _replay(body: bytes, receive):
    """`receive` that gives the body read once, then what the client sends next."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class SecurityHeaders:
    """ASGI middleware: the headers every answer carries (module docstring)."""

    def __init__(self, app: App, report: Callable[[], Path]):
        self.app, self.report = app, report

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] not in _OURS]
                headers += [*HEADERS, (b"content-security-policy", self._csp(path))]
                if path.startswith(NO_STORE):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)

    def _csp(self, path: str) -> bytes:
        scripts = ""
        if path == "/report":
            scripts = "".join(f" 'sha256-{h}'" for h in inline_script_hashes(self.report()))
        return CSP.format(scripts=scripts).encode()


_OURS = {name for name, _ in HEADERS} | {b"content-security-policy", b"cache-control"}
_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def inline_script_hashes(page: Path) -> tuple[str, ...]:
    """The CSP hashes of a page's inline scripts (the report's charts), by file version."""
    try:
        stat = page.stat()
    except OSError:
        return ()
    return _hashes(page, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _hashes(page: Path, mtime: int, size: int) -> tuple[str, ...]:
    return tuple(
        base64.b64encode(hashlib.sha256(body).digest()).decode()
        for body in _SCRIPT.findall(page.read_bytes())
    )
