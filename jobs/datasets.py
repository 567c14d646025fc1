"""The studio's datasets: ``STUDIO_HOME/datasets/<owner>/<name>/``, photos or videos.

Names are per owner: two users can each have ``v1``. A name is reserved when its
job is submitted (the folder is created at once, exclusively), so two submissions
of one owner with one name cannot both start: the second gets :class:`DatasetExists`
(HTTP 409). Each dataset is a row (``jobs.datasets_repository``: its record id, kind,
owner, job id, options), inserted in one transaction with the folder's creation;
the job writes the dataset's files in the folder.

A user names datasets in their own namespace: :func:`get`, :func:`exists` and
:func:`reserve` never look at another owner's folder, so another user's dataset
answers exactly like a missing one (404, "free" on the name check, no 409). An
admin reaches another user's dataset by naming its owner (``owner=``); lists go
through :func:`list_all` (your own; admins all, or one user's).

A job is bound to the record it was submitted for, not to its name: its params
hold :data:`REF` (the record's id, owner and name, from :func:`ref`).
:func:`bound_folder` checks that binding again when the job runs and when it is
retried (the kinds register it as their ``check``): a dataset deleted since, or
made again under the same name, is a different record, and the job stops
instead of touching it.

Before per-owner names the layout was ``datasets/<name>/``; the records
revision ``0002`` moves such folders under their owner and binds their jobs, and
``0003`` turns their ``studio-dataset.json`` sidecars into rows (the files are kept).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from jobs import datasets_repository as repo
from jobs import store
from jobs.access import User, may_access, owner_filter
from jobs.registry import Model, TabGroup
from jobs.settings import get_settings
from pipelines.errors import Conflict, NotFound
from pipelines.names import DatasetNameError, validate_dataset_name

META = "studio-dataset.json"  # the sidecar of older studios (revision 0003 made it a row)
KINDS = ("photos", "videos")
REF = "dataset_ref"  # the job param binding a job to its dataset record

__all__ = [
    "REF",
    "DatasetExists",
    "DatasetGone",
    "DatasetNameError",
    "DatasetNotFound",
    "attach_job",
    "bound_folder",
    "check_idle",
    "delete",
    "exists",
    "folder",
    "get",
    "latest_job",
    "list_all",
    "record",
    "ref",
    "reserve",
    "still_bound",
]


class DatasetExists(Conflict):
    pass


class DatasetNotFound(NotFound):
    pass


class DatasetGone(Conflict):
    """The dataset a job was submitted for is gone or is another record now (409)."""


_PLAIN_OWNER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}")


def owner_dir(owner: str) -> str:
    """The folder name of ``owner``'s datasets: a plain login name as it is,
    any other name as a digest (never a path part like ``..``)."""
    if _PLAIN_OWNER.fullmatch(owner):
        return owner
    return "~" + hashlib.sha256(owner.encode()).hexdigest()[:32]


def _root() -> Path:
    return get_settings().datasets_dir


def folder(name: str, owner: str) -> Path:
    """``owner``'s folder for the dataset ``name`` (DatasetNameError for a bad name)."""
    return _root() / owner_dir(owner) / validate_dataset_name(name)


def reserve(name: str, kind: str, owner: str, options: dict[str, Any] | None = None) -> Path:
    """Create ``owner``'s dataset folder, or raise DatasetExists (only ``owner``'s own names count)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    path = folder(name, owner)
    taken = DatasetExists(
        f"A dataset named {path.name!r} already exists among yours; choose another "
        "name or delete the old one."
    )
    row = {
        "id": uuid.uuid4().hex,
        "name": path.name,
        "kind": kind,
        "owner": owner,
        "created_at": time.time(),
        "job_id": None,
        "options": options or {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with repo.insert(row, taken):
        try:
            path.mkdir()  # a folder left without a record blocks the name too
        except FileExistsError:
            raise taken from None
    return path


def unreserve(path: Path) -> None:
    """Undo :func:`reserve` of a dataset whose job could not be submitted: its
    record and its folder go, so the name is free again."""
    try:
        repo.delete(_read(path)["id"])
    except DatasetGone:
        pass
    shutil.rmtree(path, ignore_errors=True)


def ref(path: Path) -> dict[str, str]:
    """The binding of a job to the dataset record in ``path``: put it in the job's params as :data:`REF`."""
    meta = _read(path)
    return {"id": meta["id"], "owner": meta["owner"], "name": meta["name"]}


