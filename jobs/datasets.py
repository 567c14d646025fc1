"""The studio's datasets: ``STUDIO_HOME/datasets/<name>/``, photos or videos.

A name is reserved when its job is submitted (the folder is created at once,
exclusively), so two submissions with one name cannot both start: the second
gets :class:`DatasetExists` (HTTP 409). ``studio-dataset.json`` in the folder
says what it is (kind, owner, job id, options); the job writes the dataset's
files beside it.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from jobs import store
from jobs.settings import get_settings
from pipelines.errors import Conflict, NotFound
from pipelines.names import DatasetNameError, validate_dataset_name

META = "studio-dataset.json"
KINDS = ("photos", "videos")

__all__ = ["DatasetExists", "DatasetNameError", "DatasetNotFound", "reserve", "attach_job", "get", "list_all",
           "delete", "folder"]


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
        raise DatasetExists(f"A dataset named {path.name!r} already exists; choose another name "
                            "or delete the old one.") from None
    _write(path, {"name": path.name, "kind": kind, "owner": owner, "created_at": time.time(),
                  "job_id": None, "options": options or {}})
    return path


def attach_job(name: str, job_id: str) -> None:
    path = folder(name)
    meta = _read(path)
    meta["job_id"] = job_id
    _write(path, meta)


def get(name: str, kind: str | None = None) -> dict[str, Any]:
    """The dataset's record with its job's status and the files it holds;
    with ``kind``, a dataset of another kind counts as not found."""
    try:
        path = folder(name)
    except DatasetNameError:
        raise DatasetNotFound(f"No dataset named {name!r}.") from None
    if not (path / META).is_file():
        raise DatasetNotFound(f"No dataset named {name!r}. List datasets to see the names.")
    meta = _read(path)
    if kind and meta["kind"] != kind:
        raise DatasetNotFound(f"{name!r} is a {meta['kind']} dataset, not a {kind} one.")
    job = None
    if meta.get("job_id"):
        try:
            job = store.get_job(meta["job_id"])
        except store.JobNotFound:
            job = None
    meta["status"] = job["status"] if job else "unknown"
    meta["progress"] = job["progress"] if job else None
    meta["path"] = str(path)
    meta["files"] = sorted(str(p.relative_to(path)) for p in path.rglob("*")
                           if p.is_file() and p.name != META and not p.relative_to(path).parts[0].startswith("."))
    return meta


def list_all(kind: str | None = None) -> list[dict[str, Any]]:
    root = get_settings().datasets_dir
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.iterdir()):
        if (path / META).is_file():
            meta = get(path.name)
            if kind is None or meta["kind"] == kind:
                found.append(meta)
    return sorted(found, key=lambda m: m["created_at"], reverse=True)


def delete(name: str) -> None:
    meta = get(name)
    if meta["status"] in ("queued", "running"):
        raise store.JobStateError(f"Dataset {name!r} is still being built (job {meta['job_id']}); "
                                  "cancel the job first.")
    shutil.rmtree(meta["path"])


def _read(path: Path) -> dict[str, Any]:
    return json.loads((path / META).read_text())


def _write(path: Path, meta: dict[str, Any]) -> None:
    tmp = path / f".{META}.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(path / META)
