"""Video dataset job kinds (seed 000): videos -> ``N.mp4`` + ``N.txt`` in
``STUDIO_HOME/datasets/<name>/``.

- ``video_dataset.build`` (CPU lane): FFmpeg conversion with captions ``none`` or
  ``api`` (an OpenAI-compatible server does the heavy part elsewhere).
- ``video_dataset.build_gpu`` (GPU lane): the same body, chosen at submit when the
  caption provider is ``local``; the vision-language model is loaded once per
  GPU worker process (``ctx.model``) and reused by every later job.

Why one job on the lane its captioner needs, not a CPU conversion job chained
to a GPU caption job: each clip is converted, captioned and saved together (the
pipeline's order), so a cancel keeps only complete clip + caption pairs and the
user follows one job with one progress bar. The price: FFmpeg runs inside the
GPU lane while a local model captions; conversion of a few clips is short
next to loading a VLM, and ``none``/``api`` jobs never wait for the GPU lane.

Submit with :func:`submit_videos` (the tab and the REST router both do): it
checks the options and the input, reserves the dataset name
(``jobs.datasets.reserve``: :class:`DatasetExists` -> HTTP 409), hands the API
key over out of band and queues the job.

The API key never enters job params, the job record, ``status.json`` or the
log: it goes through ``jobs.secrets`` (a 0600 file, deleted once the job
succeeds or is cancelled, so a re-queued or retried job still has it).

A rerun of the same job starts the dataset again: the clips of the earlier
attempt (the reserved folder holds only this job's files) are removed first.
After a cancel, the finished clips stay and are zipped with a preview.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from jobs import datasets, queue
from jobs import secrets as job_secrets
from jobs.inputs import InputError, check_size, server_path
from jobs.kinds import JobContext, job_kind
from jobs.settings import get_settings

KIND = "video_dataset.build"
KIND_GPU = "video_dataset.build_gpu"
KINDS = (KIND, KIND_GPU)

# The options a user sets (REST ``options``, the tab's controls), with defaults.
# ``api_key`` is accepted by submit_videos but never stored with these.
DEFAULT_OPTIONS: dict[str, Any] = {
    "preset": "wan",              # wan | hunyuan | ltx | custom
    "fps": None,                  # custom frame rate (preset "custom"), or override
    "max_side": None,             # longest side at most N px
    "resolution": None,           # [w, h] bucket: scale to cover + centre crop
    "split": "none",              # none | fixed | scenes
    "clip_seconds": None,
    "frame_policy": "warn",       # warn | trim | drop
    "caption_provider": "none",   # none | local | api
    "local_model": "",            # HF id or folder ("" : the caption method's model)
    "device": "auto",
    "max_new_tokens": 96,         # caption length limit (local model)
    "api_base_url": "",
    "api_models": [],             # priority order
    "api_retries": 2,
    "caption_method": "detailed",  # a CAPTION_PRESETS name
    "caption_frames": 1,          # 1: the first frame; N: N sampled frames merged
    "rewrite": False,             # LLM rewrite through the API
    "rewrite_instruction": "",
    "prefix": "A high quality video, ",
    "trigger": "",
    "make_zip": True,
}


# ---------------------------------------------------------------- options


def normalize_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """The user's options over the defaults, without the API key; unknown keys refused."""
    options = dict(options or {})
    options.pop("api_key", None)
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(DEFAULT_OPTIONS)}")
    merged = {**DEFAULT_OPTIONS, **{k: v for k, v in options.items() if v is not None}}
    if merged["preset"] in ("", "custom", None):
        merged["preset"] = "custom"
    if isinstance(merged["api_models"], str):
        merged["api_models"] = [m.strip() for m in merged["api_models"].replace("\n", ",").split(",") if m.strip()]
    return merged


