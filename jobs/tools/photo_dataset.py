"""Photo dataset builder: its job kinds, and the submit functions the tab and the REST API share.

Three kinds, so CPU work never holds the GPU lane:

- ``photo_dataset.build`` (cpu): unpack → filter → dedup → previews → crop; then
  caption → package in the same job when the caption provider is ``none`` or
  ``api``. With a ``local`` VLM it stops after the crop and writes the manifest;
  ``photo_dataset.caption`` was submitted with it, ``after=`` the build (it waits
  outside the queue, runs when the build succeeds, ends with it when it fails or
  is cancelled, and waits again when the build is retried).
- ``photo_dataset.caption`` (gpu): caption → package, with the captioner
  loaded once per worker process (``ctx.model``).
- ``photo_dataset.repackage`` (cpu): the user's review (``pipelines.photo_dataset.review``).

The dataset lives in ``STUDIO_HOME/datasets/<owner>/<name>/`` (``jobs.datasets``);
the registry keeps the latest job's id, so the dataset's status is that job's. Every
function taking a ``user`` checks the owner (``jobs.access``). Every job is bound to
its dataset record (``datasets.REF`` in its params) and finds its folder through
``datasets.bound_folder``, when it runs and when it is retried.

The caption API key never enters a job record, status.json or a log: it is handed
to ``jobs.secrets`` (a 0600 file); the job's params hold only the reference.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jobs import chains, datasets, queue, secrets, store
from jobs.access import User, user_named
from jobs.endpoints import api_endpoint
from jobs.inputs import InputError, check_size, server_files, server_path
from jobs.kinds import JobContext, job_kind
from jobs.registry import Tab, Tool, register
from jobs.tools import photo_dataset_repository as pending_repo

BUILD, CAPTION, REPACKAGE = (
    "photo_dataset.build",
    "photo_dataset.caption",
    "photo_dataset.repackage",
)
KINDS = (BUILD, CAPTION, REPACKAGE)
PENDING_EDITS = ".pending-edits.json"  # where older studios kept the pending edits (now rows)


# --------------------------------------------------------------------------- pending edits


def read_pending_edits(name: str, owner: str) -> dict[str, dict]:
    """The review's pending edits of ``owner``'s dataset (flips and crop boxes not
    applied yet); empty for a dataset without any, or none of that name."""
    row = datasets.record(name, owner)
    edits = pending_repo.read(row["id"]) if row else {}
    return {"flips": edits.get("flips", {}), "crops": edits.get("crops", {})}


def write_pending_edits(name: str, owner: str, pending: dict[str, dict]) -> None:
    """Replace the pending edits of ``owner``'s dataset (all empty: cleared)."""
    row = datasets.record(name, owner)
    if row is None:
        raise datasets.DatasetNotFound(f"No dataset named {name[:80]!r}.")
    kept = {key: dict(pending.get(key) or {}) for key in ("flips", "crops")}
    pending_repo.replace(row["id"], kept if any(kept.values()) else None)


# --------------------------------------------------------------------------- submitting


def start_build(
    name: str,
    user: User,
    options: dict[str, Any] | None = None,
    files: list[Path] | None = None,
    server_paths: list[str] | None = None,
    api_key: str = "",
) -> store.Job:
    """Check the options and inputs, reserve the dataset name, queue the build; returns the job record.

    Raises OptionsError / InputError / DatasetNameError (422), DatasetExists (409).
    """
    from pipelines.photo_dataset.user_options import parse_options

    parsed = parse_options(options, api_key, check=False)
    check_references(parsed, user)  # the rule first: nothing about other paths is told
    parsed.check()
    files = [Path(f) for f in files or []]
    for f in files:
        check_size(f)
    paths = [str(server_path(p)) for p in server_paths or [] if str(p).strip()]
    if not files and not paths:
        raise InputError("Give photos: a ZIP, image files, or a server folder.")
    folder = datasets.reserve(name, "photos", user.name, parsed.to_dict())
    name = folder.name
    ref = secrets.hand_over(api_key)

    def undo() -> None:
        secrets.drop(ref)
        datasets.unreserve(folder)

    job = queue.submit_reserved(
        undo,
        BUILD,
        {
            "name": name,
            datasets.REF: datasets.ref(folder),
            "options": parsed.to_dict(),
            "server_paths": paths,
            "api_key_ref": ref,
        },
        owner=user.name,
        files={f.name: f for f in files},
        title=f"Photo dataset {name}",
    )

    def undo_build() -> None:
        queue.cancel(job["id"])
        undo()

    if parsed.caption.provider == "local":  # captions in the GPU lane, after the build
        queue.submit_reserved(
            undo_build,
            CAPTION,
            {"name": name, datasets.REF: datasets.ref(folder), "options": parsed.to_dict()},
            owner=user.name,
            title=f"Captions for {name}",
            follow_up=True,  # one submission: the build was admitted
            after=job,
        )
    datasets.attach_job(folder, job["id"])
    return job


