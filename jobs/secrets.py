"""Secrets a job needs (an API key) without ever entering its params, record,
``status.json`` or log.

``hand_over(value)`` writes the value to a 0600 file in ``STUDIO_HOME/secrets``
(a 0700 folder) named by a random reference; the job's params hold only that
reference as ``api_key_ref``; the job reads it with ``read(ref)``. The file
stays while the job may still run again (re-queued after a dead worker, or
retried after a failure) and is deleted when the job succeeds or is cancelled
(``jobs.runner``), or with ``drop(ref)``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from jobs.settings import get_settings

PARAM = "api_key_ref"
KEY_BYTES = 32


def _folder() -> Path:
    folder = get_settings().home / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def _path(ref: str) -> Path:
    if not ref or not all(c in "0123456789abcdef" for c in ref):
        raise ValueError("bad secret reference")
    return _folder() / ref


def hand_over(value: str) -> str | None:
    """Store ``value``; returns the reference to put in params (None for an empty value)."""
    if not value:
        return None
    ref = secrets.token_hex(16)
    fd = os.open(_path(ref), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)
    return ref


def read(ref: str | None) -> str:
    """The stored value ("" without a reference)."""
    if not ref:
        return ""
    try:
        return _path(ref).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(
            "The API key of this job is gone (keys are deleted once a job succeeds or is "
            "cancelled, and never stored elsewhere); submit again with the key."
        ) from None


def drop(ref: str | None) -> None:
    if ref:
        _path(ref).unlink(missing_ok=True)


def signing_key(name: str) -> bytes:
    """A random 32-byte key kept in ``STUDIO_HOME/secrets/<name>.key`` (0600), made
    on first use; a file that is not 32 bytes (empty, cut short) is replaced."""
    path = _folder() / f"{name}.key"
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = b""
    if len(key) == KEY_BYTES:
        return key
    fresh = _folder() / f".{name}.{secrets.token_hex(8)}"
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(KEY_BYTES))
    try:  # the first process to make it wins: every process then signs with the same key
        os.link(fresh, path)
    except FileExistsError:
        if len(path.read_bytes()) != KEY_BYTES:  # a bad file: put the new key in its place
            os.replace(fresh, path)
    fresh.unlink(missing_ok=True)
    return path.read_bytes()
