"""Checks on what users hand the studio: server folders inside the allowed
roots, and upload sizes. Errors are ``InputError`` (a ValueError) with a
message that names the problem and what to do."""

from __future__ import annotations

from pathlib import Path

from jobs.settings import get_settings
from pipelines.errors import BadInput


class InputError(BadInput):
    pass


def server_path(text: str | Path) -> Path:
    """A file or folder on the server that the user may read: it must exist
    and lie inside one of STUDIO_ALLOWED_ROOTS (links resolved first)."""
    roots = get_settings().roots
    if not roots:
        raise InputError("Server folders are switched off. Upload the files instead, or ask the admin "
                         "to set STUDIO_ALLOWED_ROOTS.")
    raw = str(text).strip()
    if not raw:
        raise InputError("Give a server path.")
    path = Path(raw).expanduser().resolve()
    if not any(path == root or root in path.parents for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise InputError(f"{raw} is outside the allowed server folders ({allowed}).")
    if not path.exists():
        raise InputError(f"{raw} does not exist on the server.")
    return path


def check_size(path: Path, label: str | None = None) -> None:
    limit = get_settings().max_upload_mb
    size = path.stat().st_size
    if size > limit * 2**20:
        raise InputError(f"{label or path.name} is {size / 2**20:.0f} MB; the limit is {limit} MB "
                         "(STUDIO_MAX_UPLOAD_MB).")
