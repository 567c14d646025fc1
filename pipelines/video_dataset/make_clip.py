"""One clip of a video dataset build: convert (several at once in worker threads), check
its frames against the buckets, caption, rewrite, and save ``N.mp4`` + ``N.txt`` together."""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from pathlib import Path

from pipelines.captions import compose_caption
from pipelines.progress import Cancelled, Progress, Span
from pipelines.video_dataset.buckets import check_frames, min_video_bucket, usable_frames
from pipelines.video_dataset.build_options import VideoDatasetOptions
from pipelines.video_dataset.captioning import describe_clip_frames, rewrite_caption
from pipelines.video_dataset.clips import ClipSpan
from pipelines.video_dataset.convert import (
    ClipResult,
    ConvertError,
    ConvertOptions,
    convert_clip,
    estimate_frames,
)
from pipelines.video_dataset.frames import extract_frames
from pipelines.video_dataset.results import ClipRecord, skip


def damaged(clip: ClipResult, expected_frames: int) -> str:
    """Why a converted clip cannot be trusted ("" when it can): FFmpeg's decoder reported
    damaged data, or frames are missing against what the source's duration promises
    (a truncated file would otherwise end early or hold frozen, repeated frames)."""
    reasons = []
    if clip.decode_errors:
        reasons.append("decode errors (" + "; ".join(clip.decode_errors[:3]) + ")")
    missing = expected_frames - clip.frames
    if missing > max(2, 0.02 * expected_frames):
        reasons.append(f"{missing} of {expected_frames} frames missing ({clip.frames} decoded)")
    return ", ".join(reasons)


