"""Dance generation records (seed 004): projects, reference assets, motion
assets, experiments and generation jobs, in ``studio.db``.

Tables as seed 004 §4 (UUID ids, JSON ``meta`` / ``config`` / ``params``,
``created_at`` / ``updated_at`` / ``finished_at`` as ISO 8601 UTC text) plus an
``owner`` on every row (the project's owner) and a few studio columns: the
motion's probed ``info``, the experiment's preprocessing job and result, the
generation job's backend. Foreign keys carry the seed's ON DELETE rules; the
records' connections do not switch SQLite's foreign-key enforcement on, so the
deletes do the cascading and the SET NULL themselves, each in one transaction
(the same result either way). The tables and their queries are in
:mod:`jobs.tools.dance.repository`; this module holds the rules (names, sizes,
owners) and the files.

Files live under ``<STEADYDANCER_DATA_DIR>/projects/{project_id}/`` (default
``STUDIO_HOME``; a project made under STUDIO_HOME before the variable was set is
still found there): ``refs/{id}/source/``,
``motions/{id}/source/``, ``experiments/{id}/input/`` (+ ``preview.mp4``),
``jobs/{id}/input/`` and ``jobs/{id}/output/``.

Every function taking a ``user`` checks ownership with
:func:`jobs.access.check_owner` (another user's object is "not found").
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobs.access import User, check_owner, owner_filter
from jobs.settings import get_settings
from jobs.tools.dance import repository as repo
from pipelines.errors import BadInput, Conflict, NotFound
from pipelines.names import has_control

NAME_MAX = 200
TEXT_MAX = 4000
META_MAX_BYTES = 16_384
# studio job status -> seed (Celery) state
STATES = {
    "queued": "PENDING",
    "running": "STARTED",
    "succeeded": "SUCCESS",
    "failed": "FAILURE",
    "cancelled": "REVOKED",
}
ACTIVE = repo.ACTIVE
JOB_TYPES = {"steadydancer": "steadydancer_i2v", "wan-animate": "wan_animate_i2v"}


# -- small helpers ----------------------------------------------------------------


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_from_ts(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


def check_uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(f"No {what} {value!r}. It does not exist or is not yours.") from None


def check_name(value: str | None, what: str = "name") -> str:
    text = (value or "").strip()
    if not text:
        raise BadInput(f"Give a {what}.")
    if len(text) > NAME_MAX:
        raise BadInput(f"The {what} is {len(text)} characters; the limit is {NAME_MAX}.")
    if has_control(text):
        raise BadInput(f"The {what} may not contain control characters or line breaks.")
    return text


def check_text(value: str | None, what: str = "description") -> str | None:
    if value is None:
        return None
    if len(value) > TEXT_MAX:
        raise BadInput(f"The {what} is {len(value)} characters; the limit is {TEXT_MAX}.")
    if has_control(value, multiline=True):
        raise BadInput(f"The {what} may not contain control characters.")
    return value


def check_meta(meta: dict | None) -> dict | None:
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise BadInput("meta must be a JSON object.")
    if len(json.dumps(meta)) > META_MAX_BYTES:
        raise BadInput(f"meta is larger than {META_MAX_BYTES // 1024} KB.")
    prompt = meta.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or len(prompt) > TEXT_MAX):
        raise BadInput(f"meta.prompt must be text of at most {TEXT_MAX} characters.")
    return meta


def _changes(fields: dict[str, Any], allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    """The checked columns a PATCH changes (name, description, meta: the same rules
    as on creation), with ``updated_at``; BadInput when there is nothing to change."""
    changes: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in allowed:
            raise BadInput(f"A {what}'s {key} cannot be changed; give {' or '.join(allowed)}.")
        if key == "name":
            changes[key] = check_name(value, f"{what} name")
        elif key == "description":
            changes[key] = check_text(value)
        else:
            changes[key] = check_meta(value)
    if not changes:
        raise BadInput(f"Give the {what}'s {' or '.join(allowed)} to change.")
    return {**changes, "updated_at": now_iso()}


def _one(table: str, row_id: str) -> dict | None:
    return repo.one(table, row_id)


# -- folders --------------------------------------------------------------------------


def data_dir() -> Path:
    """STEADYDANCER_DATA_DIR (seed 004), resolved; STUDIO_HOME when unset."""
    settings = get_settings()
    return (settings.steadydancer_data_dir or settings.home).resolve()


def projects_root() -> Path:
    return data_dir() / "projects"


def project_dir(project_id: str) -> Path:
    """``<STEADYDANCER_DATA_DIR>/projects/{project_id}``. A project made before
    STEADYDANCER_DATA_DIR was set (or changed) stays where it is: its folder under
    ``STUDIO_HOME/projects`` is used while the data folder has none (nothing is moved)."""
    folder = projects_root() / project_id
    if not folder.exists():
        before = get_settings().home / "projects" / project_id
        if before != folder and before.is_dir():
            return before
    return folder


def ref_dir(project_id: str, ref_id: str) -> Path:
    return project_dir(project_id) / "refs" / ref_id


def motion_dir(project_id: str, motion_id: str) -> Path:
    return project_dir(project_id) / "motions" / motion_id


def experiment_dir(project_id: str, experiment_id: str) -> Path:
    return project_dir(project_id) / "experiments" / experiment_id


def generation_dir(project_id: str, job_id: str) -> Path:
    return project_dir(project_id) / "jobs" / job_id


# -- projects -------------------------------------------------------------------------


def create_project(user: User, name: str, description: str | None = None) -> dict:
    name = check_name(name, "project name")
    description = check_text(description)
    now = now_iso()
    row: dict[str, Any] = {
        "id": new_id(),
        "owner": user.name,
        "name": name,
        "description": description,
        "created_at": now,
        "updated_at": now,
    }
    if not repo.add_project(row):
        raise Conflict(
            f"You already have a project named {name!r}; pick another name or open that one."
        )
    project_dir(row["id"]).mkdir(parents=True, exist_ok=True)
    return row


def get_project(user: User, project_id: str) -> dict:
    row = _one("projects", check_uuid(project_id, "project"))
    if row is None:
        raise NotFound(f"No project {project_id}. It does not exist or is not yours.")
    check_owner(row["owner"], user, f"project {project_id}")
    return row


def list_projects(
    user: User, owner: str | None = None, limit: int | None = None, offset: int = 0
) -> list[dict]:
    """The user's projects (admins: all, or ``owner``'s), newest first, a page."""
    return repo.list_projects(owner_filter(user, owner), limit, offset)


def edit_project(user: User, project_id: str, fields: dict[str, Any]) -> dict:
    """Rename or re-describe a project (names stay unique among its owner's)."""
    project = get_project(user, project_id)
    changes = _changes(fields, ("name", "description"), "project")
    if not repo.change_project(project["id"], project["owner"], changes):
        raise Conflict(f"You already have a project named {changes['name']!r}; pick another name.")
    return _one("projects", project["id"])  # type: ignore[return-value]


def active_job_ids(project_id: str, experiment_id: str | None = None) -> list[str]:
    """Studio job ids of the project's (or experiment's) jobs still queued or running,
    preprocessing included."""
    return repo.active_job_ids(project_id, experiment_id)


def delete_project(user: User, project_id: str) -> None:
    project = get_project(user, project_id)
    if active_job_ids(project["id"]):
        raise Conflict(
            f"Project {project['name']!r} has jobs queued or running; cancel them first."
        )
    repo.delete_project(project["id"])
    shutil.rmtree(project_dir(project["id"]), ignore_errors=True)


def touch_project(project_id: str) -> None:
    repo.touch_project(project_id, now_iso())


# -- assets ---------------------------------------------------------------------------

ASSETS = {
    "ref": ("reference_assets", "image_path", "reference", ref_dir),
    "motion": ("motion_assets", "video_path", "motion", motion_dir),
}


def add_asset(
    kind: str,
    user: User,
    project_id: str,
    name: str,
    source: Path,
    meta: dict | None = None,
    filename: str | None = None,
    move: bool = False,
    info: dict | None = None,
) -> dict:
    """Copy (or move) ``source`` into ``{refs|motions}/{id}/source/`` and record it."""
    table, column, what, folder_of = ASSETS[kind]
    project = get_project(user, project_id)
    name = check_name(name, f"{what} name")
    meta = check_meta(meta)
    asset_id = new_id()
    target_dir = folder_of(project["id"], asset_id) / "source"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / _safe_filename(filename or source.name)
    if move:
        shutil.move(str(source), target)
    else:
        shutil.copyfile(source, target)
    now = now_iso()
    row = {
        "id": asset_id,
        "project_id": project["id"],
        "owner": project["owner"],
        "name": name,
        column: str(target),
        "meta": meta,
        "created_at": now,
        "updated_at": now,
    }
    if kind == "motion":
        row["info"] = info
    repo.add(table, row)
    touch_project(project["id"])
    return _one(table, asset_id)  # type: ignore[return-value]


def _safe_filename(name: str) -> str:
    name = Path(name).name
    name = re.sub(r"[^\w.\-]+", "_", name).strip("._") or "file"
    return name[-120:]


def get_asset(kind: str, user: User, project_id: str, asset_id: str) -> dict:
    table, _, what, _ = ASSETS[kind]
    project = get_project(user, project_id)
    row = _one(table, check_uuid(asset_id, what))
    if row is None or row["project_id"] != project["id"]:
        raise NotFound(
            f"No {what} {asset_id} in project {project_id}. It does not exist or is not yours."
        )
    check_owner(row["owner"], user, f"{what} {asset_id}")
    return row


def list_assets(
    kind: str, user: User, project_id: str, limit: int | None = None, offset: int = 0
) -> list[dict]:
    table = ASSETS[kind][0]
    project = get_project(user, project_id)
    return repo.of_project(table, project["id"], None, limit, offset)


def edit_asset(
    kind: str, user: User, project_id: str, asset_id: str, fields: dict[str, Any]
) -> dict:
    """Rename a reference or motion, or change its meta (meta.prompt: the prompt of
    experiments prepared from now on)."""
    table, _, what, _ = ASSETS[kind]
    asset = get_asset(kind, user, project_id, asset_id)
    repo.change(table, asset["id"], _changes(fields, ("name", "meta"), what))
    touch_project(asset["project_id"])
    return _one(table, asset["id"])  # type: ignore[return-value]


def delete_asset(kind: str, user: User, project_id: str, asset_id: str) -> None:
    """Delete an asset and its files; experiments keep their prepared input and
    lose the link (ON DELETE SET NULL)."""
    table, _, what, folder_of = ASSETS[kind]
    asset = get_asset(kind, user, project_id, asset_id)
    if repo.preparing_from(table, asset["id"]):
        raise Conflict(
            f"An experiment is being prepared from {what} {asset['name']!r}; wait for it or cancel it."
        )
    repo.delete_asset(table, asset["id"], now_iso())
    shutil.rmtree(folder_of(asset["project_id"], asset["id"]), ignore_errors=True)


# -- experiments ------------------------------------------------------------------------


def insert_experiment(
    project: dict,
    name: str,
    description: str | None,
    reference_id: str | None,
    motion_id: str | None,
    config: dict,
    source_input_dir: str | None,
) -> dict:
    experiment_id = new_id()
    now = now_iso()
    row = {
        "id": experiment_id,
        "project_id": project["id"],
        "reference_id": reference_id,
        "motion_id": motion_id,
        "owner": project["owner"],
        "name": check_name(name, "experiment name"),
        "description": check_text(description),
        "input_dir": str(experiment_dir(project["id"], experiment_id) / "input"),
        "config": config,
        "source_input_dir": source_input_dir,
        "preprocess_job_id": None,
        "preprocess": None,
        "created_at": now,
        "updated_at": now,
    }
    experiment_dir(project["id"], experiment_id).mkdir(parents=True, exist_ok=True)
    repo.add("experiments", row)
    touch_project(project["id"])
    return _one("experiments", experiment_id)  # type: ignore[return-value]


def experiment_row(experiment_id: str) -> dict:
    row = _one("experiments", experiment_id)
    if row is None:
        raise NotFound(f"No experiment {experiment_id}. It was deleted.")
    return row


def get_experiment(user: User, project_id: str, experiment_id: str) -> dict:
    project = get_project(user, project_id)
    row = _one("experiments", check_uuid(experiment_id, "experiment"))
    if row is None or row["project_id"] != project["id"]:
        raise NotFound(
            f"No experiment {experiment_id} in project {project_id}. It does not exist or is not yours."
        )
    check_owner(row["owner"], user, f"experiment {experiment_id}")
    return row


def list_experiments(
    user: User, project_id: str, limit: int | None = None, offset: int = 0
) -> list[dict]:
    project = get_project(user, project_id)
    return repo.of_project("experiments", project["id"], None, limit, offset)


def update_experiment(experiment_id: str, **fields: Any) -> dict:
    fields["updated_at"] = now_iso()
    repo.change("experiments", experiment_id, fields)
    return experiment_row(experiment_id)


def edit_experiment(
    user: User, project_id: str, experiment_id: str, fields: dict[str, Any]
) -> dict:
    """Rename or re-describe an experiment."""
    experiment = get_experiment(user, project_id, experiment_id)
    repo.change(
        "experiments", experiment["id"], _changes(fields, ("name", "description"), "experiment")
    )
    touch_project(experiment["project_id"])
    return experiment_row(experiment["id"])


def delete_experiment(user: User, project_id: str, experiment_id: str) -> None:
    experiment = get_experiment(user, project_id, experiment_id)
    if active_job_ids(experiment["project_id"], experiment["id"]):
        raise Conflict(
            f"Experiment {experiment['name']!r} has jobs queued or running; cancel them first."
        )
    repo.delete_experiment(experiment["id"], now_iso())
    shutil.rmtree(experiment_dir(experiment["project_id"], experiment["id"]), ignore_errors=True)


# -- generation jobs ----------------------------------------------------------------------


def insert_generation_job(
    job_id: str,
    project: dict,
    experiment_id: str | None,
    task_id: str,
    backend: str,
    input_dir: str,
    params: dict,
) -> dict:
    now = now_iso()
    row = {
        "id": job_id,
        "project_id": project["id"],
        "experiment_id": experiment_id,
        "owner": project["owner"],
        "task_id": task_id,
        "job_type": JOB_TYPES[backend],
        "backend": backend,
        "status": "PENDING",
        "input_dir": input_dir,
        "params": params,
        "success": None,
        "result_video_path": None,
        "error_message": None,
        "created_at": now,
        "updated_at": now,
        "finished_at": None,
    }
    repo.add("generation_jobs", row)
    touch_project(project["id"])
    return _one("generation_jobs", job_id)  # type: ignore[return-value]


def generation_row(job_id: str) -> dict | None:
    return _one("generation_jobs", job_id)


def get_generation_job(user: User, project_id: str, job_id: str) -> dict:
    project = get_project(user, project_id)
    row = _one("generation_jobs", check_uuid(job_id, "job"))
    if row is None or row["project_id"] != project["id"]:
        raise NotFound(
            f"No job {job_id} in project {project_id}. It does not exist or is not yours."
        )
    check_owner(row["owner"], user, f"job {job_id}")
    return row


def list_generation_jobs(
    user: User,
    project_id: str,
    experiment_id: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict]:
    project = get_project(user, project_id)
    return repo.of_project("generation_jobs", project["id"], experiment_id, limit, offset)


def generation_rows(project_id: str, experiment_id: str | None = None) -> list[dict]:
    """A project's (or experiment's) generation rows, without an owner check (the
    caller has checked the project)."""
    return repo.of_project("generation_jobs", project_id, experiment_id)


def forget_generation_job(job_id: str) -> None:
    """Drop a generation row whose job could not be submitted (no files kept)."""
    repo.delete_generation_job(job_id)


def update_generation_job(job_id: str, **fields: Any) -> None:
    fields["updated_at"] = now_iso()
    repo.change("generation_jobs", job_id, fields)


def delete_generation_job(
    user: User, project_id: str, job_id: str, task_status: str | None
) -> None:
    row = get_generation_job(user, project_id, job_id)
    if task_status in ACTIVE:
        raise Conflict(f"Job {job_id} is {STATES[task_status]}; cancel it first.")
    repo.delete_generation_job(row["id"])
    shutil.rmtree(generation_dir(row["project_id"], row["id"]), ignore_errors=True)
