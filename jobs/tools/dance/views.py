"""What the REST API and the tab show of dance records: seed 004's response
fields (plus the studio's: owner, progress, preprocessing state), the job state
in seed words read from the studio job, and the result object kept in the
studio job's ``result.json``."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jobs import store
from jobs.access import User
from jobs.tools.dance import records as rec
from pipelines.errors import NotFound

RESULT_FILE = "result.json"


def _task(task_id: str | None) -> dict | None:
    if not task_id:
        return None
    job = store.find_job(task_id)
    return dict(job) if job is not None else None


def _progress_fields(task: dict | None) -> dict:
    if task is None:
        return {"stage": None, "percent": 0, "eta_s": None, "message": None, "error": None}
    return {
        "stage": task.get("stage"),
        "percent": round(100 * (task.get("progress") or 0)),
        "eta_s": task.get("eta_s") if task["status"] == "running" else None,
        "message": task.get("message"),
        "error": task.get("error"),
    }


def project_view(row: dict) -> dict:
    return {k: row[k] for k in ("id", "name", "description", "owner", "created_at", "updated_at")}


def reference_view(row: dict) -> dict:
    return {
        k: row[k]
        for k in (
            "id",
            "project_id",
            "name",
            "image_path",
            "meta",
            "owner",
            "created_at",
            "updated_at",
        )
    }


def motion_view(row: dict) -> dict:
    return {
        k: row.get(k)
        for k in (
            "id",
            "project_id",
            "name",
            "video_path",
            "meta",
            "info",
            "owner",
            "created_at",
            "updated_at",
        )
    }


def preview_path(experiment: dict) -> Path:
    return rec.experiment_dir(experiment["project_id"], experiment["id"]) / "preview.mp4"


def experiment_view(row: dict) -> dict:
    task = _task(row.get("preprocess_job_id"))
    state = rec.STATES[task["status"]] if task else None
    preview = preview_path(row)
    return {
        "id": row["id"],
        "project_id": row["project_id"],
        "reference_id": row["reference_id"],
        "motion_id": row["motion_id"],
        "name": row["name"],
        "description": row["description"],
        "input_dir": row["input_dir"],
        "config": row["config"],
        "source_input_dir": row["source_input_dir"],
        "owner": row["owner"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "ready": state == "SUCCESS",
        "preprocess": {
            "state": state,
            "job_id": row.get("preprocess_job_id"),
            **_progress_fields(task),
            "result": row.get("preprocess"),
        },
        "preview_path": str(preview) if state == "SUCCESS" and preview.is_file() else None,
    }


def read_result(task_id: str) -> dict | None:
    path = store.job_dir(task_id) / RESULT_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _state_and_result(task: dict | None) -> tuple[str, dict | None]:
    if task is None:
        return "PENDING", None
    state = rec.STATES[task["status"]]
    if state in ("PENDING", "STARTED"):
        return state, None
    result = read_result(task["id"])
    if result is None:  # ended before the body wrote one (worker lost, cancelled while queued)
        result = {
            "success": False,
            "video_path": None,
            "stdout": "",
            "return_code": None,
            "stderr": task.get("error") or task.get("message") or "",
        }
    public = {
        k: result.get(k) for k in ("success", "video_path", "stdout", "stderr", "return_code")
    }
    return state, {**public, **{k: v for k, v in result.items() if k not in public}}


def generation_ended(job: store.Job, status: str) -> None:
    """``on_end`` of ``dance.generate``: the generation's row (the seed's columns)
    takes the job's end, once, when it ends; the GET views only read."""
    row_id = job["params"].get("generation_job_id")
    row = rec.generation_row(row_id) if row_id else None
    if row is None:  # a job without a project, or its row was deleted
        return
    task = dict(job)
    state, result = _state_and_result(task)
    _write_end(row, state, result, task)


def _write_end(row: dict, state: str, result: dict | None, task: dict | None) -> dict:
    """Mirror the studio job into the row (seed columns) when they differ."""
    fields: dict[str, Any] = {}
    if row["status"] != state:
        fields["status"] = state
    if result is not None:
        video = result.get("video_path") if result.get("success") else None
        success = bool(result.get("success"))
        if row["success"] != success or row["result_video_path"] != video:
            fields.update(
                success=success,
                result_video_path=video,
                error_message=None
                if success
                else (result.get("error") or (task or {}).get("error")),
            )
        if row["finished_at"] is None and task and task.get("finished_at"):
            fields["finished_at"] = rec.iso_from_ts(task["finished_at"])
    if fields:
        rec.update_generation_job(row["id"], **fields)
        row = {**row, **fields}
    return row