def bound_folder(params: dict[str, Any]) -> Path:
    """The folder of the dataset record a job was submitted for, checked now: the one
    check of every dataset job when it runs and when it is retried. :class:`DatasetGone`
    (409) when the job has no binding, or the record was deleted or made again since."""
    bound = params.get(REF)
    if not isinstance(bound, dict) or not bound.get("id"):
        raise DatasetGone(
            "This job is not bound to a dataset record (it was made by an older studio); "
            "submit the dataset again."
        )
    name = str(bound.get("name", ""))
    path: Path | None
    try:
        path = folder(name, str(bound.get("owner", "")))
    except DatasetNameError:
        path = None
    row = repo.by_name(str(bound.get("owner", "")), name) if path is not None else None
    if path is None or row is None or row["id"] != bound["id"] or not path.is_dir():
        raise DatasetGone(
            f"The dataset {name[:80]!r} this job was made for was deleted (a dataset of that "
            "name now is another one); submit the dataset again instead of retrying."
        )
    return path


def still_bound(job: store.Job) -> None:
    """A dataset job's retry check (its kind's ``check``): :func:`bound_folder` of its params."""
    bound_folder(job["params"])


def attach_job(path: Path, job_id: str) -> None:
    """Record ``job_id`` as the latest job of the dataset in ``path``."""
    repo.set_job(_read(path)["id"], job_id)


def record(name: str, owner: str) -> dict[str, Any] | None:
    """``owner``'s dataset row of this name (no job, no files), or None (a bad name too)."""
    try:
        return repo.by_name(owner, folder(name, owner).name)
    except DatasetNameError:
        return None


def exists(name: str, owner: str) -> bool:
    """Has ``owner`` a dataset of this name? Other owners' names are not looked at."""
    path = folder(name, owner)
    return repo.by_name(owner, path.name) is not None or path.exists()


def get(name: str, user: User, kind: str | None = None, owner: str | None = None) -> dict[str, Any]:
    """The dataset's record with its job's status and the files it holds: ``user``'s own,
    or with ``owner`` that user's (admins only). :class:`DatasetNotFound` for a missing
    dataset, another user's, or with ``kind`` one of another kind: all the same answer."""
    owner = owner or user.name
    missing = f"No dataset named {name[:80]!r}. List your datasets to see the names."
    if not may_access(
        owner, user
    ):  # the one owner rule of jobs.access, answered like a missing one
        raise DatasetNotFound(missing)
    try:
        path = folder(name, owner)
    except DatasetNameError:
        raise DatasetNotFound(missing) from None
    meta = repo.by_name(owner, path.name)
    if meta is None:
        raise DatasetNotFound(missing)
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
    rows = repo.listed(owner_filter(user, owner), kind)
    return [_with_job(folder(row["name"], row["owner"]), row) for row in rows]


def check_idle(meta: dict[str, Any]) -> None:
    """:class:`store.JobStateError` (409) while the dataset's job is queued or running."""
    if meta["status"] in ("queued", "running"):
        raise store.JobStateError(
            f"Dataset {meta['name']!r} is still being built or edited (job "
            f"{meta['job_id']}); wait for it or cancel the job first."
        )


def delete(name: str, user: User, kind: str | None = None, owner: str | None = None) -> None:
    meta = get(name, user, kind, owner)
    check_idle(meta)
    if Path(meta["path"]).exists():
        shutil.rmtree(meta["path"])
    repo.delete(meta["id"])


def _read(path: Path) -> dict[str, Any]:
    """The record of the dataset in the folder ``path`` (``<owner>/<name>``)."""
    for row in repo.named(path.name):
        if owner_dir(row["owner"]) == path.parent.name:
            return row
    raise DatasetGone(f"The dataset {path.name[:80]!r} was deleted; submit it again.")


# The top tab whose sub-tabs are the two dataset tools' tabs (photo_dataset, video_dataset).
DATASET_BUILDER = TabGroup("Dataset builder", "tab-dataset")

# The local caption models both dataset tools use by default (declared with each tool).
CAPTION_MODEL = Model(
    "caption",
    "Florence-2 base",
    "captions (local provider, default model)",
    hub_id="florence-community/Florence-2-base",
    size=930_000_000,
)
PROMPTGEN_MODEL = Model(
    "caption_tags",
    "Florence-2 PromptGen v2.0",
    "captions: the Tags preset",
    hub_id="MiaoshouAI/Florence-2-base-PromptGen-v2.0",
    size=1_100_000_000,
)
