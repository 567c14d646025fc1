"""Convert a video (or one clip of it) to a training clip with the ffmpeg binary.

One ffmpeg run per clip: ``-ss START -t LEN -i SRC -vf fps=F,scale=...
-c:v libx264 -pix_fmt yuv420p -an``. ffmpeg's ``fps`` filter places frames by
their timestamps, so variable-frame-rate phone videos come out at a constant
rate with their duration kept. The binary is imageio-ffmpeg's, so nothing has
to be installed on the system.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipelines.child_env import clean_env, guarded_argv
from pipelines.progress import NullProgress, Progress
from pipelines.video_probe import ffmpeg_input_options, open_video


class ConvertError(RuntimeError):
    """ffmpeg failed on a file; the message carries ffmpeg's last error lines."""


@dataclass
class ConvertOptions:
    fps: float = 16.0
    max_side: int | None = None  # longest side at most this (keeps aspect)
    resolution: tuple[int, int] | None = None  # (width, height): scale to cover, centre crop
    crf: int = 18
    preset: str = "fast"  # libx264 preset
    threads: int = 0  # 0: ffmpeg decides
    max_frames: int | None = None  # stop after this many output frames


@dataclass
class ClipResult:
    path: Path
    frames: int
    fps: float
    duration: float
    width: int
    height: int
    has_audio: bool
    decode_errors: list[str] = field(
        default_factory=list
    )  # what FFmpeg's decoder reported (corrupt data)


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def video_filter(options: ConvertOptions) -> str:
    """The ``-vf`` chain: constant frame rate, then size (even sides for yuv420p), square pixels."""
    parts = [f"fps={options.fps:g}"]
    if options.resolution:
        w, h = (int(v) // 2 * 2 for v in options.resolution)
        parts.append(f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}")
    elif options.max_side:
        n = int(options.max_side)
        parts.append(
            f"scale='if(gte(iw,ih),trunc(min({n},iw)/2)*2,-2)':'if(gte(iw,ih),-2,trunc(min({n},ih)/2)*2)'"
        )
    else:  # a no-op (passthrough) unless a side is odd
        parts.append("scale=trunc(iw/2)*2:trunc(ih/2)*2")
    parts.append("setsar=1")
    return ",".join(parts)


def ffmpeg_command(
    src: Path, dst: Path, options: ConvertOptions, start: float = 0.0, duration: float | None = None
) -> list[str]:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    if start > 0:
        cmd += ["-ss", f"{start:.6f}"]
    if duration is not None:
        cmd += ["-t", f"{duration:.6f}"]
    cmd += [*ffmpeg_input_options(), "-i", str(src), "-map", "0:v:0", "-vf", video_filter(options)]
    if options.max_frames:
        cmd += ["-frames:v", str(int(options.max_frames))]
    cmd += [
        "-c:v",
        "libx264",
        "-preset",
        options.preset,
        "-crf",
        str(options.crf),
        "-pix_fmt",
        "yuv420p",
        "-an",
        "-sn",
        "-dn",
        "-map_metadata",
        "-1",
        "-movflags",
        "+faststart",
    ]
    if options.threads:
        cmd += ["-threads", str(options.threads)]
    cmd += ["-progress", "pipe:1", "-nostats", str(dst)]
    return cmd


def convert_clip(
    src: str | Path,
    dst: str | Path,
    options: ConvertOptions | None = None,
    *,
    start: float = 0.0,
    duration: float | None = None,
    progress: Progress | None = None,
    expected_seconds: float | None = None,
) -> ClipResult:
    """Convert ``src`` (from ``start`` for ``duration`` seconds) into ``dst`` (MP4).

    Writes to a temporary name and renames on success, so ``dst`` is either
    complete or absent. ``progress.update(fraction=...)`` reports this clip's
    0..1 while ffmpeg runs (``expected_seconds``: the source's length when
    converting a whole video, for that fraction); when it raises (the job was cancelled) ffmpeg is
    killed, the partial file removed and the exception re-raised.
    """
    src, dst = Path(src), Path(dst)
    options = options or ConvertOptions()
    progress = progress or NullProgress()
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.partial{dst.suffix}")
    cmd = ffmpeg_command(src, tmp, options, start, duration)
    expected = duration if duration is not None else expected_seconds
    # stderr to a file: a damaged video can print more errors than a pipe holds
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errors:
        env = clean_env()
        proc = subprocess.Popen(
            guarded_argv(cmd, env=env), stdout=subprocess.PIPE, stderr=errors, text=True, env=env
        )
        assert proc.stdout is not None  # stdout=PIPE
        try:
            for line in proc.stdout:  # -progress key=value lines, a block every ~0.5 s
                if not line.startswith("out_time_us="):
                    continue
                try:
                    done = int(line.split("=", 1)[1]) / 1e6
                except ValueError:
                    done = 0.0
                # each report is a chance to cancel, with or without a fraction
                progress.update(fraction=min(max(done / expected, 0.0), 1.0) if expected else None)
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            tmp.unlink(missing_ok=True)
            raise
        finally:
            proc.stdout.close()
        errors.seek(0)
        stderr = errors.read()
    if code != 0 or not tmp.exists() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        tail = " ".join(stderr.strip().splitlines()[-3:]) or f"exit code {code}"
        raise ConvertError(f"{src.name}: ffmpeg could not convert it ({tail})")
    os.replace(tmp, dst)
    return replace(describe_clip(dst), decode_errors=decode_errors(stderr))


# What FFmpeg prints (at -loglevel error) when the source's video data is damaged:
# a truncated file ("partial file", NAL units cut off) or corrupt bytes (macroblock errors).
_DECODE_ERROR_MARKS = (
    "partial file",
    "error while decoding",
    "invalid nal unit",
    "missing picture",
    "error splitting the input",
    "concealing",
    "corrupt",
    "invalid data found",
    "decode_slice_header error",
    "non-existing pps",
    "no frame!",
    "left block unavailable",
    "out of range intra",
    "cbp too large",
    "top block unavailable",
)


def decode_errors(stderr: str) -> list[str]:
    """FFmpeg's error lines that say the video data is damaged (at most 5, without the [codec @ 0x...] tag)."""
    found = []
    for raw in stderr.splitlines():
        text = raw.split("] ", 1)[-1].strip()
        if any(mark in raw.lower() for mark in _DECODE_ERROR_MARKS) and text not in found:
            found.append(text)
    return found[:5]


def describe_clip(path: str | Path) -> ClipResult:
    """Frame count, fps, duration and size of a converted clip (PyAV, no decoding)."""

    path = Path(path)
    with open_video(path) as container:
        stream = container.streams.video[0]
        frames = int(stream.frames or 0)
        fps = float(stream.average_rate or 0)
        duration = (
            float(stream.duration * stream.time_base)
            if stream.duration and stream.time_base
            else 0.0
        )
        if not frames:  # container without a frame count: count packets
            frames = sum(1 for p in container.demux(stream) if p.size)
        return ClipResult(
            path=path,
            frames=frames,
            fps=fps,
            duration=duration or (frames / fps if fps else 0.0),
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            has_audio=bool(container.streams.audio),
        )


def estimate_frames(duration: float, fps: float) -> int:
    """Frames ffmpeg's fps filter makes from ``duration`` seconds (±1)."""
    return max(math.floor(duration * fps + 0.5), 0)
