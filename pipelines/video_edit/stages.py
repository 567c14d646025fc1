"""What a video edit's stages share: the models loaded once per process, the checks
before any work, and :class:`Stages`, the one place that moves the stage (status.json,
the caller's progress, the job log); frames in groups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import BadInput
from pipelines.progress import Progress
from pipelines.video_edit.models import IP2P, MaskChoice, ModelLocation, choose_mask_backend, locate
from pipelines.video_edit.options import VideoEditRequest
from pipelines.video_edit.status import STAGE_SPANS, JobLog, StatusFile

ModelCache = Callable[[str, Callable[[], Any]], Any]

_loaded: dict[str, Any] = {}


def process_cache(key: str, loader: Callable[[], Any]) -> Any:
    """Models loaded once per process (the CLI and library callers); the studio passes ``ctx.model``."""
    if key not in _loaded:
        _loaded[key] = loader()
    return _loaded[key]


class EmptyMask(BadInput):
    """The mask prompt matched nothing in any frame."""


# -- checks before any work ---------------------------------------------------------------


def check_models(
    request: VideoEditRequest, search_dirs: list[Path] | tuple[Path, ...] = (), edit: bool = True
) -> tuple[MaskChoice, ModelLocation | None]:
    """The mask backend and the edit model this request will use, or a BadInput
    (naming the variable and how to download) when one is missing. No torch."""
    choice = choose_mask_backend(request.mask_prompt, request.extra, search_dirs)
    ip2p = locate(IP2P, request.extra.model_path, search_dirs, required=True) if edit else None
    return choice, ip2p


# -- progress and status ----------------------------------------------------------------


class Stages:
    """One place that moves the stage: status.json, the caller's progress, the log."""

    def __init__(self, status: StatusFile, progress: Progress, log: JobLog):
        self.status, self.progress, self.log_file = status, progress, log
        self.stage = "queued"

    def log(self, line: str) -> None:
        self.log_file.write(line)
        self.progress.log(line)

    def enter(self, stage: str, message: str) -> None:
        self.stage = stage
        start = STAGE_SPANS[stage][0]
        self.log(f"[{stage}] {message}")
        self.status.update(status=stage, progress=round(start, 4), message=message)
        self.progress.update(stage=stage, fraction=start, message=message)

    def frames(
        self, done: float, total: int, frame: int | None = None, message: str | None = None
    ) -> None:
        start, end = STAGE_SPANS[self.stage]
        fraction = start + (end - start) * (done / max(total, 1))
        shown = frame if frame is not None else int(done)
        fields: dict[str, Any] = {
            "progress": round(fraction, 4),
            "current_frame": shown,
            "total_frames": total,
        }
        if message:
            fields["message"] = message
        self.status.update(**fields)
        self.progress.update(
            stage=self.stage, fraction=fraction, item=f"frame {shown}/{total}", message=message
        )


# -- frames -----------------------------------------------------------------------------


def frame_groups(frames: Iterator[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    chunk: list[np.ndarray] = []
    for frame in frames:
        chunk.append(frame)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def frame_ranges(indices: list[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7"."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs]
    return ", ".join(parts[:20]) + (" …" if len(parts) > 20 else "")
