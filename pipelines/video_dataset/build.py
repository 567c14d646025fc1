"""Build a video LoRA dataset: a folder/ZIP/list of videos -> ``N.mp4`` + ``N.txt``.

Read top to bottom, as the steps the user sees:
collect -> probe -> convert/split -> check buckets -> extract frames ->
caption -> rewrite -> save (then dataset.toml, preview grid, ZIP).

Each finished clip is moved into the output folder with its caption at once,
so a cancelled job keeps every finished clip; temporary files (partial
conversions, unpacked ZIPs) live in a hidden work folder removed at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from pipelines.captions import CaptionError, CaptionOptions, compose_caption, load_captioner
from pipelines.errors import BadInput
from pipelines.progress import Cancelled, NullProgress, Progress, Span
from pipelines.video_dataset.buckets import (
    FRAME_POLICIES,
    PRESETS,
    check_frames,
    min_video_bucket,
    usable_frames,
)
from pipelines.video_dataset.captioning import (
    DEFAULT_CAPTION_METHOD,
    DEFAULT_CAPTION_PREFIX,
    REWRITE_INSTRUCTION,
    describe_clip_frames,
    preset_caption_options,
    rewrite_caption,
)
from pipelines.video_dataset.clips import (
    SPLIT_MODES,
    ClipSpan,
    detect_scene_cuts,
    fixed_spans,
    scene_spans,
)
from pipelines.video_dataset.convert import (
    ClipResult,
    ConvertError,
    ConvertOptions,
    convert_clip,
    estimate_frames,
)
from pipelines.video_dataset.dataset import (
    clip_numbers,
    preview_beside,
    preview_grid,
    write_dataset_toml,
    zip_dataset,
)
from pipelines.video_dataset.frames import extract_frames
from pipelines.video_dataset.probe import ProbeError, VideoProbe, probe_video

NOT_VIDEO_EXTENSIONS = {
    ".jpg",
    ".jpeg",
    ".png",
    ".webp",
    ".bmp",
    ".tif",
    ".tiff",
    ".heic",
    ".heif",
    ".txt",
    ".json",
    ".toml",
    ".yaml",
    ".yml",
    ".csv",
    ".md",
    ".pdf",
    ".doc",
    ".docx",
    ".py",
    ".sh",
    ".html",
    ".xml",
    ".mp3",
    ".wav",
    ".flac",
    ".aac",
    ".m4a",
    ".ogg",
    ".srt",
    ".vtt",
    ".ds_store",
}


T = TypeVar("T")


def _settled(value: T | None, name: str) -> T:
    """An option :meth:`VideoDatasetOptions.resolved` fills in (a programming error if unset)."""
    if value is None:
        raise RuntimeError(f"option {name} is unset: call VideoDatasetOptions.resolved() first")
    return value


@dataclass
class VideoDatasetOptions:
    preset: str | None = "wan"  # wan | hunyuan | ltx | None (custom: set fps etc.)
    fps: float | None = None  # None: the preset's
    max_side: int | None = None  # longest side at most N pixels
    resolution: tuple[int, int] | None = None  # (w, h) bucket: scale to cover + centre crop
    split: str = "none"  # none | fixed | scenes ("fixed" when clip_seconds is set)
    clip_seconds: float | None = None  # fixed clip length; longest scene for "scenes"
    scene_threshold: float = 0.12  # 0..1 mean grey difference between samples
    frame_policy: str = (
        "warn"  # warn | trim (to multiple*k+1) | drop (shorter than smallest bucket)
    )
    frame_buckets: tuple[int, ...] | None = None  # None: the preset's
    frame_multiple: int | None = None  # None: the preset's (4; 8 for LTX)
    resolutions: tuple[int, ...] | None = None  # dataset.toml resolutions; None: the preset's
    caption: CaptionOptions = field(
        default_factory=lambda: CaptionOptions(prefix=DEFAULT_CAPTION_PREFIX)
    )
    caption_method: str | None = (
        DEFAULT_CAPTION_METHOD  # a CAPTION_PRESETS name; None: caption options as given
    )
    caption_frames: int = 1  # 1: the first frame; N: N sampled frames merged
    rewrite: bool = False  # LLM rewrite through an OpenAI-compatible API
    rewrite_instruction: str = REWRITE_INSTRUCTION
    crf: int = 18
    x264_preset: str = "fast"
    workers: int = 0  # clips converted at once; 0: by cores and memory
    write_toml: bool = True
    write_preview: bool = True
    preview_path: Path | None = (
        None  # None: DIR.preview.jpg beside the dataset folder, never inside it
    )
    make_zip: bool = False
    append: bool = False  # add to a folder that already has clips

    def caption_options(self) -> CaptionOptions:
        """The caption options the build uses: the caption method's preset applied (its
        instruction; for a local provider its model unless the user named one)."""
        if not self.caption_method:
            return self.caption
        model_given = self.caption.local_model != CaptionOptions().local_model
        return preset_caption_options(self.caption, self.caption_method, model_given=model_given)

    @property
    def out_fps(self) -> float:
        """The output frame rate of resolved options."""
        return _settled(self.fps, "fps")

    @property
    def buckets(self) -> tuple[int, ...]:
        """The frame buckets of resolved options."""
        return _settled(self.frame_buckets, "frame_buckets")

    @property
    def multiple(self) -> int:
        """The frame multiple of resolved options."""
        return _settled(self.frame_multiple, "frame_multiple")

    @property
    def toml_resolutions(self) -> tuple[int, ...]:
        """The dataset.toml resolutions of resolved options."""
        return _settled(self.resolutions, "resolutions")

    def resolved(self) -> VideoDatasetOptions:
        """Fill preset values and check everything; raises ValueError naming the bad option."""
        preset = None
        if self.preset:
            if self.preset not in PRESETS:
                raise BadInput(
                    f"unknown preset {self.preset!r}: use one of {', '.join(PRESETS)} or none (custom)"
                )
            preset = PRESETS[self.preset]
        fps = self.fps or (preset.fps if preset else None)
        if not fps or fps <= 0 or fps > 240:
            raise BadInput(
                "frame rate must be between 0 and 240 fps (or choose a preset: wan, hunyuan, ltx)"
            )
        split = self.split or "none"
        if split == "none" and self.clip_seconds:
            split = "fixed"
        if split not in SPLIT_MODES:
            raise BadInput(f"unknown split mode {split!r}: use one of {', '.join(SPLIT_MODES)}")
        if split == "fixed" and not (self.clip_seconds and self.clip_seconds > 0):
            raise BadInput("splitting into fixed-length clips needs a clip length in seconds (> 0)")
        if self.frame_policy not in FRAME_POLICIES:
            raise BadInput(
                f"unknown frame policy {self.frame_policy!r}: use one of {', '.join(FRAME_POLICIES)}"
            )
        if self.max_side is not None and self.max_side < 16:
            raise BadInput("max side must be at least 16 pixels")
        if self.caption_frames < 1 or self.caption_frames > 16:
            raise BadInput("frames to caption must be between 1 and 16")
        return replace(
            self,
            fps=float(fps),
            split=split,
            frame_buckets=tuple(
                self.frame_buckets or (preset.frame_buckets if preset else (1, 33, 65))
            ),
            frame_multiple=self.frame_multiple or (preset.frame_multiple if preset else 4),
            resolutions=tuple(self.resolutions or (preset.resolutions if preset else (512,))),
        )


@dataclass
class ClipRecord:
    number: int
    source: Path
    start: float
    end: float
    path: Path
    caption: str
    frames: int
    fps: float
    duration: float
    width: int
    height: int
    bucket: int | None
    warnings: list[str] = field(default_factory=list)


@dataclass
class SkippedFile:
    path: Path
    reason: str


@dataclass
class VideoDatasetResult:
    output_dir: Path
    clips: list[ClipRecord] = field(default_factory=list)
    skipped: list[SkippedFile] = field(
        default_factory=list
    )  # files or clips left out, with the reason
    probes: list[VideoProbe] = field(default_factory=list)
    dataset_toml: Path | None = None
    preview: Path | None = None
    zip_path: Path | None = None
    seconds: float = 0.0

    @property
    def total_duration(self) -> float:
        return sum(c.duration for c in self.clips)

    @property
    def warnings(self) -> list[str]:
        return [f"{c.number}.mp4 ({c.source.name}): {w}" for c in self.clips for w in c.warnings]

    def as_dict(self) -> dict:
        """JSON-ready summary for a job record's outputs."""
        return {
            "output_dir": str(self.output_dir),
            "clips": [
                {
                    "number": c.number,
                    "file": c.path.name,
                    "source": c.source.name,
                    "start": round(c.start, 3),
                    "end": round(c.end, 3),
                    "frames": c.frames,
                    "fps": c.fps,
                    "duration": round(c.duration, 3),
                    "width": c.width,
                    "height": c.height,
                    "bucket": c.bucket,
                    "caption": c.caption,
                    "warnings": c.warnings,
                }
                for c in self.clips
            ],
            "skipped": [{"file": s.path.name, "reason": s.reason} for s in self.skipped],
            "total_duration": round(self.total_duration, 3),
            "dataset_toml": str(self.dataset_toml) if self.dataset_toml else None,
            "preview": str(self.preview) if self.preview else None,
            "zip": str(self.zip_path) if self.zip_path else None,
            "seconds": round(self.seconds, 2),
        }


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

    work = Path(tempfile.mkdtemp(prefix=".video-dataset-work-", dir=output_dir))
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
                _skip(result, progress, path, str(exc))
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
                if _too_short(clip, opts)
                else _Conversion(
                    pool, cancel, _converter(probe, clip, work / f"item{k}.mp4", opts, convert_opts)
                )
                for k, (probe, clip, _, _) in enumerate(items)
            ]
            try:
                for (probe, clip, label, clip_span), conversion in zip(
                    items, conversions, strict=True
                ):
                    record = _make_clip(
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


def collect_inputs(
    inputs, unpack_dir: Path, skipped: list[SkippedFile] | None = None
) -> list[Path]:
    """Files to probe, in a stable order: folders searched recursively, ZIPs unpacked
    safely into ``unpack_dir``. Obvious non-videos (images, text) are added to
    ``skipped``; everything else is probed."""
    skipped = skipped if skipped is not None else []
    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    files: list[Path] = []
    for n, item in enumerate(items):
        path = Path(item)
        if path.is_dir():
            candidates = sorted(
                p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path))
            )
        elif path.is_file() and path.suffix.lower() == ".zip":
            try:
                candidates = _unpack_zip(path, unpack_dir / f"{n}-{path.stem}", skipped)
            except ValueError as exc:
                skipped.append(SkippedFile(path, str(exc)))
                continue
        elif path.is_file():
            candidates = [path]
        else:
            skipped.append(SkippedFile(path, f"{path}: not found; check the path"))
            continue
        for p in candidates:
            ext = p.suffix.lower()
            if ext in NOT_VIDEO_EXTENSIONS or (ext == ".zip" and p != path):
                skipped.append(
                    SkippedFile(
                        p,
                        f"{p.name}: not a video ({ext or 'no extension'}); only video files are used",
                    )
                )
            else:
                files.append(p)
    return files


