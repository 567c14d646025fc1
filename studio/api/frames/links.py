"""Signed frame links for the browser's review viewer.

The review tab steps through frames in the browser: it fetches
``/api/v1/review/{id}/frame/{n}?t=<token>`` by index. The token is made by the
tab's Gradio event after it checked the owner (``sign``): it names the user,
the recording and an expiry, and is signed with a key kept in
``STUDIO_HOME/secrets`` (0600). A REST client needs no token: it sends its
Authorization header as for every route.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time

from jobs.access import User
from jobs.settings import get_settings

TTL_S = 12 * 3600
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
        if len(key) == 32:
            break
        time.sleep(0.01)
        key = path.read_bytes()
    _keys[str(path)] = key
    return key


def _mac(video_id: str, name: str, admin: int, expires: int) -> str:
    msg = f"{video_id}|{name}|{admin}|{expires}".encode()
    return hmac.new(_key(), msg, hashlib.sha256).hexdigest()[:32]


def sign(video_id: str, user: User, ttl_s: int = TTL_S) -> str:
    expires = int(time.time()) + ttl_s
    admin = int(user.is_admin)
    raw = f"{user.name}|{admin}|{expires}|{_mac(video_id, user.name, admin, expires)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def user_from(video_id: str, token: str) -> User | None:
    """The user a token was made for, if it is valid for this recording and not expired."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        name, admin, expires, mac = raw.rsplit("|", 3)
        admin_flag, expiry = int(admin), int(expires)
    except (ValueError, UnicodeDecodeError):
        return None
    if expiry < time.time() or not hmac.compare_digest(
        mac, _mac(video_id, name, admin_flag, expiry)
    ):
        return None
    return User(name, bool(admin_flag))
