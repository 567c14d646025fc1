"""Where a recording's files live (``STUDIO_HOME/media/frames/<video_id>/``:
the recording, ``metrics.npz``, the candidate thumbnails and ``analysis.json``)
and the per-frame metrics read back from ``metrics.npz`` (they never go into
the database)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from jobs.settings import get_settings
from jobs.tools.frames.models import Video
from pipelines.errors import Conflict

if TYPE_CHECKING:  # numpy (~0.3 s) is imported when metrics are read, not when the tool loads
    import numpy as np


def media_root() -> Path:
    return get_settings().media_dir / "frames"


def video_dir(video_id: str) -> Path:
    return media_root() / video_id


def metrics_path(video_id: str) -> Path:
    return video_dir(video_id) / "metrics.npz"


def frame_times(video_id: str) -> np.ndarray:
    """Seconds of every frame from the first (stream timestamps), from ``metrics.npz``."""
    import numpy as np

    path = metrics_path(video_id)
    if not path.is_file():
        raise Conflict(
            f"Recording {video_id} has no analysis yet (no metrics); wait for its analysis job."
        )
    with np.load(path, allow_pickle=False) as z:
        return np.asarray(z["times"], float)


def change_curve(video: Video) -> dict[str, list[float]]:
    """Per-frame times and scene-change scores (for the review chart), from ``metrics.npz``."""
    import numpy as np

    path = metrics_path(video.id)
    if not path.is_file():
        raise Conflict(f"Recording {video.id} has no analysis yet.")
    with np.load(path, allow_pickle=False) as z:
        return {
            "time": np.round(z["times"], 6).tolist(),
            "change": np.round(z["change"].astype(float), 5).tolist(),
            "brightness": np.round(z["brightness"].astype(float), 4).tolist(),
        }


def frame_metrics(video: Video) -> dict[str, np.ndarray]:
    """The per-frame arrays the review's frame list shows (times, brightness, sharpness, change)."""
    import numpy as np

    path = metrics_path(video.id)
    if not path.is_file():
        raise Conflict(f"Recording {video.id} has no analysis yet.")
    with np.load(path, allow_pickle=False) as z:
        return {
            k: np.asarray(z[k], float)
            for k in ("times", "brightness", "sharpness", "change")
            if k in z
        }
