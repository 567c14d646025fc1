"""Who is asking: UI login (STUDIO_AUTH), REST bearer tokens
(STUDIO_API_TOKENS, or HTTP Basic with a UI login, or — for downloads — the
UI's own login cookie), admins (STUDIO_ADMINS).

With no logins configured the studio is open: everyone is ``anonymous`` and
an admin (a single-user install on 127.0.0.1); such a studio runs no
scenario scripts unless STUDIO_ALLOW_SCENARIO_SCRIPTS=1.

In the public demo (STUDIO_DEMO, on by default with SPACE_ID; only without
logins) each browser is its own plain user ``visitor-<id>``: :class:`VisitorCookie`
gives every request a signed visitor cookie (a fresh one when it has none or a
forged one), and REST routes and Gradio events both read the visitor from it.

:func:`start_refusal` says why a studio must not start as configured: API
tokens without UI logins, or an open, non-demo studio on a non-loopback address.

:class:`GradioFileGuard` keeps Gradio's ``/gradio_api/file=`` route away from
the studio's data folder: a user's files are served only through routes that
check the owner (``/api/v1/jobs/{id}/files/...``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobs import secrets as job_secrets
from jobs.access import ANONYMOUS, VISITOR_PREFIX, User, user_named
from jobs.settings import Settings, get_settings

__all__ = [
    "ANONYMOUS",
    "GradioFileGuard",
    "User",
    "VisitorCookie",
    "api_user",
    "auth_enabled",
    "check_login",
    "start_refusal",
    "user_named",
    "visitor",
]

SAFE_METHODS = ("GET", "HEAD")


def auth_enabled() -> bool:
    return not get_settings().open_studio


def check_login(username: str, password: str) -> bool:
    expected = get_settings().users.get(username)
    return expected is not None and secrets.compare_digest(expected.encode(), password.encode())


def _ui_login(request: Request) -> str | None:
    """The user logged in to the UI in this browser (Gradio's login cookie).
    Accepted only for reads (GET/HEAD): a link in a tab may download a file,
    but no other site can make a logged-in browser change anything."""
    if request.method not in SAFE_METHODS:
        return None
    gradio_app: Any = getattr(request.app.state, "gradio_app", None)
    if gradio_app is None:
        return None
    cookie_id = getattr(gradio_app, "cookie_id", "")
    token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
        f"access-token-unsecure-{cookie_id}"
    )
    name = gradio_app.tokens.get(token) if token else None
    return name if isinstance(name, str) else None


def api_user(request: Request) -> User:
    """FastAPI dependency: the REST caller, or 401 with what to send."""
    if get_settings().demo_mode:
        return user_named(visitor(request.cookies))
    if not auth_enabled():
        return user_named(None)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        for token, name in get_settings().tokens.items():
            if secrets.compare_digest(token.encode(), value.strip().encode()):
                return user_named(name)
    elif scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            username = password = ""
        if check_login(username, password):
            return user_named(username)
    elif not header and (name := _ui_login(request)):
        return user_named(name)
    raise HTTPException(
        401,
        "Send 'Authorization: Bearer <token>' (a token of STUDIO_API_TOKENS) "
        "or HTTP Basic with a studio login.",
        headers={"WWW-Authenticate": "Bearer"},
    )


# -- when not to start ------------------------------------------------------------

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def start_refusal(settings: Settings) -> str | None:
    """Why a studio with these settings must not start (None: it may)."""
    if settings.tokens and not settings.users:
        return (
            "STUDIO_API_TOKENS is set but STUDIO_AUTH is not: the REST API would need a token while "
            "the UI and its Gradio API (/config, /gradio_api/*) answer anyone. Set STUDIO_AUTH="
            "user:password,... too (the UI logins; a token's user may be the same name), or unset "
            "STUDIO_API_TOKENS."
        )
    if settings.open_studio and not settings.demo_mode and settings.server_name not in LOOPBACK:
        return (
            f"This studio has no logins and listens on {settings.server_name}, so anyone who can "
            "reach it would be an admin of it. Choose one: STUDIO_DEMO=1 (a public demo: each "
            "browser its own visitor, no admin powers, work deleted after STUDIO_DEMO_RETENTION_H), "
            "logins (STUDIO_AUTH=user:password,... and/or STUDIO_API_TOKENS=token:user,... with "
            "STUDIO_ADMINS), or GRADIO_SERVER_NAME=127.0.0.1 (only this machine)."
        )
    return None


# -- public demo: one visitor per browser ------------------------------------------

VISITOR_COOKIE = "studio-visitor"
_keys: dict[str, bytes] = {}


def _visitor_key() -> bytes:
    home = str(get_settings().home)
    if home not in _keys:
        _keys[home] = job_secrets.signing_key("visitor-cookie")
    return _keys[home]


def _signed(visitor_id: str) -> str:
    mac = hmac.new(_visitor_key(), visitor_id.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{visitor_id}.{mac}"


def _visitor_id(value: str | None) -> str | None:
    """The visitor id of a cookie value, if its signature is ours."""
    visitor_id = (value or "").partition(".")[0]
    if len(visitor_id) != 24 or not all(c in "0123456789abcdef" for c in visitor_id):
        return None
    return visitor_id if hmac.compare_digest(_signed(visitor_id), value or "") else None


def visitor(cookies: Mapping[str, str] | None) -> str:
    """The public-demo user name of a browser's cookies: ``visitor-<id>``; a new,
    unknown visitor for a missing or forged cookie (who sees nothing)."""
    visitor_id = _visitor_id((cookies or {}).get(VISITOR_COOKIE))
    return VISITOR_PREFIX + (visitor_id or secrets.token_hex(12))


class VisitorCookie:
    """ASGI middleware of the public demo: a request without a valid visitor
    cookie gets a new one, both in the request (so every route and Gradio event
    of it sees the same visitor) and in the response (Set-Cookie), so the
    browser is that visitor from then on. Does nothing outside demo mode."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not get_settings().demo_mode:
            await self.app(scope, receive, send)
            return
        headers = MutableHeaders(scope=scope)
        jar = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header: treated as none
            jar = SimpleCookie()
        given = jar.get(VISITOR_COOKIE)
        if _visitor_id(given.value if given else None):
            await self.app(scope, receive, send)
            return
        value = _signed(secrets.token_hex(12))
        cookies = [f"{k}={m.coded_value}" for k, m in jar.items() if k != VISITOR_COOKIE]
        headers["cookie"] = "; ".join([*cookies, f"{VISITOR_COOKIE}={value}"])
        secure = scope.get("scheme") == "https" or headers.get("x-forwarded-proto") == "https"
        # A Space shows the app in an iframe of another site: there only a
        # SameSite=None; Secure cookie is sent back.
        same_site = "None; Secure" if secure else "Lax"
        max_age = int(get_settings().demo_retention_h * 3600)
        set_cookie = (
            f"{VISITOR_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}"
        )

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", set_cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


# -- Gradio's file route ---------------------------------------------------------

_FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/")


class GradioFileGuard:
    """ASGI middleware: ``/gradio_api/file=<path>`` never serves a file inside
    STUDIO_HOME (jobs, datasets, recordings of every user). Files a tab shows
    reach the browser as copies in Gradio's cache (made when the tab's own,
    owner-checked event returns them); job outputs are links to the checked
    ``/api/v1/jobs/{id}/files/{name}`` route."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._refused(scope.get("path", "")):
            body = json.dumps(
                {
                    "detail": "Studio files are served only through routes that check who may "
                    "read them, e.g. /api/v1/jobs/{id}/files/{name}."
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _refused(path: str) -> bool:
        for route in _FILE_ROUTES:
            at = path.find(route)
            if at >= 0:
                return _inside_home(path[at + len(route) :])
        return False


def _inside_home(raw: str) -> bool:
    if "\x00" in raw:
        return True
    try:
        target = Path(os.path.abspath(raw)).resolve()
    except (OSError, RuntimeError, ValueError):
        return True
    home = get_settings().home.resolve()
    if not (target == home or home in target.parents):
        return False
    cache = _gradio_cache()
    return not (cache is not None and (target == cache or cache in target.parents))


def _gradio_cache() -> Path | None:
    """Gradio's own cache folder (allowed even if GRADIO_TEMP_DIR is put inside STUDIO_HOME)."""
    try:
        from gradio import utils as gradio_utils

        return Path(gradio_utils.get_upload_folder()).resolve()
    except Exception:  # an older Gradio: no exception for its cache
        return None
