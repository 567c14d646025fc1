"""Video dataset job kinds (seed 000): videos -> ``N.mp4`` + ``N.txt`` in
``STUDIO_HOME/datasets/<owner>/<name>/``.

- ``video_dataset.build`` (CPU lane): FFmpeg conversion with captions ``none`` or
  ``api`` (an OpenAI-compatible server does the heavy part elsewhere).
- ``video_dataset.build_gpu`` (GPU lane): the same body, chosen at submit when the
  caption provider is ``local``; the vision-language model is loaded once per
  GPU worker process (``ctx.model``) and reused by every later job.

Why one job on the lane its captioner needs, not a CPU conversion job chained
to a GPU caption job: each clip is converted, captioned and saved together (the
pipeline's order), so a cancel keeps only complete clip + caption pairs and the
user follows one job with one progress bar.

Submit with :func:`submit_videos` (the tab and the REST router both call it): it
checks the options (:class:`pipelines.video_dataset.options.VideoOptions`, the one
definition) and the input, reserves the dataset name (``jobs.datasets.reserve``:
409 when the user already has that name), binds the job to the dataset record
(``jobs.datasets.REF``, checked again by ``datasets.bound_folder`` when the job runs
and when it is retried), hands the API key over out of band (``jobs.secrets``: never in
params, records, ``status.json`` or the log) and queues the job.

A server folder is read through ``jobs.inputs.server_files``: every file in it is
resolved and checked against STUDIO_ALLOWED_ROOTS; a link to a place outside is
left out and named in the result. A rerun of the same job starts the dataset
again; after a cancel the finished clips stay and are zipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jobs import datasets, queue, store
from jobs import secrets as job_secrets
from jobs.access import User, user_named
from jobs.endpoints import api_endpoint
from jobs.inputs import InputError, check_size, server_files, server_path
from jobs.kinds import JobContext, job_kind
from jobs.registry import Tab, Tool, register
from pipelines.video_dataset.options import OptionsError, VideoOptions

KIND = "video_dataset.build"
KIND_GPU = "video_dataset.build_gpu"
KINDS = (KIND, KIND_GPU)
PREVIEW = "preview.jpg"  # in the job's outputs, never in the training folder

__all__ = ["KIND", "KINDS", "KIND_GPU", "OptionsError", "kind_for", "submit_videos", "unique_names"]


def kind_for(options: VideoOptions) -> str:
    return KIND_GPU if options.caption_provider == "local" else KIND


def unique_names(paths: Sequence[str | Path]) -> dict[str, str | Path]:
    """{file name in the job's inputs: source}, renaming repeats (a.mp4, a-2.mp4)."""
    files: dict[str, str | Path] = {}
    for p in map(Path, paths):
        name, n = p.name, 1
        while name in files:
            n += 1
            name = f"{p.stem}-{n}{p.suffix}"
        files[name] = p
    return files


def _check_container(upload: Path) -> None:
    """An uploaded video in a container no tool opens (an HLS playlist, a concat list) is
    refused at once (422); ZIPs and files the build leaves out by their extension pass."""
    from pipelines.video_dataset.build import NOT_VIDEO_EXTENSIONS
    from pipelines.video_probe import check_container

    ext = upload.suffix.lower()
    if ext != ".zip" and ext not in NOT_VIDEO_EXTENSIONS:
        check_container(upload)


def submit_videos(
    name: str,
    options: VideoOptions | dict[str, Any] | None,
    user: User,
    *,
    files: list[str | Path] | None = None,
    input_path: str | None = None,
    api_key: str = "",
) -> store.Job:
    """Check, reserve the name, queue the job; returns the job record.

    Raises OptionsError / InputError / DatasetNameError (422), DatasetExists (409).
    Nothing is reserved when a check fails.
    """
    opts = options if isinstance(options, VideoOptions) else VideoOptions.parse(options)
    opts = checked_references(opts, user)
    opts.plan(api_key)  # every option checked before anything is reserved
    if bool(files) == bool(input_path):
        raise InputError(
            "Give the videos either as uploaded files (videos or a ZIP) or as a server folder, "
            "not both and not neither."
        )
    source = server_path(input_path) if input_path else None
    for f in files or []:
        check_size(Path(f))
        _check_container(Path(f))
    stored = opts.stored()
    folder = datasets.reserve(
        name, "videos", user.name, {**stored, "input_path": str(source) if source else None}
    )
    ref = job_secrets.hand_over(api_key)

    def undo() -> None:
        job_secrets.drop(ref)
        datasets.unreserve(folder)

    params = {
        "dataset": folder.name,
        datasets.REF: datasets.ref(folder),
        "options": stored,
        "input_path": str(source) if source else None,
        job_secrets.PARAM: ref,
    }
    job = queue.submit_reserved(
        undo,
        kind_for(opts),
        params,
        owner=user.name,
        files=unique_names(files or []),
        title=f"Video dataset {folder.name}",
    )
    datasets.attach_job(folder, job["id"])
    return job


def checked_references(opts: VideoOptions, user: User) -> VideoOptions:
    """The options with their API endpoint and caption model checked for ``user``
    (jobs.endpoints, jobs.models): what is stored names the endpoint, not its URL."""
    from jobs.models import caption_model

    endpoint = api_endpoint(opts.api_endpoint, opts.api_base_url, user)
    opts = opts.model_copy(
        update={
            "api_endpoint": endpoint.name if endpoint else "",
            "api_base_url": endpoint.typed_url if endpoint else "",
        }
    )
    if opts.caption_provider == "local":
        caption_model(opts.plan().caption_options().local_model, "local_model")
    return opts


# ---------------------------------------------------------------- the job


@job_kind(KIND, lane="cpu", title="Video dataset", check=datasets.still_bound)
def build_cpu(ctx: JobContext) -> dict:
    return build(ctx)


@job_kind(KIND_GPU, lane="gpu", title="Video dataset (local captions)", check=datasets.still_bound)
def build_gpu(ctx: JobContext) -> dict:
    return build(ctx)


def _inputs(ctx: JobContext) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files to read and the ones left out (name, reason): a server folder is read
    file by file through the one server-path check; uploads are the job's inputs."""
    if not ctx.params.get("input_path"):
        return sorted(p for p in ctx.inputs.iterdir() if p.is_file()), []
    source = server_path(ctx.params["input_path"])
    if not source.is_dir():
        return [source], []
    files, skipped = server_files(source)
    left_out = [(text.split(":", 1)[0], text) for text in skipped]
    return files, left_out


def build(ctx: JobContext) -> dict:
    from jobs.models import caption_model
    from pipelines.captions import load_captioner
    from pipelines.progress import Cancelled, Span
    from pipelines.video_dataset import build_video_dataset, zip_dataset

    name = ctx.params["dataset"]
    key = job_secrets.read(ctx.params.get(job_secrets.PARAM))
    out = datasets.bound_folder(ctx.params)  # deleted or made again since: the job stops here
    options = VideoOptions.parse(ctx.params["options"])
    endpoint = api_endpoint(options.api_endpoint, options.api_base_url, user_named(ctx.owner))
    options = options.model_copy(update={"api_base_url": endpoint.url if endpoint else ""})
    plan = options.plan(key)
    ctx.outputs.mkdir(parents=True, exist_ok=True)
    plan.preview_path = ctx.outputs / PREVIEW
    notes = [note for note in (options.rewrite_skipped(),) if note]
    for note in notes:
        ctx.log(f"note: {note}")
    _clear_earlier_attempt(out, ctx)

    inputs, left_out = _inputs(ctx)
    if not inputs and not left_out:
        raise InputError(
            "No input: upload videos or a ZIP, or give a server folder that holds videos."
        )

    captioner = None
    caption = plan.caption_options()
    if caption.provider == "local":
        caption.local_model = caption_model(caption.local_model, "local_model", ctx.progress) or ""
        plan.caption.local_model = caption.local_model
        ctx.progress.update(
            stage="load model", fraction=0.0, message=f"loading {caption.local_model}"
        )
        captioner = ctx.model(
            f"video-caption:{caption.local_model}:{caption.device}",
            lambda: load_captioner(caption, log=ctx.log),
        )
    zip_path = ctx.outputs / f"{name}.zip"
    try:
        # the ZIP is the last step: the build's 100 % is 98 % of the job, so progress never goes back
        progress = Span(ctx.progress, 0.0, 0.98) if options.make_zip else ctx.progress
        result = build_video_dataset(
            inputs, out, plan, progress, captioner=captioner, left_out=left_out
        )
    except Cancelled:
        _package_kept(out, zip_path, ctx)
        raise
    summary = result.as_dict()
    if options.make_zip and result.clips:
        ctx.progress.update(stage="save", fraction=0.99, message="zipping the dataset")
        summary["zip"] = str(zip_dataset(out, zip_path))
    for s in result.skipped:
        ctx.log(f"left out {s.path.name}: {s.reason}")
    summary.update(
        dataset=name,
        warnings=result.warnings,
        notes=notes,
        bad_clips=[s for s in summary["skipped"] if "bad clip" in s["reason"]],
    )
    if not result.clips:
        reasons = "; ".join(s.reason for s in result.skipped) or "no video found"
        raise InputError(f"No clip was made: {reasons}")
    return summary


def _clear_earlier_attempt(out: Path, ctx: JobContext) -> None:
    """The reserved folder holds only this job's files: a rerun starts it again."""
    from pipelines.video_dataset.dataset import DATASET_TOML, clip_numbers

    numbers = clip_numbers(out)
    if not numbers:
        return
    ctx.log(f"rerun: removing {len(numbers)} clips of an earlier attempt of this job")
    for n in numbers:
        (out / f"{n}.mp4").unlink(missing_ok=True)
        (out / f"{n}.txt").unlink(missing_ok=True)
    (out / DATASET_TOML).unlink(missing_ok=True)


def _package_kept(out: Path, zip_path: Path, ctx: JobContext) -> None:
    """After a cancel: preview and ZIP of the clips finished so far (best effort)."""
    from pipelines.video_dataset.dataset import clip_numbers, preview_grid, zip_dataset

    if not clip_numbers(out):
        return
    try:
        preview_grid(out, ctx.outputs / PREVIEW)
        zip_dataset(out, zip_path)
        ctx.log(f"cancelled: kept {len(clip_numbers(out))} finished clips ({zip_path.name})")
    except Exception as exc:  # packaging is a courtesy; the clips are on disk
        ctx.log(f"cancelled: could not zip the kept clips: {exc}")


register(
    Tool(
        name="video_dataset",
        title="Video dataset",
        kinds=KINDS,
        options="pipelines.video_dataset.options:VideoOptions",
        settings=("api_endpoints", "allowed_roots", "max_upload_mb"),
        router="studio.api.video_dataset:routes",
        prefix="/video_dataset",
        aliases=("/preprocessing",),  # seed 000's paths
        tab=Tab(
            "Videos",
            "tab-dataset-videos",
            "studio.tabs.video_dataset:build",
            11,
            datasets.DATASET_BUILDER,
        ),
        models=(datasets.CAPTION_MODEL, datasets.PROMPTGEN_MODEL),
    )
)
