"""Signed frame links for the browser's review viewer.

The review tab steps through frames in the browser: it fetches
``/api/v1/review/{id}/frame/{n}?t=<token>`` by index. The token is made by the
tab's Gradio event after it checked the owner (``sign``): it names the user,
the recording and an expiry, and is signed with a key kept in
``STUDIO_HOME/secrets`` (0600; a missing, empty or short key file is replaced by a
new key). The token carries no rights: when a link is used (``user_from``) the
user it names is looked up again (still a login of the studio? an admin now?),
and the route checks that user against the recording's owner as for every request.
A REST client needs no token: it sends its Authorization header as for every route.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from jobs.access import User, user_named
from jobs.settings import get_settings

TTL_S = 12 * 3600
KEY_BYTES = 32
_keys: dict[str, bytes] = {}


def _key() -> bytes:
    folder = get_settings().home / "secrets"
    path = folder / "frame-links.key"
    cached = _keys.get(str(path))
    if cached:
        return cached
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    key = path.read_bytes()
    for _ in range(50):  # another process is writing it this very moment
        if len(key) >= KEY_BYTES:
            break
        time.sleep(0.01)
        key = path.read_bytes()
    if len(key) < KEY_BYTES:  # empty or short (truncated, hand-made): never sign with it
        key = _new_key(path)
    _keys[str(path)] = key
    return key


def _new_key(path: Path) -> bytes:
    """Write a new random key over ``path`` at once (a temporary file moved in place)."""
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    os.replace(tmp, path)
    return key


def _mac(video_id: str, name: str, expires: int) -> str:
    msg = f"link|{video_id}|{name}|{expires}".encode()
    return hmac.new(_key(), msg, hashlib.sha256).hexdigest()[:32]


def sign(video_id: str, user: User, ttl_s: int = TTL_S) -> str:
    """A link token for ``user`` and this recording (the caller checked the owner)."""
    expires = int(time.time()) + ttl_s
    raw = f"{user.name}|{expires}|{_mac(video_id, user.name, expires)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def user_from(video_id: str, token: str) -> User | None:
    """The user a token was made for, with their rights as of now, if the token is valid for
    this recording, not expired, and its user is still a login of the studio."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        name, expires, mac = raw.rsplit("|", 2)
        expiry = int(expires)
    except (ValueError, UnicodeDecodeError):
        return None
    if expiry < time.time() or not hmac.compare_digest(mac, _mac(video_id, name, expiry)):
        return None
    settings = get_settings()
    if not settings.open_studio and name not in {*settings.users, *settings.tokens.values()}:
        return None  # the login was removed since the link was made
    return user_named(name)
