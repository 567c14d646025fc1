"""Where a video edit stands: seed 003's ``VideoEditStatus`` and its
``status.json``, rewritten in the output folder at every stage (and about once
a second while frames are processed), so anyone can follow the job by reading
one file.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from pipelines.errors import BadInput, NotFound
from pipelines.video_edit.options import default_output_dir

JobStatus = Literal[
    "queued",
    "extracting",
    "masking",
    "propagating",
    "editing",
    "smoothing",
    "saving",
    "finished",
    "failed",
]
STAGES: tuple[str, ...] = (
    "queued",
    "extracting",
    "masking",
    "propagating",
    "editing",
    "smoothing",
    "saving",
    "finished",
    "failed",
)
STATUS_FILE = "status.json"

# The part of the whole job (0..1) each stage covers.
STAGE_SPANS: dict[str, tuple[float, float]] = {
    "queued": (0.0, 0.0),
    "extracting": (0.0, 0.02),
    "masking": (0.02, 0.05),
    "propagating": (0.05, 0.2),
    "editing": (0.2, 0.9),
    "smoothing": (0.9, 0.97),
    "saving": (0.97, 1.0),
    "finished": (1.0, 1.0),
}


class VideoEditStatus(BaseModel):
    """Seed 003's status fields, exactly as ``status.json`` holds them."""

    job_id: str
    status: JobStatus = "queued"
    progress: float = 0.0
    current_frame: int | None = None
    total_frames: int | None = None
    message: str | None = None
    error: str | None = None
    output_video_path: Path | None = None
    mask_preview_path: Path | None = None
    logs_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def output_names(job_id: str) -> dict[str, str]:
    """The files a video edit leaves in its output folder."""
    return {
        "output": f"{job_id}_output.mp4",
        "mask": f"{job_id}_mask.mp4",
        "log": f"{job_id}_log.txt",
        "status": STATUS_FILE,
        # single_frame mode and previews also write pictures
        "input_png": f"{job_id}_input.png",
        "mask_png": f"{job_id}_mask.png",
        "edited_png": f"{job_id}_edited.png",
        "compare_png": f"{job_id}_compare.png",
        # keep_intermediates
        "masks": f"{job_id}_masks.zip",
        "edited_frames": f"{job_id}_edited_frames.mkv",
    }


def one_line(text: str, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class StatusFile:
    """Keeps one job's status and writes ``status.json`` atomically: at once on a
    stage change or at the end, otherwise at most every ``interval`` seconds."""

    def __init__(self, folder: Path, status: VideoEditStatus, interval: float = 1.0):
        self.path = Path(folder) / STATUS_FILE
        self.status = status
        self.interval = interval
        self._written = 0.0

    def update(self, *, force: bool = False, **fields: Any) -> VideoEditStatus:
        stage_changed = "status" in fields and fields["status"] != self.status.status
        self.status = self.status.model_copy(update=fields)
        if force or stage_changed or time.monotonic() - self._written >= self.interval:
            self.write()
        return self.status

    def write(self) -> None:
        self._written = time.monotonic()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{STATUS_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.status.to_dict(), indent=2), encoding="utf-8")
        os.replace(tmp, self.path)


class StatusFileError(BadInput):
    """A ``status.json`` that is not a video edit status (broken, or some other file)."""


def read_status(folder: Path) -> VideoEditStatus | None:
    """The status in ``folder`` (None when there is none); :class:`StatusFileError` (422)
    when its ``status.json`` is not a video edit status."""
    path = Path(folder) / STATUS_FILE
    try:
        return VideoEditStatus.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, OSError) as exc:  # bad JSON or fields (pydantic), not UTF-8, a folder
        raise StatusFileError(
            f"{path} is not a video edit status ({type(exc).__name__}); remove it or name "
            "another output_dir."
        ) from None


def get_video_edit_status(job_id: str, output_dir: Path | str | None = None) -> VideoEditStatus:
    """Seed 003's status query: read ``status.json`` of ``job_id`` from ``output_dir``
    (default: ``UR_EDIT_OUTPUT_DIR/<job_id>``, else ``./outputs/<job_id>``)."""
    folder = Path(output_dir) if output_dir else default_output_dir(job_id)
    status = read_status(folder)
    if status is None:
        raise NotFound(
            f"No status for video edit {job_id!r} in {folder}: the job has not started there, or "
            "give the output_dir it was run with."
        )
    if status.job_id != job_id:
        raise NotFound(f"{folder / STATUS_FILE} belongs to job {status.job_id!r}, not {job_id!r}.")
    return status


class JobLog:
    """``{job_id}_log.txt``: time-stamped lines (the traceback of a failure too)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, line: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(self.path, "a", encoding="utf-8") as fh:
            for part in str(line).splitlines() or [""]:
                fh.write(f"[{stamp}] {part}\n")
