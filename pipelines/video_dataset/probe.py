"""Probe a file: is it a video we can read, and what is in it (PyAV)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VIDEO_EXTENSIONS = {
    ".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts",
    ".m2ts", ".flv", ".wmv", ".3gp", ".ogv", ".gif",
}


class ProbeError(ValueError):
    """The file is not a readable video; the message says why and what to do."""


@dataclass(frozen=True)
class VideoProbe:
    path: Path
    duration: float          # seconds
    fps: float               # average frame rate
    frames: int              # frame count from the container (estimated from duration when absent)
    width: int
    height: int
    codec: str
    rotation: int            # degrees the player rotates the picture (phone videos)
    has_audio: bool
    variable_frame_rate: bool

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as a player shows it, after rotation."""
        if abs(self.rotation) % 180 == 90:
            return self.height, self.width
        return self.width, self.height


def probe_video(path: str | Path) -> VideoProbe:
    """Open ``path`` with PyAV, decode its first frame, and describe it.

    Raises :class:`ProbeError` with a user-facing reason for non-videos,
    corrupt or empty files.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise ProbeError(f"{path.name}: file not found")
    if path.stat().st_size == 0:
        raise ProbeError(f"{path.name}: empty file (0 bytes); upload it again")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise ProbeError(
            f"{path.name}: not a readable video ({_reason(exc)}); the file is corrupt or "
            "not a video: re-export it as MP4 (H.264) and add it again"
        ) from None
    with container:
        if not container.streams.video:
            raise ProbeError(f"{path.name}: has no video stream (audio-only or not a video)")
        stream = container.streams.video[0]
        has_audio = bool(container.streams.audio)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        rotation = 0
        stream.thread_type = "AUTO"
        try:
            first = next(container.decode(stream), None)
        except (av.FFmpegError, EOFError) as exc:
            raise ProbeError(
                f"{path.name}: video data is corrupt ({_reason(exc)}); re-export the file and add it again"
            ) from None
        if first is None:
            raise ProbeError(f"{path.name}: contains no video frames")
        rotation = int(getattr(first, "rotation", 0) or 0)
        if fps <= 0 or duration <= 0:
            raise ProbeError(f"{path.name}: unknown frame rate or duration; re-export it as MP4 and add it again")
        frames = int(stream.frames or 0) or round(duration * fps)
        base = float(stream.base_rate) if stream.base_rate else fps
        vfr = abs(base - fps) > 0.01 * max(fps, 1.0)
        return VideoProbe(
            path=path, duration=duration, fps=fps, frames=frames,
            width=stream.codec_context.width, height=stream.codec_context.height,
            codec=stream.codec_context.name, rotation=rotation, has_audio=has_audio,
            variable_frame_rate=vfr,
        )


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() if text else type(exc).__name__