def pipeline_options(options: dict[str, Any], api_key: str = ""):
    """``pipelines.video_dataset.VideoDatasetOptions`` from normalized options (resolved:
    presets filled, everything checked; raises ValueError / CaptionError naming the bad option)."""
    from pipelines.captions import CaptionOptions
    from pipelines.video_dataset import VideoDatasetOptions
    from pipelines.video_dataset.captioning import REWRITE_INSTRUCTION

    o = options
    caption = CaptionOptions(
        provider=o["caption_provider"], trigger=o["trigger"] or "", prefix=o["prefix"] or "",
        device=o["device"] or "auto", api_base_url=(o["api_base_url"] or "").strip(), api_key=api_key or "",
        api_models=list(o["api_models"] or []), api_retries=int(o["api_retries"]),
        max_new_tokens=int(o["max_new_tokens"]),
    )
    if o["local_model"]:
        caption.local_model = o["local_model"].strip()
    resolution = tuple(int(v) for v in o["resolution"]) if o["resolution"] else None
    if resolution is not None and (len(resolution) != 2 or min(resolution) < 16):
        raise ValueError("resolution must be [width, height], each at least 16 pixels")
    opts = VideoDatasetOptions(
        preset=None if o["preset"] == "custom" else o["preset"],
        fps=float(o["fps"]) if o["fps"] else None,
        max_side=int(o["max_side"]) if o["max_side"] else None,
        resolution=resolution,
        split=o["split"] or "none",
        clip_seconds=float(o["clip_seconds"]) if o["clip_seconds"] else None,
        frame_policy=o["frame_policy"],
        caption=caption,
        caption_method=o["caption_method"] or None,
        caption_frames=int(o["caption_frames"]),
        rewrite=bool(o["rewrite"]),
        rewrite_instruction=o["rewrite_instruction"] or REWRITE_INSTRUCTION,
        make_zip=False,  # the job zips into its outputs folder
    )
    resolved = opts.resolved()
    caption_options(resolved).check()
    if resolved.rewrite and not (caption.api_base_url and caption.api_models):
        raise ValueError("The caption rewrite needs an OpenAI-compatible API: set the API base URL and at least "
                         "one model, or turn the rewrite off.")
    return resolved


def caption_options(opts):
    """The caption options the pipeline will use: the caption method preset applied
    (its instruction; for a local provider its model unless the user named one)."""
    from pipelines.captions import CaptionOptions
    from pipelines.video_dataset.captioning import preset_caption_options

    caption = opts.caption
    if opts.caption_method:
        model_given = caption.local_model != CaptionOptions().local_model
        caption = preset_caption_options(caption, opts.caption_method, model_given=model_given)
    return caption


def check_options(options: dict[str, Any] | None, api_key: str = "") -> dict[str, Any]:
    """Normalized options, or ValueError with a message a user understands."""
    from pipelines.captions import CaptionError

    normalized = normalize_options(options)
    try:
        pipeline_options(normalized, api_key)
    except CaptionError as exc:
        raise ValueError(str(exc)) from None
    except (TypeError, KeyError) as exc:
        raise ValueError(f"bad option value: {exc}") from None
    return normalized


def kind_for(options: dict[str, Any]) -> str:
    return KIND_GPU if options.get("caption_provider") == "local" else KIND


# ---------------------------------------------------------------- submit


def unique_names(paths: list[str | Path]) -> dict[str, Path]:
    """{file name in the job's inputs: source}, renaming repeats (a.mp4, a-2.mp4)."""
    files: dict[str, Path] = {}
    for p in map(Path, paths):
        name, n = p.name, 1
        while name in files:
            n += 1
            name = f"{p.stem}-{n}{p.suffix}"
        files[name] = p
    return files


def submit_videos(name: str, options: dict[str, Any] | None = None, owner: str = "anonymous", *,
                  files: list[str | Path] | None = None, input_path: str | None = None,
                  api_key: str = "") -> dict[str, Any]:
    """Check, reserve the name, queue the job; returns the job record.

    Raises ValueError (bad options or input: HTTP 422), DatasetExists (409),
    DatasetNameError (422). Nothing is reserved when the checks fail.
    """
    normalized = check_options(options, api_key)
    if bool(files) == bool(input_path):
        raise InputError("Give the videos either as uploaded files (videos or a ZIP) or as a server folder, "
                         "not both and not neither.")
    source = None
    if input_path:
        source = server_path(input_path)
    for f in files or []:
        check_size(Path(f))
    folder = datasets.reserve(name, "videos", owner, {**normalized, "input_path": str(source) if source else None})
    ref = None
    try:
        ref = job_secrets.hand_over(api_key)
        params = {"dataset": folder.name, "options": normalized, "input_path": str(source) if source else None,
                  job_secrets.PARAM: ref}
        job = queue.submit(kind_for(normalized), params, owner=owner, files=unique_names(files or []),
                           title=f"Video dataset {folder.name}")
        datasets.attach_job(folder.name, job["id"])
    except BaseException:
        job_secrets.drop(ref)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return job


