"""What is in a video file: one prober for every tool (PyAV).

``probe(path)`` opens the container, reads its streams, demuxes the video packets
(no decoding) for the frame timestamps, and decodes the first frame to prove the video
is decodable and to read its rotation. It answers the frame rate (average, from the
timestamps, and the one the container declares), duration, frame count, size, rotation,
audio, keyframe spacing and whether the frame rate is variable, by one rule
(:func:`frame_rate_of`): a video is variable-frame-rate when more than 5 % of its frame
durations differ from the median duration by more than 10 %.

``probe(path, max_packets=N)`` reads only the first N packets' timestamps (a quick look
at a long file: frame count and duration then come from the container's header);
``decode=False`` skips the first-frame decode (no rotation, no decode check).
Anything that is not a usable video raises :class:`VideoProbeError` (a ``BadInput``,
422) with a message that names the file, says what is wrong and what to do.

``open_video(path)`` is the one way every pipeline opens a video for reading (this
prober, frames, video_dataset, video_edit, dance): FFmpeg may only pick a demuxer of
:data:`CONTAINERS` (its ``format_whitelist``, checked after the format is detected and
before the demuxer reads the file), and only the local ``file`` protocol. Playlists and
lists that open further files (HLS ``.m3u8``, ``concat``, image sequences) are refused
before they read anything else. The ffmpeg binary gets the same rule from
:func:`ffmpeg_input_options`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import BadInput

# The video containers (FFmpeg demuxer names) any tool opens. Never add a demuxer that
# opens other files or URLs (hls, concat, image2, dash, tee, ...).
CONTAINERS = (
    "mov",  # mov,mp4,m4a,3gp,3g2,mj2: MP4, MOV, M4V, 3GP
    "mp4",
    "m4a",
    "3gp",
    "3g2",
    "mj2",
    "matroska",  # matroska,webm: MKV, WebM
    "webm",
    "avi",
    "mpeg",  # MPEG program stream (.mpg)
    "mpegts",  # .ts, .mts, .m2ts
    "flv",
    "asf",  # .wmv
    "ogg",  # .ogv
    "gif",
)
ACCEPTED = "MP4, MOV, M4V, WebM, MKV, AVI, MPEG, MPEG-TS, FLV, WMV, OGV or GIF"
VFR_TOLERANCE = 0.10  # a frame duration this far (relative) from the median is "off"
VFR_SHARE = 0.05  # more than this share of off durations: variable frame rate


class VideoProbeError(BadInput):
    """The file is not a usable video; the message says why and what to do."""


class ContainerRefused(VideoProbeError):
    """The file's format is not one of :data:`CONTAINERS` (a playlist, a list, not a video)."""


