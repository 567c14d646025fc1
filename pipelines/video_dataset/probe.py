"""Probe a file for the video dataset: the shared prober :mod:`pipelines.video_probe`
under this tool's names, and the file extensions it takes for videos."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pipelines.video_probe import VideoInfo, VideoProbeError, probe

VIDEO_EXTENSIONS = {
    ".mp4",
    ".mov",
    ".m4v",
    ".mkv",
    ".webm",
    ".avi",
    ".mpg",
    ".mpeg",
    ".ts",
    ".mts",
    ".m2ts",
    ".flv",
    ".wmv",
    ".3gp",
    ".ogv",
    ".gif",
}

ProbeError = VideoProbeError
VideoProbe = VideoInfo


def probe_video(path: str | Path) -> VideoInfo:
    """Streams, frame rate, duration, frame count, rotation and VFR of ``path`` (the
    packets' timestamps and the first frame decoded). Raises :class:`ProbeError`.

    The duration is the one the container promises when it has one: a truncated file
    then converts to fewer frames than promised and is reported as a bad clip."""
    info = probe(path)
    return replace(info, duration=info.declared_duration) if info.declared_duration > 0 else info