def job_status_view(row: dict) -> dict:
    """Seed's ProjectJobStatus (+ progress: stage, percent, eta_s …)."""
    task = _task(row["task_id"])
    state, result = _state_and_result(task)
    return {
        "project_id": row["project_id"],
        "job_id": row["id"],
        "task_id": row["task_id"],
        "state": state,
        "result": result,
        "experiment_id": row["experiment_id"],
        "job_type": row["job_type"],
        "backend": row["backend"],
        "status": state,
        **_progress_fields(task),
        "result_video_path": row["result_video_path"],
        "params": row["params"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "finished_at": row["finished_at"],
    }


def job_summary_view(row: dict) -> dict:
    """Seed's ProjectJobSummary (+ backend, progress, seed, times)."""
    task = _task(row["task_id"])
    state, _ = _state_and_result(task)
    config = (row.get("params") or {}).get("config") or {}
    return {
        "id": row["id"],
        "project_id": row["project_id"],
        "experiment_id": row["experiment_id"],
        "task_id": row["task_id"],
        "job_type": row["job_type"],
        "status": state,
        "result_video_path": row["result_video_path"],
        "backend": row["backend"],
        "percent": _progress_fields(task)["percent"],
        "stage": _progress_fields(task)["stage"],
        "base_seed": config.get("base_seed"),
        "created_at": row["created_at"],
        "finished_at": row["finished_at"],
    }


def task_status_view(task: dict) -> dict:
    state, result = _state_and_result(task)
    return {"task_id": task["id"], "state": state, "result": result, **_progress_fields(task)}


def unknown_task_view(task_id: str) -> dict:
    """What Celery answers for a task id it has not seen: PENDING, no result."""
    state, result = _state_and_result(None)
    return {"task_id": task_id, "state": state, "result": result, **_progress_fields(None)}


def file_name(parts: list[str | None], suffix: str) -> str:
    """A download's file name from its parts (names and ids): safe characters only."""
    text = "_".join(p for p in parts if p)
    return re.sub(r"[^\w.\-]+", "-", text).strip("-")[:150] + suffix


def download_name(row: dict) -> str:
    """A file name for a job's video: project, experiment, seed, job."""
    project = rec._one("projects", row["project_id"]) or {}
    experiment = rec._one("experiments", row["experiment_id"]) if row.get("experiment_id") else None
    seed = ((row.get("params") or {}).get("config") or {}).get("base_seed")
    parts = [
        project.get("name") or "dance",
        experiment["name"] if experiment else None,
        f"seed{seed}" if seed is not None else None,
        row["id"][:8],
    ]
    return file_name(parts, ".mp4")


def asset_file(kind: str, user: User, project_id: str, asset_id: str) -> tuple[Path, str]:
    """A reference's image or a motion's video (its source file) for download."""
    row = rec.get_asset(kind, user, project_id, asset_id)
    path = Path(row["image_path" if kind == "ref" else "video_path"])
    if not path.is_file():
        raise NotFound(f"The file of {row['name']!r} is no longer on disk ({path.name}).")
    return path, path.name


def pair_folder(user: User, project_id: str, experiment_id: str) -> tuple[Path, str]:
    """An experiment's prepared input folder (the pair folder) and a name for its ZIP."""
    row = rec.get_experiment(user, project_id, experiment_id)
    view = experiment_view(row)
    folder = Path(row["input_dir"] or "")
    if not view["ready"] or not folder.is_dir():
        raise NotFound(
            f"Experiment {row['name']!r} has no prepared input (preprocessing is "
            f"{view['preprocess']['state'] or 'not run'})."
        )
    return folder, file_name([row["name"], row["id"][:8]], "")


def result_file(task_id: str) -> Path:
    """A generation's ``result.json`` (written when the job ends)."""
    path = store.job_dir(task_id) / RESULT_FILE
    if not path.is_file():
        raise NotFound(
            f"Job {task_id} has no result.json: it has not ended, or it was cancelled before "
            "it ran."
        )
    return path


class _Sink(io.RawIOBase):
    """Where zipfile writes a streamed ZIP: the bytes written since the last take()."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def zip_chunks(folder: Path, root: str, chunk: int = 1 << 20) -> Iterator[bytes]:
    """``folder`` as a ZIP (entries under ``root/``), made while it is sent: no file
    of the whole archive is written. Stored, not deflated (frames and video are
    compressed already); links are left out."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            info = zipfile.ZipInfo.from_file(path, f"{root}/{path.relative_to(folder)}")
            with path.open("rb") as source, archive.open(info, "w") as target:
                while data := source.read(chunk):
                    target.write(data)
                    yield sink.take()
            yield sink.take()
    yield sink.take()


def result_video(user: User, project_id: str, job_id: str) -> tuple[Path, str]:
    """The job's video for download, or NotFound saying why not."""
    row = rec.get_generation_job(user, project_id, job_id)
    view = job_status_view(row)
    if view["state"] != "SUCCESS" or not (view["result"] or {}).get("success"):
        raise NotFound(
            f"Job {job_id} has no video: it is {view['state']}"
            + (f" ({view['error']})" if view.get("error") else "")
            + "."
        )
    path = Path(view["result_video_path"] or "")
    if not view["result_video_path"] or not path.is_file():
        raise NotFound(f"The video of job {job_id} is no longer on disk ({path}).")
    return path, download_name(row)
