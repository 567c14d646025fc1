"""Reading screen recordings: validate and probe, open a decoder, extract one frame.

Everything here goes through PyAV. A recording is recognised by probing its
container, never by its file name.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

# Container formats we accept (PyAV/FFmpeg demuxer names).
ALLOWED_CONTAINERS = {"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm"}
# Relative spread of frame durations above which a recording counts as variable frame rate.
VFR_TOLERANCE = 0.10


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
    rotation: int  # degrees the stored picture is turned counter-clockwise for display (0, 90, 180, 270)
    fps: float  # average frame rate from the timestamps (frames / span)
    nominal_fps: float  # the rate the container declares
    frame_count: int
    duration: float  # span of the frame timestamps plus one frame
    variable_frame_rate: bool
    keyframe_interval: float | None  # mean seconds between keyframes
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _open(path: str | Path):
    import av

    p = Path(path)
    if not p.is_file():
        raise FrameReviewError(f"{p.name}: file not found ({p}). Check the path or upload the recording again.")
    if p.stat().st_size == 0:
        raise FrameReviewError(f"{p.name}: the file is empty. Upload the recording again.")
    try:
        container = av.open(str(p), "r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise FrameReviewError(
            f"{p.name}: not a readable video ({exc.__class__.__name__}: {exc}). "
            "The file is corrupt or truncated, or not a recording; export it again as MP4/MOV/WebM/MKV."
        ) from exc
    names = set(container.format.name.split(","))
    if not names & ALLOWED_CONTAINERS:
        container.close()
        raise FrameReviewError(
            f"{p.name}: container '{container.format.name}' is not supported; use MP4, MOV, WebM or MKV."
        )
    if not container.streams.video:
        container.close()
        raise FrameReviewError(f"{p.name}: the file holds no video stream. Upload a screen recording.")
    return container


def rotation_steps(rotation: float | int | None) -> int:
    """Quarter turns counter-clockwise (np.rot90's ``k``) that put the stored picture upright."""
    return int(round((rotation or 0) / 90.0)) % 4


def to_display(img: np.ndarray, rotation: int) -> np.ndarray:
    k = rotation_steps(rotation)
    return np.ascontiguousarray(np.rot90(img, k)) if k else img


def probe(path: str | Path, scan_packets: bool = True, decode: bool = True) -> VideoInfo:
    """Validate a recording and read its metadata.

    Decodes the first frame to prove the video is decodable. With
    ``scan_packets`` (default) every packet is demuxed (no decoding) to count
    frames and read their timestamps (exact fps, duration, VFR); without it
    the container's declared values are used (the analysis then replaces them
    with the decoded timestamps). ``decode=False`` (with ``scan_packets=False``)
    reads the container's header only: no packet, no frame, the stored size
    and no rotation (the analysis's decoding pass proves the rest). Raises
    :class:`FrameReviewError` for anything that is not a usable video.
    """
    import av

    p = Path(path)
    container = _open(p)
    if not decode and not scan_packets:
        try:
            return _declared(p, container)
        finally:
            container.close()
    try:
        stream = container.streams.video[0]
        tb = stream.time_base
        pts, key_pts = [], []
        first_frame = None
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                pts.append(packet.pts)
                if packet.is_keyframe:
                    key_pts.append(packet.pts)
                if not scan_packets:
                    break
            container.seek(0, stream=stream) if pts else None
            for frame in container.decode(stream):
                first_frame = frame
                break
        except av.error.FFmpegError as exc:
            raise FrameReviewError(f"{p.name}: the video data is corrupt ({exc}). Export the recording again.") from exc
        if not pts or first_frame is None:
            raise FrameReviewError(f"{p.name}: no decodable video frames. The file is empty, truncated or corrupt.")
        pts = np.sort(np.asarray(pts, dtype=np.int64))
        nominal = float(stream.average_rate or stream.guessed_rate or 0) or 0.0
        if not scan_packets:  # declared values
            span = float(stream.duration * tb) if stream.duration else (container.duration or 0) / 1e6
            count = stream.frames or int(round(span * nominal))
            pts = pts[0] + np.round(np.arange(count) / max(nominal, 1e-9) / float(tb)).astype(np.int64)
        times = (pts - pts[0]) * float(tb)
        info_fps, vfr, frame_dur = frame_rate_of(times, nominal)
        rotation = int(round(first_frame.rotation or 0)) % 360
        w, h = first_frame.width, first_frame.height
        if rotation_steps(rotation) % 2:
            w, h = h, w
        warnings = []
        if vfr:
            warnings.append(vfr_warning(times))
        key_times = (np.sort(np.asarray(key_pts, np.int64)) - pts[0]) * float(tb)
        return VideoInfo(
            path=str(p),
            container=container.format.name,
            codec=stream.codec_context.name,
            width=w,
            height=h,
            rotation=rotation,
            fps=info_fps,
            nominal_fps=nominal,
            frame_count=len(pts),
            duration=float(times[-1] + frame_dur),
            variable_frame_rate=vfr,
            keyframe_interval=float(np.diff(key_times).mean()) if len(key_times) > 1 else None,
            warnings=warnings,
        )
    finally:
        container.close()


def _declared(p: Path, container) -> VideoInfo:
    """What the container's header declares (no demuxing, no decoding); unknown values are 0."""
    stream = container.streams.video[0]
    nominal = float(stream.average_rate or stream.guessed_rate or 0) or 0.0
    tb = stream.time_base
    span = float(stream.duration * tb) if stream.duration and tb else (container.duration or 0) / 1e6
    count = int(stream.frames or round(span * nominal))  # 0 when the header does not say (a browser's WebM)
    return VideoInfo(path=str(p), container=container.format.name, codec=stream.codec_context.name,
                     width=stream.codec_context.width, height=stream.codec_context.height, rotation=0,
                     fps=nominal, nominal_fps=nominal, frame_count=count, duration=span,
                     variable_frame_rate=False, keyframe_interval=None)


def frame_rate_of(times: np.ndarray, nominal: float = 0.0) -> tuple[float, bool, float]:
    """(average fps, variable?, typical frame duration) from frame times in seconds."""
    if len(times) < 2:
        dur = 1.0 / nominal if nominal else 0.0
        return (nominal, False, dur)
    d = np.diff(times)
    d = d[d > 0]
    median = float(np.median(d)) if len(d) else 0.0
    fps = (len(times) - 1) / float(times[-1] - times[0]) if times[-1] > times[0] else nominal
    # VFR: a sizeable share of frames deviates from the median duration.
    vfr = bool(len(d) >= 2 and np.mean(np.abs(d - median) > VFR_TOLERANCE * median) > 0.05)
    return (float(fps), vfr, median)


def vfr_warning(times: np.ndarray) -> str:
    d = np.diff(times)
    return (
        f"variable frame rate: frame durations range {d.min() * 1000:.1f}-{d.max() * 1000:.1f} ms; "
        "times are taken from the frame timestamps, never from frame index / fps"
    )


class FrameReader:
    """Random access to single frames of a recording, for a viewer.

    ``get(index)`` seeks to the keyframe at or before the frame and decodes
    forward; stepping forward by a few frames reuses the open decoder instead
    of seeking again. ``pts`` (the frame timestamps in stream time base, as
    stored by the analysis) avoids a demux pass to map indices to timestamps.
    """

    def __init__(self, path: str | Path, pts: np.ndarray | None = None, keyframes: np.ndarray | None = None):
        self.path = Path(path)
        self.container = _open(self.path)
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        if pts is None:
            pts = np.sort(np.asarray([p.pts for p in self.container.demux(self.stream)
                                      if p.pts is not None and p.size], np.int64))
            self.container.seek(0, stream=self.stream)
        self.pts = np.asarray(pts, np.int64)
        self.keyframes = None if keyframes is None else np.flatnonzero(keyframes)
        self._iter = None
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
            raise FrameReviewError(f"frame {index} is out of range: {self.path.name} has {len(self.pts)} frames (0-{len(self.pts) - 1}).")
        target = int(self.pts[index])
        # Decode forward from the current position when the target is just ahead.
        ahead = False
        if self._last_pts is not None and self._last_pts < target:
            current = int(np.searchsorted(self.pts, self._last_pts))
            if self.keyframes is not None:  # no keyframe in between: decoding forward beats seeking
                ahead = not np.any((self.keyframes > current) & (self.keyframes <= index))
            else:
                ahead = index - current <= 30
        if not ahead:
            self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
            self._iter = self.container.decode(self.stream)
        for frame in self._iter:
            if frame.pts is None:
                continue
            self._last_pts = frame.pts
            if frame.pts >= target:
                return frame
        raise FrameReviewError(f"frame {index} of {self.path.name} could not be decoded (file truncated?).")

    def get(self, index: int, max_side: int | None = None):
        """Frame ``index`` as an upright RGB ``PIL.Image``, shrunk so its longer side ≤ ``max_side``."""
        from PIL import Image

        frame = self.get_frame(index)
        w, h = frame.width, frame.height
        if max_side and max(w, h) > max_side:
            s = max_side / max(w, h)
            w, h = max(2, int(round(w * s))), max(2, int(round(h * s)))
        rgb = frame.to_ndarray(width=w, height=h, format="rgb24")
        return Image.fromarray(to_display(rgb, int(round(frame.rotation or 0))))


def extract_frame(path: str | Path, index: int, max_side: int | None = None, pts: np.ndarray | None = None):
    """One frame as an upright RGB ``PIL.Image`` (see :class:`FrameReader` for repeated access)."""
    with FrameReader(path, pts) as reader:
        return reader.get(index, max_side)


def jpeg_bytes(image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
