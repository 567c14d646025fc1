"""Checks on what users hand the studio: server folders inside the allowed
roots, upload sizes and the size of job parameters. Errors are ``InputError``
(a ValueError, HTTP 422) with a message that names the problem and what to do.
(Names and one-line texts: the annotated types of ``pipelines.names``.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jobs.settings import get_settings
from pipelines.errors import BadInput, Refused

MAX_PARAMS_BYTES = 64 * 1024
MAX_PARAMS_DEPTH = 16


class InputError(BadInput):
    pass


def _allowed(path: Path) -> bool:
    return any(path == root or root in path.parents for root in get_settings().roots)


def server_path(text: str | Path) -> Path:
    """A file or folder on the server that the user may read, resolved: it
    must exist and lie inside one of STUDIO_ALLOWED_ROOTS after every link is
    followed. A relative path is taken inside the first allowed root. This is
    the one check of every server path the studio reads or writes. The public
    demo has no server paths (:class:`Refused`, 403)."""
    if get_settings().demo_mode:
        raise Refused(
            "Server folders are off in the public demo: upload your files instead. "
            "(A private studio reads server folders inside STUDIO_ALLOWED_ROOTS.)"
        )
    roots = get_settings().roots
    if not roots:
        raise InputError(
            "Server folders are switched off. Upload the files instead, or ask the admin "
            "to set STUDIO_ALLOWED_ROOTS."
        )
    raw = str(text).strip()
    if not raw:
        raise InputError("Give a server path.")
    if "\x00" in raw or len(raw) > 4096:
        raise InputError(
            "That server path is not a valid path (a NUL byte, or over 4096 characters)."
        )
    given = Path(raw).expanduser()
    if not given.is_absolute():
        given = roots[0] / given
    try:
        path = given.resolve()
    except (OSError, RuntimeError) as exc:  # a link loop, say
        raise InputError(f"{raw} cannot be resolved on the server: {exc}.") from None
    if not _allowed(path):
        allowed = ", ".join(str(r) for r in roots)
        raise InputError(
            f"{raw} is outside the allowed server folders ({allowed}); the admin sets "
            "them with STUDIO_ALLOWED_ROOTS."
        )
    if not path.exists():
        raise InputError(f"{raw} does not exist on the server.")
    return path


def server_files(
    folder: Path, suffixes: tuple[str, ...] | None = None
) -> tuple[list[Path], list[str]]:
    """Every file inside a checked server folder (recursively), each resolved
    and checked like :func:`server_path`: a link that leads outside the
    allowed roots is left out. Returns (files, skipped reasons)."""
    files: list[Path] = []
    skipped: list[str] = []
    for entry in sorted(folder.rglob("*")):
        if suffixes and entry.suffix.lower() not in suffixes:
            continue
        try:
            resolved = entry.resolve()
        except (OSError, RuntimeError):
            skipped.append(f"{entry.name}: cannot be resolved")
            continue
        if not _allowed(resolved):
            skipped.append(f"{entry.name}: a link to a place outside the allowed server folders")
            continue
        if resolved.is_file():
            files.append(resolved)
    return files, skipped


def check_size(path: Path, label: str | None = None) -> None:
    limit = get_settings().max_upload_mb
    size = path.stat().st_size
    if size > limit * 2**20:
        raise InputError(
            f"{label or path.name} is {size / 2**20:.0f} MB; the limit is {limit} MB "
            "(STUDIO_MAX_UPLOAD_MB)."
        )


def check_params(params: dict[str, Any], what: str = "params") -> dict[str, Any]:
    """Job parameters a user sent: at most 64 KB as JSON, nested at most 16 deep."""
    if _depth(params) > MAX_PARAMS_DEPTH:
        raise InputError(
            f"{what} are nested more than {MAX_PARAMS_DEPTH} levels deep; send flatter JSON."
        )
    size = len(json.dumps(params, ensure_ascii=False).encode())
    if size > MAX_PARAMS_BYTES:
        raise InputError(
            f"{what} are {size // 1024} KB as JSON; the limit is {MAX_PARAMS_BYTES // 1024} KB. "
            "Put large inputs in files."
        )
    return params


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_PARAMS_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level
