"""The studio's datasets: ``STUDIO_HOME/datasets/<name>/``, photos or videos.

A name is reserved when its job is submitted (the folder is created at once,
exclusively), so two submissions with one name cannot both start: the second
gets :class:`DatasetExists` (HTTP 409). ``studio-dataset.json`` in the folder
says what it is (kind, owner, job id, options); the job writes the dataset's
files beside it.

Every read and write for a user goes through :func:`get` (the owner check of
``jobs.access``: another user's dataset is answered like a missing one, 404;
admins see all); lists through :func:`list_all` (your own; admins all, or one
user's). Only :func:`name_taken` looks across owners: names are unique in the studio.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from jobs import store
from jobs.access import User, may_access, owner_filter
from jobs.settings import get_settings
from pipelines.errors import Conflict, NotFound
from pipelines.names import DatasetNameError, validate_dataset_name

META = "studio-dataset.json"
KINDS = ("photos", "videos")

__all__ = [
    "DatasetExists",
    "DatasetNameError",
    "DatasetNotFound",
    "attach_job",
    "check_idle",
    "delete",
    "folder",
    "get",
    "latest_job",
    "list_all",
    "name_taken",
    "reserve",
]


class DatasetExists(Conflict):
    pass


class DatasetNotFound(NotFound):
    pass


def folder(name: str) -> Path:
    return get_settings().datasets_dir / validate_dataset_name(name)


def reserve(name: str, kind: str, owner: str, options: dict[str, Any] | None = None) -> Path:
    """Create the dataset's folder, or raise DatasetExists."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    path = folder(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir()
    except FileExistsError:
        raise DatasetExists(
            f"A dataset named {path.name!r} already exists; choose another name "
            "or delete the old one."
        ) from None
    _write(
        path,
        {
            "name": path.name,
            "kind": kind,
            "owner": owner,
            "created_at": time.time(),
            "job_id": None,
            "options": options or {},
        },
    )
    return path


def attach_job(name: str, job_id: str) -> None:
    path = folder(name)
    meta = _read(path)
    meta["job_id"] = job_id
    _write(path, meta)


def name_taken(name: str) -> bool:
    """Is this name used by any dataset (any owner)? Names are unique in the studio."""
    return folder(name).exists()


def get(name: str, user: User, kind: str | None = None) -> dict[str, Any]:
    """The dataset's record with its job's status and the files it holds, for ``user``
    (:class:`DatasetNotFound` for a missing dataset, another user's, or with ``kind``
    one of another kind)."""
    try:
        path = folder(name)
    except DatasetNameError:
        raise DatasetNotFound(f"No dataset named {name[:80]!r}.") from None
    if not (path / META).is_file():
        raise DatasetNotFound(f"No dataset named {name!r}. List datasets to see the names.")
    meta = _read(path)
    if not may_access(
        meta.get("owner"), user
    ):  # the one owner rule of jobs.access, answered like a missing one
        raise DatasetNotFound(f"No dataset named {name!r}. It does not exist or is not yours.")
    if kind and meta["kind"] != kind:
        raise DatasetNotFound(f"{name!r} is a {meta['kind']} dataset, not a {kind} one.")
    return _with_job(path, meta)


def _with_job(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    job = latest_job(meta)
    meta["status"] = job["status"] if job else "unknown"
    meta["progress"] = job["progress"] if job else None
    meta["path"] = str(path)
    meta["files"] = sorted(
        str(p.relative_to(path))
        for p in path.rglob("*")
        if p.is_file() and p.name != META and not p.relative_to(path).parts[0].startswith(".")
    )
    return meta


def latest_job(meta: dict[str, Any]) -> store.Job | None:
    """The dataset's latest job record, or None (never submitted, or cleaned away)."""
    if not meta.get("job_id"):
        return None
    return store.find_job(meta["job_id"])


def list_all(user: User, kind: str | None = None, owner: str | None = None) -> list[dict[str, Any]]:
    """Datasets ``user`` may see, newest first: their own; an admin's all, or ``owner``'s."""
    root = get_settings().datasets_dir
    if not root.is_dir():
        return []
    wanted = owner_filter(user, owner)
    found = []
    for path in sorted(root.iterdir()):
        if not (path / META).is_file():
            continue
        meta = _read(path)
        if (wanted is None or meta.get("owner") == wanted) and (
            kind is None or meta["kind"] == kind
        ):
            found.append(_with_job(path, meta))
    return sorted(found, key=lambda m: m["created_at"], reverse=True)


def check_idle(meta: dict[str, Any]) -> None:
    """:class:`store.JobStateError` (409) while the dataset's job is queued or running."""
    if meta["status"] in ("queued", "running"):
        raise store.JobStateError(
            f"Dataset {meta['name']!r} is still being built or edited (job "
            f"{meta['job_id']}); wait for it or cancel the job first."
        )


def delete(name: str, user: User, kind: str | None = None) -> None:
    meta = get(name, user, kind)
    check_idle(meta)
    shutil.rmtree(meta["path"])


def _read(path: Path) -> dict[str, Any]:
    return json.loads((path / META).read_text())


def _write(path: Path, meta: dict[str, Any]) -> None:
    tmp = path / f".{META}.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(path / META)
