"""Who is asking: UI login (STUDIO_AUTH), REST bearer tokens
(STUDIO_API_TOKENS, or HTTP Basic with a UI login), admins (STUDIO_ADMINS).

With no logins configured the studio is open: everyone is ``anonymous`` and
may act on every job (a single-user or Space-style install).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from fastapi import HTTPException, Request

from jobs.access import ANONYMOUS, User
from jobs.settings import get_settings

__all__ = ["ANONYMOUS", "User", "api_user", "auth_enabled", "check_login", "user_named"]


def auth_enabled() -> bool:
    settings = get_settings()
    return bool(settings.users or settings.tokens)


def user_named(name: str | None) -> User:
    settings = get_settings()
    if not auth_enabled():
        return User(name or ANONYMOUS, True)
    name = name or ANONYMOUS
    return User(name, name in settings.admin_users)


def check_login(username: str, password: str) -> bool:
    expected = get_settings().users.get(username)
    return expected is not None and secrets.compare_digest(expected, password)


def api_user(request: Request) -> User:
    """FastAPI dependency: the REST caller, or 401 with what to send."""
    if not auth_enabled():
        return user_named(None)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        for token, name in get_settings().tokens.items():
            if secrets.compare_digest(token, value.strip()):
                return user_named(name)
    elif scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = password = ""
        if check_login(username, password):
            return user_named(username)
    raise HTTPException(401, "Send 'Authorization: Bearer <token>' (a token of STUDIO_API_TOKENS) "
                             "or HTTP Basic with a studio login.",
                        headers={"WWW-Authenticate": "Bearer"})