# ---------------------------------------------------------------- the job


@job_kind(KIND, lane="cpu", title="Video dataset")
def build_cpu(ctx: JobContext) -> dict:
    return build(ctx)


@job_kind(KIND_GPU, lane="gpu", title="Video dataset (local captions)")
def build_gpu(ctx: JobContext) -> dict:
    return build(ctx)


def build(ctx: JobContext) -> dict:
    from pipelines.captions import load_captioner
    from pipelines.progress import Cancelled
    from pipelines.video_dataset import build_video_dataset, zip_dataset

    name = ctx.params["dataset"]
    key = job_secrets.read(ctx.params.get(job_secrets.PARAM))
    out = datasets.folder(name)
    if not out.is_dir():
        raise ValueError(f"The dataset folder {name} is gone (deleted?); submit the dataset again.")
    options = pipeline_options(ctx.params["options"], key)
    _clear_earlier_attempt(out, ctx)

    if ctx.params.get("input_path"):
        inputs: list[Path] = [server_path(ctx.params["input_path"])]
    else:
        inputs = sorted(p for p in ctx.inputs.iterdir() if p.is_file())
    if not inputs:
        raise ValueError("No input: upload videos or a ZIP, or give a server folder.")

    captioner = None
    caption = caption_options(options)
    if caption.provider == "local":
        ctx.progress.update(stage="load model", fraction=0.0, message=f"loading {caption.local_model}")
        captioner = ctx.model(f"video-caption:{caption.local_model}:{caption.device}",
                              lambda: load_captioner(caption, log=ctx.log))
    zip_path = ctx.outputs / f"{name}.zip"
    ctx.outputs.mkdir(parents=True, exist_ok=True)
    try:
        result = build_video_dataset(inputs, out, options, ctx.progress, captioner=captioner)
    except Cancelled:
        _package_kept(out, zip_path, ctx)
        raise
    summary = result.as_dict()
    if ctx.params["options"].get("make_zip", True) and result.clips:
        ctx.progress.update(stage="save", fraction=0.99, message="zipping the dataset")
        summary["zip"] = str(zip_dataset(out, zip_path))
    for s in result.skipped:
        ctx.log(f"skipped {s.path.name}: {s.reason}")
    summary["dataset"] = name
    summary["warnings"] = result.warnings
    if not result.clips:
        reasons = "; ".join(s.reason for s in result.skipped) or "no video found"
        raise ValueError(f"No clip was made: {reasons}")
    return summary


def _clear_earlier_attempt(out: Path, ctx: JobContext) -> None:
    """The reserved folder holds only this job's files: a rerun starts it again."""
    from pipelines.video_dataset.dataset import DATASET_TOML, PREVIEW_NAME, clip_numbers

    numbers = clip_numbers(out)
    if not numbers:
        return
    ctx.log(f"rerun: removing {len(numbers)} clips of an earlier attempt of this job")
    for n in numbers:
        (out / f"{n}.mp4").unlink(missing_ok=True)
        (out / f"{n}.txt").unlink(missing_ok=True)
    for name in (DATASET_TOML, PREVIEW_NAME):
        (out / name).unlink(missing_ok=True)


def _package_kept(out: Path, zip_path: Path, ctx: JobContext) -> None:
    """After a cancel: preview and ZIP of the clips finished so far (best effort)."""
    from pipelines.video_dataset.dataset import PREVIEW_NAME, clip_numbers, preview_grid, zip_dataset

    if not clip_numbers(out):
        return
    try:
        preview_grid(out, out / PREVIEW_NAME)
        zip_dataset(out, zip_path)
        ctx.log(f"cancelled: kept {len(clip_numbers(out))} finished clips ({zip_path.name})")
    except Exception as exc:  # packaging is a courtesy; the clips are on disk
        ctx.log(f"cancelled: could not zip the kept clips: {exc}")
