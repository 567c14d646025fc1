"""Video in and out for dance generation, with PyAV (FFmpeg).

Frames are read one at a time (never the whole clip in memory), optionally
every n-th frame and scaled by FFmpeg's scaler on the way out of the decoder.
Writing is H.264 (yuv420p) MP4. :func:`check_video` decodes a result to the
end: SteadyDancer's writer swallows its own errors, so a file that exists is
not yet a video.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from pipelines.errors import BadInput
from pipelines.video_probe import VideoProbeError, open_video


class VideoError(BadInput):
    """Not a video, or not one that decodes."""


def _open(path: str | Path):
    """The video's container, opened by the one prober's rule (:func:`open_video`)."""
    try:
        return open_video(path)
    except VideoProbeError as exc:
        raise VideoError(str(exc)) from None


@dataclass
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int  # counted by decoding when ``decoded``; else the container's estimate (0: unknown)
    duration: float
    decoded: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def probe_video(path: str | Path) -> VideoInfo:
    """Stream facts from the container (cheap; nothing decoded)."""
    try:
        with _open(path) as container:
            if not container.streams.video:
                raise VideoError(
                    f"{Path(path).name} has no video stream; give an MP4/MOV/WebM/MKV video."
                )
            if container.format.name.endswith("_pipe") or container.format.name == "image2":
                raise VideoError(
                    f"{Path(path).name} is a still image; give a video (MP4, MOV, WebM, MKV)."
                )
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration and stream.time_base
                else (container.duration / 1e6 if container.duration else 0.0)
            )
            frames = stream.frames or round(duration * float(rate))
            return VideoInfo(
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                fps=round(float(rate), 3),
                frames=int(frames),
                duration=round(duration, 3),
            )
    except VideoError:
        raise
    except Exception as exc:  # av.error.* for a broken or non-video file
        raise VideoError(
            f"{Path(path).name} is not a readable video ({exc.__class__.__name__}: {exc})."
        ) from None


def read_frames(
    path: str | Path, stride: int = 1, limit: int | None = None, size: tuple[int, int] | None = None
) -> Iterator[np.ndarray]:
    """RGB frames 0, stride, 2·stride, … (at most ``limit``), scaled to ``size``
    (width, height) by FFmpeg when given."""
    import av

    container = _open(path)
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        taken = 0
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index % stride:
                    continue
                if size is not None:
                    yield frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
                else:
                    yield frame.to_ndarray(format="rgb24")
                taken += 1
                if limit is not None and taken >= limit:
                    return
        except av.error.FFmpegError as exc:
            if taken == 0:
                raise VideoError(f"{Path(path).name} does not decode ({exc}).") from None
            # a damaged tail: keep the frames read so far


class VideoWriter:
    """H.264 MP4 writer for RGB frames of one size (even width and height)."""

    def __init__(
        self,
        path: str | Path,
        fps: float,
        width: int,
        height: int,
        crf: int = 18,
        preset: str = "veryfast",
    ):
        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.width, self.height = even(width), even(height)
        self._container = av.open(str(self.path), mode="w")
        rate = Fraction(fps).limit_denominator(1001)
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(crf), "preset": preset}
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        import av

        if rgb.shape[1] != self.width or rgb.shape[0] != self.height:
            import cv2

            rgb = cv2.resize(rgb, (self.width, self.height), interpolation=cv2.INTER_AREA)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def even(n: int) -> int:
    return max(2, int(n) // 2 * 2)


def check_video(path: str | Path) -> VideoInfo:
    """Decode every frame of ``path``; raises VideoError when it is missing,
    empty or broken. Returns its size, rate and decoded frame count."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise VideoError(
            f"No video at {path}" + (" (the file is empty)." if path.is_file() else ".")
        )
    info = probe_video(path)
    count = 0
    try:
        with _open(path) as container:
            for _ in container.decode(container.streams.video[0]):
                count += 1
    except Exception as exc:
        raise VideoError(f"{path.name} does not decode after {count} frames ({exc}).") from None
    if count == 0:
        raise VideoError(f"{path.name} holds no decodable frame.")
    info.frames, info.decoded = count, True
    return info
