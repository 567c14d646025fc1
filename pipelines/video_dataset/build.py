"""Build a video LoRA dataset: a folder/ZIP/list of videos -> ``N.mp4`` + ``N.txt``.

Read top to bottom, as the steps the user sees:
collect -> probe -> convert/split -> check buckets -> extract frames ->
caption -> rewrite -> save (then dataset.toml, preview grid, ZIP).

Each finished clip is moved into the output folder with its caption at once,
so a cancelled job keeps every finished clip; temporary files (partial
conversions, unpacked ZIPs) live in a work folder on local disk (``TMPDIR``,
never beside the dataset, which may be on storage shared by several machines)
removed at the end.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from pipelines.captions import CaptionError, load_captioner
from pipelines.errors import BadInput
from pipelines.progress import NullProgress, Progress, Span
from pipelines.video_dataset.buckets import min_video_bucket
from pipelines.video_dataset.build_options import VideoDatasetOptions, settled
from pipelines.video_dataset.clips import ClipSpan, detect_scene_cuts, fixed_spans, scene_spans
from pipelines.video_dataset.convert import ConvertOptions
from pipelines.video_dataset.dataset import (
    clip_numbers,
    preview_beside,
    preview_grid,
    write_dataset_toml,
    zip_dataset,
)
from pipelines.video_dataset.inputs import NOT_VIDEO_EXTENSIONS, collect_inputs
from pipelines.video_dataset.make_clip import (
    Conversion,
    conversion_workers,
    converter,
    damaged,
    make_clip,
    too_short,
)
from pipelines.video_dataset.probe import ProbeError, VideoProbe, probe_video
from pipelines.video_dataset.results import ClipRecord, SkippedFile, VideoDatasetResult, skip

__all__ = [  # the build's names, importable from here as before the split
    "NOT_VIDEO_EXTENSIONS",
    "ClipRecord",
    "SkippedFile",
    "VideoDatasetOptions",
    "VideoDatasetResult",
    "build_video_dataset",
    "collect_inputs",
    "conversion_workers",
    "damaged",
]


def build_video_dataset(
    inputs: str | Path | Sequence[str | Path],
    output_dir: str | Path,
    options: VideoDatasetOptions | None = None,
    progress: Progress | None = None,
    captioner=None,
    rewriter=None,
    left_out: list[tuple[str, str]] | None = None,
) -> VideoDatasetResult:
    """Turn videos into a training set of ``N.mp4`` + ``N.txt`` in ``output_dir``.

    ``inputs``: a folder (searched recursively), a ZIP, a video file, or a list of
    these. ``captioner``/``rewriter``: already loaded ones (a worker keeps them);
    when None they are loaded from ``options.caption``. ``left_out``: (name, reason)
    of files the caller already refused (a link leaving the allowed folders), reported
    with the skipped ones. Files that are not videos
    or are corrupt are listed in ``result.skipped`` with the reason; the rest are
    processed. Raises ValueError / CaptionError for bad options before any work,
    and :class:`pipelines.progress.Cancelled` when the job is cancelled.
    """
    started = time.monotonic()
    opts = (options or VideoDatasetOptions()).resolved()
    progress = progress or NullProgress()
    output_dir = Path(output_dir)
    result = VideoDatasetResult(output_dir=output_dir)

    existing = clip_numbers(output_dir)
    if existing and not opts.append:
        raise BadInput(
            f"{output_dir} already holds a dataset ({len(existing)} clips): choose a new dataset name, "
            "or add to it with the 'append' option"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    next_number = (existing[-1] + 1) if existing else 1

    caption_opts, captioner, rewriter = _prepare_captioners(opts, captioner, rewriter, progress)
    convert_opts = ConvertOptions(
        fps=opts.out_fps,
        max_side=opts.max_side,
        resolution=opts.resolution,
        crf=opts.crf,
        preset=opts.x264_preset,
    )

    # Scratch on local disk (TMPDIR), never in the dataset's folder: that lies in the
    # shared STUDIO_HOME when workers run on several machines.
    work = Path(tempfile.mkdtemp(prefix="video-dataset-work-"))
    try:
        # 1. collect
        progress.update(stage="collect", fraction=0.0, message="finding videos")
        result.skipped += [SkippedFile(Path(name), reason) for name, reason in left_out or []]
        files = collect_inputs(inputs, work / "unpacked", result.skipped)
        for skipped in result.skipped:
            progress.log(f"skipped: {skipped.reason}")
        if not files and not result.skipped:
            raise BadInput(
                "no files found in the input: give a folder, a ZIP or a list of video files"
            )

        # 2. probe
        for i, path in enumerate(files):
            progress.update(stage="probe", fraction=0.05 * i / max(len(files), 1), item=path.name)
            try:
                result.probes.append(probe_video(path))
            except ProbeError as exc:
                skip(result, progress, path, str(exc))
        if not result.probes:
            progress.log("no readable video in the input")

        # 3.-8. per video: plan clips, then for each clip convert, check, caption, save
        total_seconds = sum(p.duration for p in result.probes) or 1.0
        done_seconds = 0.0
        items: list[tuple[VideoProbe, ClipSpan, str, Span]] = []
        for probe in result.probes:
            start = 0.05 + 0.9 * done_seconds / total_seconds
            done_seconds += probe.duration
            span = Span(
                progress, start, 0.05 + 0.9 * done_seconds / total_seconds
            )  # the next one's start, exactly
            spans = _plan_clips(probe, opts, span, result)
            for k, clip in enumerate(spans):
                label = probe.path.name + (
                    f" [clip {k + 1}/{len(spans)}]" if len(spans) > 1 else ""
                )
                items.append((probe, clip, label, Span(span, k / len(spans), (k + 1) / len(spans))))
        # FFmpeg converts several clips at once (worker threads wait on the ffmpeg processes);
        # the clips are checked, captioned and saved here one by one, in order
        workers = conversion_workers(opts.workers, len(items))
        if items:
            progress.log(f"converting {len(items)} clips, {workers} at a time")
        cancel = threading.Event()
        with ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="convert") as pool:
            conversions = [
                None
                if too_short(clip, opts)
                else Conversion(
                    pool, cancel, converter(probe, clip, work / f"item{k}.mp4", opts, convert_opts)
                )
                for k, (probe, clip, _, _) in enumerate(items)
            ]
            try:
                for (probe, clip, label, clip_span), conversion in zip(
                    items, conversions, strict=True
                ):
                    record = make_clip(
                        probe,
                        clip,
                        next_number,
                        label,
                        opts,
                        convert_opts,
                        caption_opts,
                        captioner,
                        rewriter,
                        work,
                        output_dir,
                        clip_span,
                        result,
                        conversion,
                    )
                    if record:
                        result.clips.append(record)
                        next_number += 1
                        for w in record.warnings:
                            progress.log(f"warning: {record.number}.mp4 ({label}): {w}")
            except BaseException:
                cancel.set()  # running ffmpegs are killed at their next report, queued ones never start
                for c in conversions:
                    if c is not None:
                        c.future.cancel()
                raise

        # 9. dataset files
        progress.update(
            stage="save", fraction=0.96, item=None, message="writing dataset.toml and preview"
        )
        if opts.write_toml:
            result.dataset_toml = write_dataset_toml(
                output_dir, opts.buckets, opts.toml_resolutions
            )
        if opts.write_preview and clip_numbers(output_dir):
            # outside the training folder: a trainer would take a JPEG inside it for a sample
            result.preview = preview_grid(
                output_dir, opts.preview_path or preview_beside(output_dir)
            )
        if opts.make_zip:
            progress.update(stage="save", fraction=0.98, message="zipping the dataset")
            result.zip_path = zip_dataset(output_dir)
        result.seconds = time.monotonic() - started
        progress.update(
            stage="done",
            fraction=1.0,
            message=f"{len(result.clips)} clips, {result.total_duration:.1f} s; {len(result.skipped)} skipped",
        )
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- steps


def _prepare_captioners(opts: VideoDatasetOptions, captioner, rewriter, progress: Progress):
    """Caption options with the method preset applied; the captioner and the
    rewriter loaded up front, so a missing model or a bad API fails before any work."""
    caption_opts = opts.caption_options()
    caption_opts.check()
    if captioner is None and caption_opts.provider != "none":
        progress.update(
            stage="load model",
            fraction=0.0,
            message=f"loading the {caption_opts.provider} captioner",
        )
        captioner = load_captioner(caption_opts, log=progress.log, progress=progress)
    if not opts.rewrite:
        return caption_opts, captioner, None
    if rewriter is None:
        if caption_opts.provider == "api":
            rewriter = captioner
        elif caption_opts.api_base_url and caption_opts.api_models:
            rewriter = load_captioner(
                replace(caption_opts, provider="api"), log=progress.log, progress=progress
            )
        else:
            raise CaptionError(
                "The caption rewrite needs an OpenAI-compatible API: set the API base URL and at least one model "
                "(the local caption model cannot rewrite text), or turn the rewrite off."
            )
    return caption_opts, captioner, rewriter


def _plan_clips(
    probe: VideoProbe, opts: VideoDatasetOptions, progress: Progress, result: VideoDatasetResult
) -> list[ClipSpan]:
    """Which parts of a video become clips (the whole video unless split)."""
    min_seconds = 0.5 / opts.out_fps
    if opts.frame_policy == "drop":
        min_seconds = (min_video_bucket(opts.buckets) - 0.5) / opts.out_fps
    if opts.split == "fixed":
        spans = fixed_spans(probe.duration, settled(opts.clip_seconds, "clip_seconds"), min_seconds)
    elif opts.split == "scenes":
        progress.update(
            stage="scenes", fraction=0.0, item=probe.path.name, message="finding scene cuts"
        )
        cuts = detect_scene_cuts(probe.path, opts.scene_threshold)
        spans = scene_spans(probe.duration, cuts, opts.clip_seconds, min_seconds)
        progress.log(f"{probe.path.name}: {len(cuts)} scene cuts -> {len(spans)} clips")
    else:
        spans = [ClipSpan(0.0, probe.duration)]
    if not spans:
        skip(
            result,
            progress,
            probe.path,
            f"{probe.path.name}: too short to make a clip of the smallest frame bucket",
        )
    return spans