def _unpack_zip(path: Path, dest: Path, skipped: list[SkippedFile]) -> list[Path]:
    """Unpack with the photo pipeline's safe unpack (unsafe paths, links, zip bombs
    refused), keeping video entries; refused entries are reported as skipped files."""
    from pipelines.photo_dataset import unpack

    got = unpack.safe_unpack_zip(path, dest, skip_reason=_video_skip_reason)
    skipped.extend(SkippedFile(Path(s.name), f"{s.name}: {s.reason}") for s in got.skipped)
    return [f.path for f in got.files]


def _video_skip_reason(name: str) -> str | None:
    ext = Path(name).suffix.lower()
    if ext in NOT_VIDEO_EXTENSIONS:
        return f"not a video ({ext}); only video files are used"
    return None


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in rel.parts)


def _skip(result: VideoDatasetResult, progress: Progress, path: Path, reason: str) -> None:
    result.skipped.append(SkippedFile(Path(path), reason))
    progress.log(f"skipped: {reason}")


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
        spans = fixed_spans(
            probe.duration, _settled(opts.clip_seconds, "clip_seconds"), min_seconds
        )
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
        _skip(
            result,
            progress,
            probe.path,
            f"{probe.path.name}: too short to make a clip of the smallest frame bucket",
        )
    return spans


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