def check_references(options: Any, user: User) -> None:
    """The caption API endpoint and the models the options name, checked for ``user``
    (jobs.endpoints, jobs.models); the options keep the endpoint's name, not its URL."""
    from jobs.models import caption_model, model_folder

    caption = options.caption
    endpoint = api_endpoint(caption.api_endpoint, caption.api_base_url, user)
    caption.api_endpoint = endpoint.name if endpoint else ""
    caption.api_base_url = endpoint.typed_url if endpoint else ""
    if caption.provider == "local":
        caption_model(caption.local_model, "caption.local_model")
    if options.dedup.use_faces:
        model_folder(options.dedup.insightface_model_dir, "dedup.insightface_model_dir")


SIZE_CHECK_LIMIT = 5000  # headers read at most per check (the check answers at once)


def size_check(
    files: list[Path] | None, server_paths: list[str] | None, min_side: int
) -> dict[str, Any]:
    """How many input photos the minimum size would leave out, read from image headers only
    (no pixel is decoded, nothing is queued): ``{"photos", "too_small", "smallest", "keep_all_at",
    "most_filtered", "message"}``. ZIP members are read in place; server paths are checked."""
    import zipfile

    from PIL import Image

    from pipelines.photo_dataset.images import IMAGE_SUFFIXES

    sides: list[int] = []

    def header(source: Any) -> None:
        try:
            with Image.open(source) as im:
                sides.append(min(im.size))
        except Exception:  # not readable: the build reports it with its reason
            pass

    def read_zip(path: Path) -> None:
        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if len(sides) >= SIZE_CHECK_LIMIT:
                        return
                    if not info.is_dir() and Path(info.filename).suffix.lower() in IMAGE_SUFFIXES:
                        with zf.open(info) as member:
                            header(member)
        except (zipfile.BadZipFile, OSError):
            pass

    def read(path: Path) -> None:
        if len(sides) >= SIZE_CHECK_LIMIT:
            return
        if path.suffix.lower() == ".zip":
            read_zip(path)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            header(path)

    for f in files or []:
        read(Path(f))
    for text in server_paths or []:
        if not str(text).strip():
            continue
        source = server_path(text)
        if source.is_dir():
            for f in server_files(source)[0]:
                read(f)
        else:
            read(source)
    small = [s for s in sides if s < min_side]
    keep_all_at = max(64, min(sides) // 8 * 8) if sides else min_side
    most = bool(sides) and len(small) * 2 > len(sides)
    if not sides:
        message = ""
    elif not small:
        message = f"{len(sides)} photos, all at least {min_side} px on the shorter side."
    else:
        message = (
            f"{len(small)} of {len(sides)} photos are smaller than {min_side} px on their shorter side "
            f"(the smallest is {min(sides)} px) and would be left out as too small. "
            f"Lower the minimum size to {keep_all_at} px to keep them."
        )
    return {
        "photos": len(sides),
        "too_small": len(small),
        "smallest": min(sides) if sides else None,
        "keep_all_at": keep_all_at,
        "most_filtered": most,
        "message": message,
        "capped": len(sides) >= SIZE_CHECK_LIMIT,
    }


def read_manifest(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest of a dataset record (from :func:`jobs.datasets.get`, owner checked), or None yet."""
    from pipelines.photo_dataset.package import MANIFEST

    path = Path(meta["path"]) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def submit_edits(
    name: str, user: User, edits: dict[str, Any], owner: str | None = None
) -> store.Job:
    """Queue the repackage job for the user's review of their dataset (an admin's:
    ``owner``'s); returns the job record."""
    from pipelines.photo_dataset.review import EditError, check_edits

    meta = datasets.get(name, user, "photos", owner)
    datasets.check_idle(meta)
    manifest = read_manifest(meta)
    if manifest is None:
        raise EditError(f"Dataset {name!r} has no manifest yet: wait for its build to finish.")
    clean = check_edits(manifest, edits)
    if not any(clean.values()):
        raise EditError("Nothing changed: flip an image, set a crop or edit a caption first.")
    folder = Path(meta["path"])
    job = queue.submit(
        REPACKAGE,
        {"name": meta["name"], datasets.REF: datasets.ref(folder), **clean},
        owner=user.name,
        title=f"Repackage {meta['name']}",
    )
    datasets.attach_job(folder, job["id"])
    return job


# --------------------------------------------------------------------------- job bodies

# (start, end) of each stage in the job's progress
_FULL = {
    "unpack": (0.0, 0.05),
    "filter": (0.05, 0.2),
    "dedup": (0.2, 0.45),
    "previews": (0.45, 0.5),
    "crop": (0.5, 0.75),
    "caption": (0.75, 0.95),
    "package": (0.95, 1.0),
}
_UNTIL_CROP = {
    "unpack": (0.0, 0.07),
    "filter": (0.07, 0.27),
    "dedup": (0.27, 0.6),
    "previews": (0.6, 0.67),
    "crop": (0.67, 1.0),
}


def _spans(progress: Any, table: dict[str, tuple[float, float]]) -> dict[str, Any]:
    from pipelines.progress import Span

    return {stage: Span(progress, a, b) for stage, (a, b) in table.items()}


def _inputs(ctx: JobContext) -> list[Any]:
    """Uploaded files, and each server folder read file by file through the one
    server-path check (a link leaving the allowed folders is left out, with the reason)."""
    from pipelines.photo_dataset.unpack import Skipped, SourceFile

    items: list[Any] = sorted(p for p in ctx.inputs.iterdir() if p.is_file())
    for text in ctx.params.get("server_paths", []):
        source = server_path(text)
        if not source.is_dir():
            items.append(source)
            continue
        files, skipped = server_files(source)
        items += [SourceFile(_relative(f, source), f) for f in files]
        items += [Skipped(reason.split(":", 1)[0], reason.split(": ", 1)[-1]) for reason in skipped]
    return items


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:  # a link to a file elsewhere inside the allowed roots
        return path.name


@contextmanager
def _manifest_on_cancel(result: Any) -> Iterator[None]:
    """On cancel, write the manifest of what was done (the files stay), then stop."""
    from pipelines.photo_dataset import package
    from pipelines.progress import Cancelled

    try:
        yield
    except Cancelled:
        result.status = "cancelled"
        result.manifest_path = package.write_manifest(result.output_dir, result.manifest())
        raise


def _done(ctx: JobContext, result: Any) -> dict[str, Any]:
    """The ZIP among the job's outputs too (a hard link), and the job's result."""
    from pipelines.photo_dataset.photos import summary

    if result.zip_path and Path(result.zip_path).is_file():
        target = ctx.outputs / f"{result.output_dir.name}.zip"
        target.unlink(missing_ok=True)
        try:
            os.link(result.zip_path, target)
        except OSError:
            shutil.copyfile(result.zip_path, target)
    ctx.progress.update(stage="package", fraction=1.0, message=summary(result))
    return _outputs(result)


def _outputs(result: Any, **extra: Any) -> dict[str, Any]:
    from pipelines.photo_dataset.photos import filter_summary

    return {
        "dataset": result.output_dir.name,
        "counts": result.counts(),
        "clusters": len(result.clusters),
        "filtered": filter_summary(result),
        "zip": str(result.zip_path) if result.zip_path else None,
        **extra,
    }


@job_kind(BUILD, lane="cpu", title="Photo dataset", check=datasets.still_bound)
def build(ctx: JobContext) -> dict:
    from pipelines.photo_dataset import (
        DatasetResult,
        PhotoDatasetOptions,
        caption_step,
        crop_step,
        dedup_step,
        filter_step,
        package_step,
        unpack_step,
    )
    from pipelines.photo_dataset.review import write_previews

    folder = datasets.bound_folder(ctx.params)
    options = PhotoDatasetOptions.from_dict(ctx.params["options"])
    options.caption.api_key = secrets.read(ctx.params.get("api_key_ref"))
    stored = options.to_dict()  # as the user gave them: no server path, no endpoint URL
    _bind_references(options, ctx.owner, progress=ctx.progress)
    options.check()
    chained = options.caption.provider == "local"
    span = _spans(ctx.progress, _UNTIL_CROP if chained else _FULL)
    result = DatasetResult(output_dir=folder, options=stored)
    with _manifest_on_cancel(result):
        unpack_step(result, _inputs(ctx), options, span["unpack"])
        filter_step(result, options, span["filter"])
        dedup_step(result, options, span["dedup"])
        write_previews(result, options, span["previews"])
        crop_step(result, options, span["crop"])
        if chained:
            return _captions_next(ctx, result)
        caption_step(result, options, span["caption"])
        package_step(result, options, span["package"])
    return _done(ctx, result)


def _bind_references(options: Any, owner: str, captions: bool = True, progress: Any = None) -> None:
    """In the job: the stored options checked again for their owner's current rights,
    the endpoint's URL and the models' folders filled in for the pipeline (a declared
    caption model missing is fetched first with STUDIO_FETCH_MODELS=auto)."""
    from jobs.models import caption_model, model_folder

    caption = options.caption
    if captions:
        endpoint = api_endpoint(caption.api_endpoint, caption.api_base_url, user_named(owner))
        caption.api_base_url = endpoint.url if endpoint else ""
    if captions and caption.provider == "local":
        caption.local_model = (
            caption_model(caption.local_model, "caption.local_model", progress) or ""
        )
    if options.dedup.use_faces:
        options.dedup.insightface_model_dir = (
            model_folder(options.dedup.insightface_model_dir, "dedup.insightface_model_dir") or ""
        )


def _captions_next(ctx: JobContext, result: Any) -> dict[str, Any]:
    """The manifest so far; the captions job submitted after this build (at submit)
    becomes the dataset's job and runs in the GPU lane once the build has ended."""
    from pipelines.photo_dataset import package

    result.stage = "caption"
    result.manifest_path = package.write_manifest(result.output_dir, result.manifest())
    ctx.progress.update(stage="crop", fraction=1.0, message="captions queued in the GPU lane")
    waiting = chains.waiting_for(ctx.id)
    if not waiting:  # cancelled while it waited: the build's result is all there is
        ctx.log("captions: no captions job waits for this build")
        return _outputs(result)
    datasets.attach_job(result.output_dir, waiting[0]["id"])
    ctx.log(f"captions: job {waiting[0]['id']} in the gpu lane")
    return _outputs(result, next_job=waiting[0]["id"])


@job_kind(CAPTION, lane="gpu", title="Photo dataset captions", check=datasets.still_bound)
def caption(ctx: JobContext) -> dict:
    from pipelines.captions import load_captioner
    from pipelines.photo_dataset import PhotoDatasetOptions, caption_step, load_result, package_step
    from pipelines.progress import Span

    result = load_result(datasets.bound_folder(ctx.params))
    options = PhotoDatasetOptions.from_dict(ctx.params["options"])
    _bind_references(options, ctx.owner, progress=ctx.progress)
    o = options.caption
    ctx.progress.update(stage="caption", fraction=0.0, message=f"caption model {o.local_model}")

    def load() -> Any:
        ctx.log(f"loading caption model {o.local_model} (once per worker)")
        return load_captioner(o, log=ctx.log)

    captioner = ctx.model(f"captioner:{o.local_model}:{o.device}", load)
    with _manifest_on_cancel(result):
        caption_step(result, options, Span(ctx.progress, 0.0, 0.9), captioner)
        package_step(result, options, Span(ctx.progress, 0.9, 1.0))
    return _done(ctx, result)


@job_kind(REPACKAGE, lane="cpu", title="Photo dataset repackage", check=datasets.still_bound)
def repackage(ctx: JobContext) -> dict:
    from pipelines.photo_dataset import PhotoDatasetOptions, load_result
    from pipelines.photo_dataset.review import apply_review

    result = load_result(datasets.bound_folder(ctx.params))
    options = PhotoDatasetOptions.from_dict(result.options)
    _bind_references(options, ctx.owner, captions=False)
    with _manifest_on_cancel(result):
        apply_review(
            result,
            options,
            ctx.params.get("flips") or {},
            ctx.params.get("crops") or {},
            ctx.params.get("captions") or {},
            ctx.progress,
        )
    return _done(ctx, result)


register(
    Tool(
        name="photo_dataset",
        title="Photo dataset",
        kinds=KINDS,
        options="pipelines.photo_dataset.photos:PhotoDatasetOptions",
        settings=("api_endpoints", "allowed_roots", "max_upload_mb"),
        router="studio.api.photo_dataset:router",
        prefix="/photo_dataset",
        aliases=("/datasets",),
        tab=Tab(
            "Photos",
            "tab-dataset-photos",
            "studio.tabs.photo_dataset:build",
            10,
            datasets.DATASET_BUILDER,
        ),
        models=(datasets.CAPTION_MODEL,),
    )
)
