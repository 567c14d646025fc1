"""Reading and writing the clips (PyAV): probe, stream frames upright as RGB
arrays, write H.264 MP4 at the input's frame rate, and copy the input's audio
into the result.

Frames are streamed one at a time: no function here holds a whole clip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import BadInput
from pipelines.video_probe import VideoProbeError, open_video

MP4_AUDIO = {
    "aac",
    "mp3",
    "alac",
    "opus",
    "ac3",
    "eac3",
    "flac",
}  # copied as is into MP4; others -> AAC


class VideoError(BadInput):
    """The input is not a video we can read; the message says why and what to do."""


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int  # as shown (rotation applied)
    height: int
    fps: Fraction
    frames: int  # counted from the container's packets when it does not say
    duration: float
    rotation: int  # degrees the picture is turned to show it upright
    has_audio: bool
    codec: str

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() if text else type(exc).__name__


def _open(path: Path):
    """The clip's container, opened by the one prober's rule (:func:`open_video`)."""
    try:
        container = open_video(path)
    except VideoProbeError as exc:
        raise VideoError(str(exc)) from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path.name}: the file has no video stream.")
    return container


def rotation_steps(rotation: int) -> int:
    """Quarter turns counter-clockwise (``np.rot90``'s k) that put the stored picture upright."""
    return round((rotation or 0) / 90.0) % 4


def probe(path: str | Path) -> VideoInfo:
    """Describe a clip and prove its first frame decodes; :class:`VideoError` otherwise."""
    import av

    path = Path(path)
    container = _open(path)
    with container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or rate <= 0:
            raise VideoError(f"{path.name}: unknown frame rate; export it again as MP4 (H.264).")
        fps = Fraction(rate).limit_denominator(1001 * 1000)
        stream.thread_type = "AUTO"
        try:
            first = next(container.decode(stream), None)
        except (av.FFmpegError, EOFError) as exc:
            raise VideoError(
                f"{path.name}: the video data is corrupt ({_reason(exc)}); export it again."
            ) from None
        if first is None:
            raise VideoError(f"{path.name}: contains no video frames.")
        rotation = int(getattr(first, "rotation", 0) or 0)
        width, height = first.width, first.height
        codec = stream.codec_context.name
        has_audio = bool(container.streams.audio)
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        frames = int(stream.frames or 0)
    if frames <= 0:
        frames = count_packets(path)
    if rotation_steps(rotation) % 2:
        width, height = height, width
    return VideoInfo(
        path=path,
        width=width,
        height=height,
        fps=fps,
        frames=frames,
        duration=duration or frames / float(fps),
        rotation=rotation,
        has_audio=has_audio,
        codec=codec,
    )


def count_packets(path: Path) -> int:
    """Frames of the first video stream, by demuxing (no decoding)."""
    container = _open(path)
    with container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


def read_frames(path: str | Path, start: int = 0, count: int | None = None) -> Iterator[np.ndarray]:
    """Frames ``start .. start+count-1`` as upright RGB uint8 arrays, one at a time.

    A late ``start`` seeks to the keyframe before it and decodes from there.
    """
    import av

    path = Path(path)
    container = _open(path)
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        index, skip_before_time = 0, None
        if start > 0:
            rate = stream.average_rate or stream.guessed_rate
            if rate and stream.time_base:
                target = start / float(rate)
                container.seek(
                    int(target / stream.time_base) + (stream.start_time or 0),
                    stream=stream,
                    backward=True,
                    any_frame=False,
                )
                skip_before_time = target - 0.5 / float(rate)
                index = start
        produced = 0
        try:
            for frame in container.decode(stream):
                if skip_before_time is not None:
                    if frame.time is not None and frame.time < skip_before_time:
                        continue
                    skip_before_time = None
                elif index < start:
                    index += 1
                    continue
                if count is not None and produced >= count:
                    break
                k = rotation_steps(int(getattr(frame, "rotation", 0) or 0))
                image = frame.to_ndarray(format="rgb24")
                yield np.ascontiguousarray(np.rot90(image, k)) if k else image
                produced += 1
        except av.FFmpegError as exc:
            raise VideoError(
                f"{path.name}: decoding failed after {produced} frames ({_reason(exc)}); the file "
                "is damaged: export it again."
            ) from None


def read_frame(path: str | Path, index: int) -> np.ndarray:
    for frame in read_frames(path, index, 1):
        return frame
    raise VideoError(
        f"{Path(path).name} has no frame {index}; choose a frame index below its frame count."
    )


class VideoWriter:
    """Frames (RGB uint8, all one size) -> an H.264 video at ``fps``.

    ``quality`` is x264's CRF (lower is better; 18 looks like the input).
    Odd sizes, which 4:2:0 cannot hold, are written in 4:4:4.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: Fraction,
        *,
        crf: int = 18,
        preset: str = "medium",
        pix_fmt: str | None = None,
    ):
        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.width, self.height = width, height
        self.frames = 0
        mp4 = self.path.suffix.lower() in (".mp4", ".mov")
        self._container: Any = av.open(
            str(self.path), "w", options={"movflags": "+faststart"} if mp4 else {}
        )
        self._stream = self._container.add_stream("libx264", rate=fps)
        self._stream.width, self._stream.height = width, height
        odd = width % 2 or height % 2
        self._stream.pix_fmt = pix_fmt or ("yuv444p" if odd else "yuv420p")
        self._stream.time_base = Fraction(fps.denominator, fps.numerator)
        self._stream.options = {"crf": str(crf), "preset": preset}

    def write(self, image: np.ndarray) -> None:
        import av

        if image.shape[:2] != (self.height, self.width):
            raise ValueError(
                f"frame is {image.shape[1]}x{image.shape[0]}, the video {self.width}x{self.height}"
            )
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = self.frames
        self.frames += 1
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._container is None:
            return
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def mux_with_audio(video_path: Path, audio_source: Path, out_path: Path) -> bool:
    """Copy the video stream of ``video_path`` and the first audio stream of
    ``audio_source`` (cut to the video's length) into ``out_path``.

    Audio an MP4 can hold is copied untouched, anything else is re-encoded to AAC.
    Returns False (and writes the video alone) when the source has no audio.
    """
    import av

    with _open(Path(audio_source)) as src:
        if not src.streams.audio:
            _copy_file(video_path, out_path)
            return False
    with (
        _open(Path(video_path)) as vin,
        _open(Path(audio_source)) as ain,
        av.open(str(out_path), "w", options={"movflags": "+faststart"}) as out,
    ):
        v_in = vin.streams.video[0]
        a_in = ain.streams.audio[0]
        v_out = out.add_stream_from_template(v_in)
        copy_audio = a_in.codec_context.name in MP4_AUDIO
        if copy_audio:
            a_out = out.add_stream_from_template(a_in)
        else:
            a_out = out.add_stream("aac", rate=a_in.codec_context.sample_rate or 44100)
        v_base = float(v_in.time_base) if v_in.time_base else 0.0
        a_base = float(a_in.time_base) if a_in.time_base else 0.0
        end = v_in.duration * v_base if v_in.duration and v_base else None
        audio_start = a_in.start_time * a_base if a_in.start_time else 0.0

        def video_packets():
            for packet in vin.demux(v_in):
                if packet.dts is not None:
                    yield packet

        def audio_packets():
            if copy_audio:
                for packet in ain.demux(a_in):
                    if packet.dts is None:
                        continue
                    if (
                        end is not None
                        and packet.pts is not None
                        and packet.pts * a_base - audio_start >= end
                    ):
                        break
                    yield packet
            else:
                for frame in ain.decode(a_in):
                    if (
                        end is not None
                        and frame.time is not None
                        and frame.time - audio_start >= end
                    ):
                        break
                    frame.pts = None
                    yield from a_out.encode(frame)
                yield from a_out.encode()

        def when(packet) -> float:
            ts = packet.dts if packet.dts is not None else packet.pts
            return float(ts * packet.time_base) if ts is not None and packet.time_base else 0.0

        streams = [(video_packets(), v_out), (audio_packets(), a_out)]
        heads: list = [next(it, None) for it, _ in streams]
        while any(h is not None for h in heads):
            i = min((i for i, h in enumerate(heads) if h is not None), key=lambda i: when(heads[i]))
            packet = heads[i]
            if streams[i][1] is not a_out or copy_audio:
                packet.stream = streams[i][1]
            out.mux(packet)
            heads[i] = next(streams[i][0], None)
    return True


def _copy_file(source: Path, target: Path) -> None:
    import shutil

    shutil.copyfile(source, target)