@dataclass
class VideoInfo:
    """What probing a video tells; times in seconds, sizes in stored pixels."""

    path: Path
    container: str  # FFmpeg demuxer names, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    codec: str
    width: int  # as stored (see display_size)
    height: int
    rotation: int  # degrees the player turns the picture counter-clockwise (0, 90, 180, 270)
    fps: float  # average frame rate: frames / span of their timestamps
    nominal_fps: float  # the rate the container declares
    frames: int  # frame count (packets; the header's count with max_packets)
    duration: float  # span of the frame timestamps plus one frame
    declared_duration: (
        float  # what the container's header promises (0: none); longer when truncated
    )
    variable_frame_rate: bool
    has_audio: bool
    keyframe_interval: float | None = None  # mean seconds between keyframes (of the packets read)
    warnings: list[str] = field(default_factory=list)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as a player shows it, after rotation."""
        return (
            (self.height, self.width)
            if rotation_steps(self.rotation) % 2
            else (self.width, self.height)
        )

    @property
    def frame_count(self) -> int:
        return self.frames

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def rotation_steps(rotation: float | int | None) -> int:
    """Quarter turns counter-clockwise (np.rot90's ``k``) that put the stored picture upright."""
    return round((rotation or 0) / 90.0) % 4


def frame_rate_of(times: np.ndarray, nominal: float = 0.0) -> tuple[float, bool, float]:
    """The one frame-rate rule: (average fps, variable?, typical frame duration) from frame
    times in seconds (sorted presentation times)."""
    times = np.asarray(times, dtype=np.float64)
    if len(times) < 2:
        return (nominal, False, 1.0 / nominal if nominal else 0.0)
    d = np.diff(times)
    d = d[d > 0]
    median = float(np.median(d)) if len(d) else 0.0
    fps = (len(times) - 1) / float(times[-1] - times[0]) if times[-1] > times[0] else nominal
    vfr = bool(len(d) >= 2 and np.mean(np.abs(d - median) > VFR_TOLERANCE * median) > VFR_SHARE)
    return (float(fps), vfr, median)


def vfr_warning(times: np.ndarray) -> str:
    d = np.diff(np.asarray(times, dtype=np.float64))
    return (
        f"variable frame rate: frame durations range {d.min() * 1000:.1f}-{d.max() * 1000:.1f} ms; "
        "times are taken from the frame timestamps, never from frame index / fps"
    )


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() if text else type(exc).__name__


def open_options() -> dict[str, str]:
    """FFmpeg's options that keep a demuxer to :data:`CONTAINERS` and local files."""
    return {"format_whitelist": ",".join(CONTAINERS), "protocol_whitelist": "file"}


def ffmpeg_input_options() -> list[str]:
    """The same rule for the ffmpeg binary: put these before its ``-i``."""
    return [arg for name, value in open_options().items() for arg in (f"-{name}", value)]


def open_video(path: str | Path) -> Any:
    """The open PyAV container of the video at ``path``, for reading; only the containers
    of :data:`CONTAINERS`. Raises :class:`VideoProbeError` (missing, empty, refused or
    unreadable file) with a message that says what to do."""
    import av

    p = Path(path)
    if not p.is_file():
        raise VideoProbeError(f"{p.name}: file not found; check the path or add the file again")
    if p.stat().st_size == 0:
        raise VideoProbeError(f"{p.name}: empty file (0 bytes); upload it again")
    try:
        return av.open(str(p), metadata_errors="ignore", container_options=open_options())
    except av.ArgumentError:  # EINVAL: the format FFmpeg found is not on the whitelist
        raise ContainerRefused(
            f"{p.name}: container not supported; give a video file ({ACCEPTED}). "
            "Playlists and lists that name other files (HLS .m3u8, concat lists) are refused."
        ) from None
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoProbeError(
            f"{p.name}: not a readable video ({_reason(exc)}); the file is corrupt or not a "
            "video: re-export it as MP4 (H.264) and add it again"
        ) from None


def check_container(path: str | Path) -> None:
    """Raise :class:`ContainerRefused` when the file's format is not on the list (only its
    first bytes and header are read; a file that is merely broken passes: probing later
    says what is wrong with it)."""
    try:
        open_video(path).close()
    except ContainerRefused:
        raise
    except VideoProbeError:
        pass


def probe(path: str | Path, *, max_packets: int | None = None, decode: bool = True) -> VideoInfo:
    """Describe the video at ``path`` (see the module text). Raises :class:`VideoProbeError`."""
    import av

    p = Path(path)
    container = open_video(p)
    with container:
        if not container.streams.video:
            raise VideoProbeError(f"{p.name}: has no video stream (audio-only or not a video)")
        stream = container.streams.video[0]
        tb = float(stream.time_base) if stream.time_base else 0.0
        nominal = float(stream.average_rate or stream.guessed_rate or stream.base_rate or 0)
        pts: list[int] = []
        key_pts: list[int] = []
        first = None
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                pts.append(packet.pts)
                if packet.is_keyframe:
                    key_pts.append(packet.pts)
                if max_packets is not None and len(pts) >= max_packets:
                    break
            if decode:
                container.seek(0, stream=stream)
                stream.thread_type = "AUTO"
                first = next(container.decode(stream), None)
        except (av.FFmpegError, EOFError) as exc:
            raise VideoProbeError(
                f"{p.name}: video data is corrupt ({_reason(exc)}); re-export the file and add "
                "it again"
            ) from None
        if not pts or (decode and first is None):
            raise VideoProbeError(
                f"{p.name}: contains no video frames (corrupt or truncated); re-export it"
            )
        stamps = np.sort(np.asarray(pts, dtype=np.int64))
        times = (stamps - stamps[0]) * tb
        fps, vfr, frame_dur = frame_rate_of(times, nominal)
        if fps <= 0:
            fps = nominal
        frames, duration = len(stamps), float(times[-1] + frame_dur) if len(times) else 0.0
        declared = (
            float(stream.duration * stream.time_base)
            if stream.duration and stream.time_base
            else ((container.duration or 0) / 1e6)
        )
        if (
            max_packets is not None and len(pts) >= max_packets
        ):  # a look at the start: the header's totals
            duration = declared or duration
            frames = int(stream.frames or 0) or round(duration * (fps or nominal))
        if fps <= 0 or duration <= 0:
            raise VideoProbeError(
                f"{p.name}: unknown frame rate or duration; re-export it as MP4 and add it again"
            )
        keys = (np.sort(np.asarray(key_pts, np.int64)) - stamps[0]) * tb
        return VideoInfo(
            path=p,
            container=container.format.name,
            codec=stream.codec_context.name,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            rotation=round(getattr(first, "rotation", 0) or 0) % 360 if first is not None else 0,
            fps=float(fps),
            nominal_fps=nominal,
            frames=int(frames),
            duration=duration,
            declared_duration=declared,
            variable_frame_rate=vfr,
            has_audio=bool(container.streams.audio),
            keyframe_interval=float(np.diff(keys).mean()) if len(keys) > 1 else None,
            warnings=[vfr_warning(times)] if vfr else [],
        )
