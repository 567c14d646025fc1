"""Small synthetic videos for the video dataset tests (ffmpeg's lavfi sources, PyAV)."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np


def ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
    )


def make_testsrc(
    path: Path, fps: int, seconds: float, size: str = "320x240", audio: bool = False
) -> Path:
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={seconds}"]
    if audio:
        args += [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-c:a",
            "aac",
            "-shortest",
        ]
    ffmpeg(*args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path))
    return path


def vfr_brightness(t: float) -> int:
    """Grey level of the VFR test video's frame shown at time ``t`` (seconds)."""
    return int(20 + t * 70)


def make_vfr(path: Path, seconds: float = 3.0) -> Path:
    """A variable-frame-rate MP4: frame gaps alternate 20 ms and 60 ms (25 fps on
    average), and each frame's grey level encodes its timestamp."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"preset": "ultrafast"}
        pts, i = 0, 0
        while pts < seconds * 1000:
            grey = np.full((120, 160, 3), vfr_brightness(pts / 1000), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(grey, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
            pts += 20 if i % 2 == 0 else 60
            i += 1
        for packet in stream.encode():
            out.mux(packet)
    return path


def make_two_scenes(path: Path) -> Path:
    """2 s of a red picture, then 2 s of the test pattern: one hard cut at 2.0 s."""
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=red:size=160x120:rate=25:duration=2",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=25:duration=2",
        "-filter_complex",
        "[0:v][1:v]concat=n=2:v=1[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(path),
    )
    return path


def make_faststart(path: Path, fps: int, seconds: float) -> Path:
    """An H.264 MP4 with its index first (``+faststart``): cutting its tail keeps it readable
    but loses frames, as a copy interrupted halfway does."""
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size=320x240:rate={fps}:duration={seconds}",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        str(path),
    )
    return path