def _too_short(clip: ClipSpan, opts: VideoDatasetOptions) -> bool:
    """Left out before converting: shorter than the smallest frame bucket (policy "drop")."""
    return (
        opts.frame_policy == "drop"
        and estimate_frames(clip.duration, opts.out_fps) < min_video_bucket(opts.buckets) - 1
    )


def _converter(probe, clip, tmp: Path, opts: VideoDatasetOptions, convert_opts: ConvertOptions):
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


class _Conversion:
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


def _make_clip(
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
    conversion: _Conversion | None = None,
) -> ClipRecord | None:
    """Convert (or take ``conversion``'s result), check, caption and save one clip; None when it
    is left out (reason in result.skipped)."""
    buckets, multiple = opts.buckets, opts.multiple
    expected = estimate_frames(clip.duration, opts.out_fps)
    if _too_short(clip, opts):
        _skip(
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
            converted = _converter(probe, clip, tmp, opts, convert_opts)(Span(progress, 0.0, 0.7))
        else:
            converted = conversion.wait(Span(progress, 0.0, 0.7))
            tmp = converted.path
    except ConvertError as exc:
        _skip(result, progress, probe.path, f"{label}: {exc}")
        return None
    damage = damaged(converted, max_frames or expected)
    if damage:
        tmp.unlink(missing_ok=True)
        _skip(
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
        _skip(
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
    os.replace(tmp, dst)
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
