"""Reading screen recordings: validate and probe, open a decoder, extract one frame.

Everything here goes through PyAV. A recording is recognised by probing its
container, never by its file name. Probing, the frame-rate rule and the
variable-frame-rate rule are the shared ones of :mod:`pipelines.video_probe`;
this module adds the frames tool's container whitelist and its error type.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import video_probe
from pipelines.video_probe import VFR_TOLERANCE, frame_rate_of, rotation_steps, vfr_warning

__all__ = [
    "ALLOWED_CONTAINERS",
    "VFR_TOLERANCE",
    "FrameReader",
    "FrameReviewError",
    "VideoInfo",
    "extract_frame",
    "frame_rate_of",
    "jpeg_bytes",
    "probe",
    "rotation_steps",
    "to_display",
    "vfr_warning",
]

# Container formats we accept (PyAV/FFmpeg demuxer names).
ALLOWED_CONTAINERS = {"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm"}


class FrameReviewError(ValueError):
    """A recording or a parameter cannot be used; the message says why and what to do."""


@dataclass
class VideoInfo:
    """What probing a recording tells; times in seconds."""

    path: str
    container: str
    codec: str
    width: int  # as displayed (rotation applied)
    height: int
    rotation: (
        int  # degrees the stored picture is turned counter-clockwise for display (0, 90, 180, 270)
    )
    fps: float  # average frame rate from the timestamps (frames / span)
    nominal_fps: float  # the rate the container declares
    frame_count: int
    duration: float  # span of the frame timestamps plus one frame
    variable_frame_rate: bool
    keyframe_interval: float | None  # mean seconds between keyframes
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _unsupported(name: str, container: str) -> FrameReviewError:
    return FrameReviewError(
        f"{name}: container '{container}' is not supported; use MP4, MOV, WebM or MKV."
    )


def _open(path: str | Path) -> Any:
    """The open PyAV container of a recording in an accepted container with a video stream
    (opened by the shared :func:`video_probe.open_video`, then this tool's narrower list)."""
    p = Path(path)
    try:
        container = video_probe.open_video(p)
    except video_probe.VideoProbeError as exc:
        raise FrameReviewError(str(exc)) from None
    if not set(container.format.name.split(",")) & ALLOWED_CONTAINERS:
        container.close()
        raise _unsupported(p.name, container.format.name)
    if not container.streams.video:
        container.close()
        raise FrameReviewError(
            f"{p.name}: the file holds no video stream. Upload a screen recording."
        )
    return container


def to_display(img: np.ndarray, rotation: int) -> np.ndarray:
    k = rotation_steps(rotation)
    return np.ascontiguousarray(np.rot90(img, k)) if k else img


def probe(path: str | Path, scan_packets: bool = True, decode: bool = True) -> VideoInfo:
    """Validate a recording and read its metadata (the shared :func:`video_probe.probe`).

    With ``scan_packets`` (default) every packet is demuxed (no decoding) for the
    frame timestamps (exact fps, duration, VFR); without it only the first packet
    is read and the frame count and duration are the container's declared values
    (the analysis then replaces them with the decoded timestamps). ``decode``
    decodes the first frame to prove the video decodable and read its rotation;
    without it the size is the stored one and the rotation 0 (the analysis's
    decoding pass proves the rest). Raises :class:`FrameReviewError` for anything
    that is not a usable video or not in an accepted container.
    """
    p = Path(path)
    try:
        shared = video_probe.probe(p, max_packets=None if scan_packets else 1, decode=decode)
    except video_probe.VideoProbeError as exc:
        raise FrameReviewError(str(exc)) from None
    if not set(shared.container.split(",")) & ALLOWED_CONTAINERS:
        raise _unsupported(p.name, shared.container)
    width, height = shared.display_size
    return VideoInfo(
        path=str(p),
        container=shared.container,
        codec=shared.codec,
        width=width,
        height=height,
        rotation=shared.rotation,
        fps=shared.fps,
        nominal_fps=shared.nominal_fps,
        frame_count=shared.frame_count,
        duration=shared.duration,
        variable_frame_rate=shared.variable_frame_rate,
        keyframe_interval=shared.keyframe_interval,
        warnings=list(shared.warnings),
    )


class FrameReader:
    """Random access to single frames of a recording, for a viewer.

    ``get(index)`` seeks to the keyframe at or before the frame and decodes
    forward; stepping forward by a few frames reuses the open decoder instead
    of seeking again. ``pts`` (the frame timestamps in stream time base, as
    stored by the analysis) avoids a demux pass to map indices to timestamps.
    """

    def __init__(
        self, path: str | Path, pts: np.ndarray | None = None, keyframes: np.ndarray | None = None
    ):
        self.path = Path(path)
        self.container = _open(self.path)
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        if pts is None:
            pts = np.sort(
                np.asarray(
                    [
                        p.pts
                        for p in self.container.demux(self.stream)
                        if p.pts is not None and p.size
                    ],
                    np.int64,
                )
            )
            self.container.seek(0, stream=self.stream)
        self.pts = np.asarray(pts, np.int64)
        self.keyframes = None if keyframes is None else np.flatnonzero(keyframes)
        self._iter: Iterator[Any] | None = None
        self._last_pts: int | None = None

    def __len__(self) -> int:
        return len(self.pts)

    def close(self) -> None:
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get_frame(self, index: int):
        """The decoded ``av.VideoFrame`` at ``index`` (0-based, presentation order)."""
        if not 0 <= index < len(self.pts):
            raise FrameReviewError(
                f"frame {index} is out of range: {self.path.name} has {len(self.pts)} frames (0-{len(self.pts) - 1})."
            )
        target = int(self.pts[index])
        # Decode forward from the current position when the target is just ahead.
        ahead = False
        if self._last_pts is not None and self._last_pts < target:
            current = int(np.searchsorted(self.pts, self._last_pts))
            if self.keyframes is not None:  # no keyframe in between: decoding forward beats seeking
                ahead = not np.any((self.keyframes > current) & (self.keyframes <= index))
            else:
                ahead = index - current <= 30
        if not ahead or self._iter is None:
            self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
            self._iter = self.container.decode(self.stream)
        for frame in self._iter:
            if frame.pts is None:
                continue
            self._last_pts = frame.pts
            if frame.pts >= target:
                return frame
        raise FrameReviewError(
            f"frame {index} of {self.path.name} could not be decoded (file truncated?)."
        )

    def get(self, index: int, max_side: int | None = None):
        """Frame ``index`` as an upright RGB ``PIL.Image``, shrunk so its longer side ≤ ``max_side``."""
        from PIL import Image

        frame = self.get_frame(index)
        w, h = frame.width, frame.height
        if max_side and max(w, h) > max_side:
            s = max_side / max(w, h)
            w, h = max(2, round(w * s)), max(2, round(h * s))
        rgb = frame.to_ndarray(width=w, height=h, format="rgb24")
        return Image.fromarray(to_display(rgb, round(frame.rotation or 0)))


def extract_frame(
    path: str | Path, index: int, max_side: int | None = None, pts: np.ndarray | None = None
):
    """One frame as an upright RGB ``PIL.Image`` (see :class:`FrameReader` for repeated access)."""
    with FrameReader(path, pts) as reader:
        return reader.get(index, max_side)


def jpeg_bytes(image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
