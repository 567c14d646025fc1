"""Where to split a long video: fixed-length clips or scene cuts.

Scene cuts come from a frame-difference threshold on small grey frames that
the ffmpeg binary decodes (a few per second): simple, fast, and good enough
for hard cuts in stock footage and edits.
"""

from __future__ import annotations

import itertools
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.child_env import clean_env, guarded_argv
from pipelines.video_dataset.convert import ffmpeg_exe
from pipelines.video_probe import ffmpeg_input_options


@dataclass(frozen=True)
class ClipSpan:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


SPLIT_MODES = ("none", "fixed", "scenes")


def fixed_spans(duration: float, clip_seconds: float, min_seconds: float = 0.0) -> list[ClipSpan]:
    """``[0, S), [S, 2S), ...``; a tail shorter than ``min_seconds`` is left out."""
    if clip_seconds <= 0:
        raise ValueError("clip length must be more than 0 seconds")
    spans, start = [], 0.0
    while start < duration - 1e-6:
        end = min(start + clip_seconds, duration)
        if end - start >= max(min_seconds, 1e-3):
            spans.append(ClipSpan(start, end))
        start = end
    return spans


def detect_scene_cuts(
    path: str | Path,
    threshold: float = 0.12,
    sample_fps: float = 8.0,
    size: tuple[int, int] = (64, 36),
) -> list[float]:
    """Times (seconds) where the picture changes abruptly.

    Frames are sampled at ``sample_fps``, scaled to ``size`` grey; a cut is
    where the mean absolute difference of neighbouring samples, 0..1, is over
    ``threshold``.
    """
    w, h = size
    cmd = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        *ffmpeg_input_options(),
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-vf",
        f"fps={sample_fps:g},scale={w}:{h},format=gray",
        "-f",
        "rawvideo",
        "pipe:1",
    ]
    env = clean_env()
    raw = subprocess.run(
        guarded_argv(cmd, env=env), capture_output=True, check=False, env=env
    ).stdout
    frames = np.frombuffer(raw, dtype=np.uint8)
    n = frames.size // (w * h)
    if n < 2:
        return []
    frames = frames[: n * w * h].reshape(n, h, w).astype(np.int16)
    diff = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2)) / 255.0
    return [float((i + 1) / sample_fps) for i in np.nonzero(diff > threshold)[0]]


def scene_spans(
    duration: float, cuts: list[float], max_seconds: float | None = None, min_seconds: float = 0.0
) -> list[ClipSpan]:
    """Spans between scene cuts; scenes longer than ``max_seconds`` are split into
    fixed-length pieces; scenes shorter than ``min_seconds`` are left out."""
    edges = [0.0, *sorted(c for c in cuts if 0.0 < c < duration), duration]
    spans: list[ClipSpan] = []
    for a, b in itertools.pairwise(edges):
        if b - a < max(min_seconds, 1e-3):
            continue
        if max_seconds and b - a > max_seconds:
            spans += [
                ClipSpan(a + s.start, a + s.end)
                for s in fixed_spans(b - a, max_seconds, min_seconds)
            ]
        else:
            spans.append(ClipSpan(a, b))
    return spans
