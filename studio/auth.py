"""Who is asking: UI login (STUDIO_AUTH), REST bearer tokens
(STUDIO_API_TOKENS, or HTTP Basic with a UI login, or — for downloads — the
UI's own login cookie), admins (STUDIO_ADMINS).

With no logins configured the studio is open: everyone is ``anonymous`` and
an admin (a single-user or Space-style install); such a studio runs no
scenario scripts unless STUDIO_ALLOW_SCENARIO_SCRIPTS=1.

:class:`GradioFileGuard` keeps Gradio's ``/gradio_api/file=`` route away from
the studio's data folder: a user's files are served only through routes that
check the owner (``/api/v1/jobs/{id}/files/...``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from jobs.access import ANONYMOUS, User, user_named
from jobs.settings import get_settings

__all__ = [
    "ANONYMOUS",
    "GradioFileGuard",
    "User",
    "api_user",
    "auth_enabled",
    "check_login",
    "user_named",
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