def conversion_workers(requested: int, clips: int, memory_per_worker: int = 768 * 1024**2) -> int:
    """How many clips FFmpeg converts at once: ``requested``, else one per CPU core this process
    may use, fewer when the available memory would not hold that many FFmpeg processes."""
    if requested > 0:
        return max(1, min(requested, max(clips, 1)))
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    memory = cores
    try:
        with open("/proc/meminfo") as f:
            available = next(
                int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")
            )
        memory = max(1, available // memory_per_worker)
    except (OSError, StopIteration, ValueError):
        pass
    return max(1, min(cores, memory, max(clips, 1)))


def too_short(clip: ClipSpan, opts: VideoDatasetOptions) -> bool:
    """Left out before converting: shorter than the smallest frame bucket (policy "drop")."""
    return (
        opts.frame_policy == "drop"
        and estimate_frames(clip.duration, opts.out_fps) < min_video_bucket(opts.buckets) - 1
    )


def place(src: Path, dst: Path) -> None:
    """Move a finished clip from the local work folder into the dataset: a rename
    on one filesystem, a copy to a hidden partial file otherwise (the dataset may be
    on shared storage), renamed over ``dst``: a reader never sees half a clip."""
    partial = dst.with_name(f".{dst.name}.partial")
    shutil.move(src, partial)
    os.replace(partial, dst)


def converter(probe, clip, tmp: Path, opts: VideoDatasetOptions, convert_opts: ConvertOptions):
    """The conversion of one clip into ``tmp`` (trimmed to a frame bucket when asked), as a
    function of its progress; raises ConvertError."""
    whole = clip.start == 0.0 and abs(clip.end - probe.duration) < 1e-6
    multiple = opts.multiple
    expected = estimate_frames(clip.duration, opts.out_fps)
    max_frames = usable_frames(expected, multiple) if opts.frame_policy == "trim" else None

    def convert(progress: Progress) -> ClipResult:
        run = lambda frames: convert_clip(  # noqa: E731
            probe.path,
            tmp,
            replace(convert_opts, max_frames=frames),
            start=0.0 if whole else clip.start,
            duration=None if whole else clip.duration,
            progress=progress,
            expected_seconds=clip.duration,
        )
        converted = run(max_frames)
        # check buckets; trim again in the rare case the estimate was one frame over
        if (
            opts.frame_policy == "trim"
            and converted.frames != usable_frames(converted.frames, multiple)
            and usable_frames(converted.frames, multiple) > 0
        ):
            converted = run(usable_frames(converted.frames, multiple))
        return converted

    return convert


class Conversion:
    """One clip's conversion in a worker thread. The thread's progress only records the
    fraction and stops at a cancel; the main thread waits (:meth:`wait`) and reports."""

    def __init__(self, pool: ThreadPoolExecutor, cancel: threading.Event, convert) -> None:
        self.cancel, self.fraction = cancel, 0.0
        self.future = pool.submit(convert, self)

    def update(self, *, stage=None, fraction=None, item=None, message=None) -> None:
        if self.cancel.is_set():
            raise Cancelled()
        if fraction is not None:
            self.fraction = max(self.fraction, fraction)

    def log(self, line: str) -> None:
        pass

    def wait(self, progress: Progress) -> ClipResult:
        while True:
            try:
                return self.future.result(timeout=0.25)
            except FutureTimeout:
                progress.update(fraction=self.fraction)  # and a chance to cancel


def make_clip(
    probe,
    clip,
    number,
    label,
    opts,
    convert_opts,
    caption_opts,
    captioner,
    rewriter,
    work,
    output_dir,
    progress,
    result,
    conversion: Conversion | None = None,
) -> ClipRecord | None:
    """Convert (or take ``conversion``'s result), check, caption and save one clip; None when it
    is left out (reason in result.skipped)."""
    buckets, multiple = opts.buckets, opts.multiple
    expected = estimate_frames(clip.duration, opts.out_fps)
    if too_short(clip, opts):
        skip(
            result,
            progress,
            probe.path,
            f"{label}: about {expected} frames, shorter than the smallest frame bucket "
            f"({min_video_bucket(buckets)}); dropped",
        )
        return None
    max_frames = usable_frames(expected, multiple) if opts.frame_policy == "trim" else None

    # convert
    progress.update(stage="convert", fraction=0.0, item=label)
    try:
        if conversion is None:
            tmp = work / f"{number}.mp4"
            converted = converter(probe, clip, tmp, opts, convert_opts)(Span(progress, 0.0, 0.7))
        else:
            converted = conversion.wait(Span(progress, 0.0, 0.7))
            tmp = converted.path
    except ConvertError as exc:
        skip(result, progress, probe.path, f"{label}: {exc}")
        return None
    damage = damaged(converted, max_frames or expected)
    if damage:
        tmp.unlink(missing_ok=True)
        skip(
            result,
            progress,
            probe.path,
            f"{label}: bad clip, left out: {damage}; the file is corrupt or "
            "truncated: export it again and add it again",
        )
        return None
    progress.update(stage="check", fraction=0.7, item=label)
    check = check_frames(converted.frames, buckets, multiple, opts.out_fps)
    if opts.frame_policy == "drop" and check.too_short:
        tmp.unlink(missing_ok=True)
        skip(
            result,
            progress,
            probe.path,
            f"{label}: {converted.frames} frames, shorter than the smallest frame "
            f"bucket ({min_video_bucket(buckets)}); dropped",
        )
        return None
    warnings = list(check.warnings)
    if opts.frame_policy != "warn":  # trimmed / dropped already: the rounding note is noise
        warnings = [w for w in warnings if "k+1:" not in w]
    if probe.variable_frame_rate:
        warnings.append(
            f"source has a variable frame rate (about {probe.fps:.2f} fps); converted to constant {opts.fps:g} fps"
        )

    # extract frames, caption, rewrite
    raw = ""
    if captioner is not None and caption_opts.provider != "none":
        try:
            progress.update(stage="extract frame", fraction=0.75, item=label)
            images = extract_frames(tmp, opts.caption_frames, total=converted.frames)
            progress.update(stage="caption", fraction=0.8, item=label)
            raw = describe_clip_frames(
                images, captioner, caption_opts.instruction, caption_opts.provider
            )
        except Cancelled:
            raise
        except Exception as exc:  # a model or API error on one clip never stops the others
            warnings.append(f"caption failed ({exc}); wrote the prefix only, edit {number}.txt")
    if rewriter is not None and raw:
        progress.update(stage="rewrite", fraction=0.9, item=label)
        try:
            raw = rewrite_caption(raw, rewriter, opts.rewrite_instruction)
        except Cancelled:
            raise
        except Exception as exc:
            warnings.append(f"rewrite failed ({exc}); kept the caption before the rewrite")
    caption = compose_caption(raw, caption_opts)

    # save: the clip and its caption together
    progress.update(stage="save", fraction=0.97, item=label)
    dst = output_dir / f"{number}.mp4"
    (output_dir / f"{number}.txt").write_text(caption + "\n", encoding="utf-8")
    place(tmp, dst)
    progress.update(fraction=1.0)
    return ClipRecord(
        number=number,
        source=probe.path,
        start=clip.start,
        end=clip.end,
        path=dst,
        caption=caption,
        frames=converted.frames,
        fps=converted.fps,
        duration=converted.duration,
        width=converted.width,
        height=converted.height,
        bucket=check.bucket,
        warnings=warnings,
    )
