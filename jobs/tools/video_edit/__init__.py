"""Video edit job kinds (seed 003), the submit function the tab and the REST
API share, and the small table that maps seed job ids to studio jobs.

Kinds:

- ``video_edit.run`` (gpu): ``pipelines.video_edit.run_video_edit`` on the
  whole clip (or one frame in ``single_frame`` mode); the mask and edit models
  stay loaded in the GPU lane between jobs (``ctx.model``).
- ``video_edit.preview`` (gpu): *Preview mask* with SAM3 / CLIPSeg, or
  *Preview edit* (seed's ``single_frame`` mode on ``frame_index``).
- ``video_edit.preview_mask`` (cpu): *Preview mask* with MediaPipe (people;
  no model to load), so it never waits behind a long edit in the GPU lane.

Several GPUs: the GPU kinds lease the request's ``gpus`` option (default one) of one
machine (:func:`edit_gpus`, ``jobs.lanes``). A job holding more than one GPU of pinned
lanes runs the edit in a child process that sees them all
(``python -m pipelines.video_edit.child``), where InstructPix2Pix loads with
``device_map="balanced"``; otherwise the edit runs in the lane's process as always.

The job's outputs folder is the seed's ``output_dir`` (``{job_id}_output.mp4``,
``{job_id}_mask.mp4``, ``{job_id}_log.txt``, ``status.json``); an admin may name
another ``output_dir`` inside the writable output folders (``STUDIO_OUTPUT_ROOTS``; the
``STUDIO_ALLOWED_ROOTS`` are read-only inputs), one no other queued or running edit
uses. Both are checked at submit and again when the job runs (a retry too).

Ids: table ``video_edit_jobs`` (:mod:`.repository`) maps the seed's ``job_id`` (given by the REST
caller, or else the studio job id) to the studio job. The owner check is the
studio job's (``jobs.store.job_for``).

Model paths named by a user follow the studio's one model rule
(``jobs.models.model_ref``: a folder in ``STUDIO_MODELS_DIR``, a folder inside it or
``STUDIO_ALLOWED_ROOTS``, or a hub id already on this machine); only
``.safetensors`` weights are loaded, so a model folder runs no code.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Literal

from jobs import queue, store
from jobs.access import User, owner_filter, user_named
from jobs.inputs import InputError, check_size, server_path
from jobs.kinds import JobContext, job_kind
from jobs.models import model_ref
from jobs.registry import Model, Tab, Tool, register
from jobs.settings import get_settings
from jobs.tools.video_edit import repository as repo
from pipelines.errors import Conflict, NotFound, Refused

RUN, PREVIEW, PREVIEW_CPU = "video_edit.run", "video_edit.preview", "video_edit.preview_mask"
KINDS = (RUN, PREVIEW, PREVIEW_CPU)
What = Literal["run", "mask", "edit"]
PLACEHOLDER_INPUT = Path("input.mp4")
API_PATH = "/api/v1/video/edit"  # seed 003's REST paths (the registry's alias below)


def forget_job(studio_job_id: str) -> None:
    """Drop the seed-id rows of a studio job that is being deleted (demo retention)."""
    repo.forget_studio_job(studio_job_id)


# --------------------------------------------------------------------------- checks


def search_dirs() -> list[Path]:
    return [get_settings().models_path]


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def output_dir_ref(
    value: str | None, user: User, own: tuple[str, str] | None = None
) -> Path | None:
    """An admin's output folder: inside the writable output folders (STUDIO_OUTPUT_ROOTS,
    links resolved; never the read-only STUDIO_ALLOWED_ROOTS), not a folder another queued
    or running video edit uses. Created if missing. ``own``: (seed id, studio job id) of the
    job that checks its own folder again when it runs."""
    text = (value or "").strip()
    if not text:
        return None
    if not user.is_admin:
        raise Refused(
            "output_dir (a folder on the server) is for admins. Leave it out: the outputs stay "
            "with the job and download from the API."
        )
    roots = get_settings().writable_roots
    if not roots:
        raise InputError(
            "output_dir is switched off: no writable output folders are set (STUDIO_OUTPUT_ROOTS). "
            "Leave output_dir out (the outputs stay with the job and download from the API)."
        )
    path = Path(text).expanduser().resolve()
    if not _inside(path, roots) or path in roots:
        allowed = ", ".join(str(r) for r in roots)
        raise InputError(
            f"output_dir {text} is outside the writable output folders ({allowed}, "
            "STUDIO_OUTPUT_ROOTS); name a folder inside one of them."
        )
    if path.exists() and not path.is_dir():
        raise InputError(f"output_dir {text} is a file; name a folder.")
    _check_folder_free(path, text, own)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_folder_free(path: Path, text: str, own: tuple[str, str] | None) -> None:
    """Conflict (409) when another queued or running video edit writes into ``path``: by
    the studio's records, and by the folder's ``status.json`` (an edit started elsewhere;
    a broken one is a 422 that says so)."""
    from pipelines.video_edit.status import read_status

    seed_id, studio_id = own or ("", "")
    for row in repo.using_folder(str(path)):
        if (
            row["job_id"] == seed_id
            or not row["studio_job_id"]
            or row["studio_job_id"] == studio_id
        ):
            continue
        other = store.find_job(row["studio_job_id"])
        if other is not None and other["status"] in ("queued", "running"):
            raise Conflict(
                f"output_dir {text} is used by video edit {row['job_id']}, which is still "
                f"{other['status']}; name another folder or wait for it to end."
            )
    previous = read_status(path) if path.is_dir() else None
    if (
        previous is not None
        and previous.job_id != seed_id
        and previous.status not in ("finished", "failed")
    ):
        raise Conflict(
            f"output_dir {text} belongs to video edit {previous.job_id}, which is still "
            f"{previous.status}; name another folder."
        )


def build_request(fields: dict[str, Any]):
    """The request's prompts and options, checked (input path filled in later)."""
    from pipelines.video_edit.models import SPECS
    from pipelines.video_edit.options import VideoEditRequest

    values = dict(fields)
    values.setdefault("input_video_path", PLACEHOLDER_INPUT)
    request = VideoEditRequest.model_validate(values)
    extra = request.extra.model_copy(
        update={
            spec.field: model_ref(
                getattr(request.extra, spec.field), f"extra.{spec.field}", spec.marker
            )
            for spec in SPECS.values()
        }
    )
    return request.model_copy(update={"extra": extra})


# --------------------------------------------------------------------------- submit


def _to_fetch(request: Any, what: str) -> list[str]:
    """With STUDIO_FETCH_MODELS=auto (and not offline): the keys of the declared models
    this request needs, lacks and names no other location for — InstructPix2Pix for an
    edit; the segmenter asked for, or (``auto``, a prompt MediaPipe cannot mask) the
    lighter CLIPSeg. The job downloads them before it starts."""
    import os

    from jobs.models import fetch_mode, offline
    from pipelines.video_edit.masking import is_person_prompt
    from pipelines.video_edit.models import CLIPSEG, IP2P, SAM3, locate

    if fetch_mode() != "auto" or offline():
        return []
    extra, dirs = request.extra, search_dirs()

    def lacks(spec: Any) -> bool:
        named = getattr(extra, spec.field) or os.environ.get(spec.env, "").strip()
        return not named and locate(spec, None, dirs, required=False) is None

    wanted = ["ip2p"] if what != "mask" and lacks(IP2P) else []
    backend = getattr(extra, "mask_backend", "auto")
    if backend in ("sam3", "clipseg") and lacks(SAM3 if backend == "sam3" else CLIPSEG):
        wanted.append(backend)
    elif (
        backend == "auto"
        and not is_person_prompt(request.mask_prompt)
        and lacks(SAM3)
        and lacks(CLIPSEG)
    ):
        wanted.append("clipseg")
    return wanted


def _fetch_first(ctx: JobContext) -> None:
    """Download what the submit found missing (STUDIO_FETCH_MODELS=auto), unless here now."""
    from jobs.models import declared_model, fetch, find

    for key in ctx.params.get("fetch_first") or []:
        model = declared_model(f"video_edit.{key}").model
        if find(model)[0] is None:
            fetch(model, ctx.progress)


def _reserve(job_id: str, owner: str, what: str, output_dir: Path | None) -> None:
    taken = f"job_id {job_id!r} is taken; choose another or leave it out."
    if store.find_job(job_id) is not None:
        raise Conflict(taken)
    repo.insert_new(
        {
            "job_id": job_id,
            "owner": owner,
            "what": what,
            "output_dir": str(output_dir) if output_dir else None,
            "created_at": time.time(),
        },
        taken,
    )


def submit(
    fields: dict[str, Any],
    user: User,
    *,
    upload: Path | None = None,
    server_video: str | None = None,
    output_dir: str | None = None,
    what: What = "run",
    client_job_id: str | None = None,
) -> dict[str, Any]:
    """Check everything a user can get wrong, then queue the job.

    ``fields``: mask_prompt, edit_prompt and the options (seed names; ``extra``
    nested). The clip is an ``upload`` (a file on this machine) or a
    ``server_video`` inside STUDIO_ALLOWED_ROOTS. Returns ``{"job_id", "status",
    "studio_job_id", "kind", "lane"}``. Raises BadInput (422), Conflict (409).
    """
    from pipelines.video_edit import check_models
    from pipelines.video_edit.video_io import probe

    if bool(upload) == bool((server_video or "").strip()):
        raise InputError(
            "Give the clip either as an upload or as a server path, not both and not neither."
        )
    fields = {
        k: v for k, v in fields.items() if k not in ("input_video_path", "output_dir", "job_id")
    }
    if client_job_id:
        fields["job_id"] = client_job_id
    request = build_request(fields)
    if what != "run":
        request = request.model_copy(update={"mode": "single_frame"})
    if upload is not None:
        check_size(upload)
        source = upload
    else:
        source = server_path(server_video or "")
        if source.is_dir():
            raise InputError(f"{server_video} is a folder; give a video file.")
    info = probe(source)
    request.check_work(info.frames)
    if request.mode == "single_frame" and request.frame_index >= info.frames:
        raise InputError(
            f"frame_index {request.frame_index} is past the clip's last frame ({info.frames - 1})."
        )
    fetch_first = _to_fetch(request, what)
    # the models here are checked as always; those the job fetches first are not
    backend = next((key for key in fetch_first if key != "ip2p"), None)
    if backend is None:
        edit = what != "mask" and "ip2p" not in fetch_first
        backend = check_models(request, search_dirs(), edit=edit)[0].backend
    out = output_dir_ref(output_dir, user)

    kind = RUN if what == "run" else PREVIEW
    if what == "mask" and backend == "mediapipe":
        kind = PREVIEW_CPU
    params = {
        "request": request.model_dump(
            mode="json", exclude={"input_video_path", "output_dir", "job_id"}
        ),
        "job_id": client_job_id or None,
        "input": {"upload": upload.name} if upload is not None else {"server_path": str(source)},
        "output_dir": str(out) if out else None,
        "what": what,
        "mask_backend": backend,
        "fetch_first": fetch_first,  # STUDIO_FETCH_MODELS=auto: the job downloads these first
    }
    title = {
        "run": "Video edit",
        "mask": "Video edit: mask preview",
        "edit": "Video edit: edit preview",
    }[what]
    if client_job_id:
        _reserve(client_job_id, user.name, what, out)
    job = queue.submit_reserved(
        lambda: repo.forget(client_job_id) if client_job_id else None,
        kind,
        params,
        owner=user.name,
        files={upload.name: upload} if upload else None,
        title=f"{title}: {request.mask_prompt} → {request.edit_prompt}"[:200],
    )
    seed_id = client_job_id or job["id"]
    if client_job_id:
        repo.bind(seed_id, job["id"])
    else:
        repo.insert_new(
            {
                "job_id": seed_id,
                "studio_job_id": job["id"],
                "owner": user.name,
                "what": what,
                "output_dir": str(out) if out else None,
                "created_at": time.time(),
            },
            f"job_id {seed_id!r} is taken.",
        )
    return {
        "job_id": seed_id,
        "status": "queued" if job["status"] == "queued" else job["status"],
        "studio_job_id": job["id"],
        "kind": job["kind"],
        "lane": job["lane"],
    }


# --------------------------------------------------------------------------- reading


def lookup(
    job_id: str, user: User, output_dir: str | None = None
) -> tuple[dict[str, Any], store.Job]:
    """(row, studio job) for a seed job id or a studio job id; NotFound unless the
    caller owns it (or is an admin): ``store.job_for``. ``output_dir`` (seed 003's status
    query): the folder the caller believes the job writes into; a folder it does not write
    into is NotFound, as the seed finds no status there."""
    row = repo.by_seed_id(job_id) or repo.by_studio_id(job_id)
    try:
        job = store.job_for((row["studio_job_id"] if row else None) or "", user, KINDS)
    except store.JobNotFound:
        raise NotFound(f"No video edit {job_id!r}. It does not exist or is not yours.") from None
    assert row is not None  # a job was found for it
    named = (output_dir or "").strip()
    if named and (
        not row["output_dir"] or Path(named).expanduser().resolve() != Path(row["output_dir"])
    ):
        raise NotFound(
            f"Video edit {job_id!r} does not write into output_dir {named}"
            + (
                f" (it writes into {row['output_dir']})."
                if row["output_dir"]
                else "; its outputs stay with the job: leave output_dir out."
            )
        )
    return dict(row), job


def list_edits(user: User, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
    """The caller's edits (an admin: everyone's), newest first, each with its status."""
    found = []
    for row in repo.listing(owner_filter(user), limit, offset):
        job = store.find_job(row["studio_job_id"])
        if job is not None:
            found.append({**seed_status(dict(row), job), "owner": row["owner"]})
    return found


def delete_edit(job_id: str, user: User) -> dict[str, Any]:
    """Delete an ended edit: its files (only the ones it wrote, in an admin's
    ``output_dir``), its studio job and its seed id. Conflict while queued or running."""
    from pipelines.video_edit.status import StatusFileError, output_names, read_status

    row, job = lookup(job_id, user)
    if job["status"] not in store.FINAL:
        raise Conflict(
            f"Video edit {job_id!r} is {job['status']}; cancel it, then delete it when it has "
            "stopped."
        )
    if row["output_dir"]:  # a shared folder: only this edit's own files go
        folder = Path(row["output_dir"])
        try:
            own_status = read_status(folder) if folder.is_dir() else None
        except StatusFileError:  # overwritten by something else: not this edit's to delete
            own_status = None
        for key, name in output_names(row["job_id"]).items():
            if key == "status" and (own_status is None or own_status.job_id != row["job_id"]):
                continue
            (folder / name).unlink(missing_ok=True)
        shutil.rmtree(folder / f".{row['job_id']}_work", ignore_errors=True)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    store.delete_job(job["id"])
    repo.forget(row["job_id"])
    return {
        "job_id": row["job_id"],
        "deleted": True,
        "message": f"Video edit {row['job_id']} deleted.",
    }


def output_folder(row: dict[str, Any]) -> Path:
    return (
        Path(row["output_dir"])
        if row["output_dir"]
        else store.job_dir(row["studio_job_id"]) / "outputs"
    )


def seed_status(row: dict[str, Any], job: store.Job) -> dict[str, Any]:
    """The seed's status fields, plus the studio's own view. A GET only reads: the
    edit's ``status.json`` while its attempt runs or once it ended (the end of a job
    that the pipeline could not write, a cancel before it started or a lost worker, is
    written there by :func:`edit_ended`); the studio job's words while an attempt waits
    in the queue (a retry, or queued again after a lost worker) or when the folder holds
    no status of this edit."""
    status = _own_status(_folder(job), row["job_id"])
    if status is None or job["status"] == "queued":
        status = _job_words(row["job_id"], job)
    files = f"{API_PATH}/{row['job_id']}"
    return {
        **status.to_dict(),
        # the seed's paths are on the server; these download them over REST
        "output_video_url": f"{files}/output" if status.output_video_path else None,
        "mask_preview_url": f"{files}/mask" if status.mask_preview_path else None,
        "logs_url": f"{files}/log",
        "studio_job_id": job["id"],
        "studio_status": job["status"],
        "kind": job["kind"],
        "stage": job.get("stage"),
        "item": job.get("item"),
        "eta_s": job.get("eta_s"),
        "created_at": job["created_at"],
        "finished_at": job.get("finished_at"),
    }


def _folder(job: store.Job) -> Path:
    """The edit's output folder, from the job alone (its row may not be bound yet)."""
    out = job["params"].get("output_dir")
    return Path(out) if out else store.job_dir(job["id"]) / "outputs"


def _own_status(folder: Path, seed_id: str):
    """This edit's ``status.json`` in ``folder``; None when there is none, or it is
    another edit's or not a video edit status (overwritten by something else)."""
    from pipelines.video_edit.status import StatusFileError, read_status

    try:
        status = read_status(folder)
    except StatusFileError:
        return None
    return status if status is not None and status.job_id == seed_id else None


def _job_words(seed_id: str, job: store.Job):
    """The seed's status in the studio job's words (no status file of this edit)."""
    from pipelines.video_edit.status import VideoEditStatus

    if job["status"] in ("failed", "cancelled"):
        return VideoEditStatus(
            job_id=seed_id, status="failed", error=_end_error(job), message=job.get("message")
        )
    return VideoEditStatus(job_id=seed_id, status="queued", message=job.get("message"))


def _end_error(job: store.Job) -> str:
    return job.get("error") or "Cancelled by the user"


def edit_ended(job: store.Job, status: str) -> None:
    """``on_end`` of the video edit kinds: a job that failed or was cancelled where the
    pipeline could not say so (cancelled before it started, its worker lost, refused
    before the pipeline started) leaves ``failed`` in its ``status.json``, so that the
    file, the seed's status query and the GET all tell the end. Never another edit's
    file."""
    from pipelines.video_edit.status import (
        StatusFile,
        StatusFileError,
        VideoEditStatus,
        read_status,
    )

    if status not in ("failed", "cancelled"):
        return
    seed_id = job["params"].get("job_id") or job["id"]
    folder = _folder(job)
    try:
        current = read_status(folder)
    except StatusFileError:  # not a video edit status: not ours to write
        return
    if current is not None and current.job_id != seed_id:
        return
    if current is None or current.status != "failed":
        end = (current or VideoEditStatus(job_id=seed_id)).model_copy(
            update={"status": "failed", "error": _end_error(job), "message": job.get("message")}
        )
    elif status == "cancelled":
        end = current.model_copy(update={"error": "Cancelled by the user"})
    else:
        return
    StatusFile(folder, end).write()


# --------------------------------------------------------------------------- the jobs


def _request(ctx: JobContext):
    from pipelines.video_edit.options import VideoEditRequest

    _fetch_first(ctx)
    p = ctx.params
    if p["input"].get("server_path"):
        source = server_path(
            p["input"]["server_path"]
        )  # checked again: a link may have changed since
    else:
        source = ctx.inputs / p["input"]["upload"]
    seed_id = p.get("job_id") or ctx.id
    # Checked again (a retry too): the owner may no longer be an admin, the folder no longer
    # writable, or another edit may have taken it since.
    out = (
        output_dir_ref(p["output_dir"], user_named(ctx.owner), own=(seed_id, ctx.id))
        if p.get("output_dir")
        else ctx.outputs
    )
    return VideoEditRequest.model_validate(
        {
            **p["request"],
            "job_id": seed_id,
            "input_video_path": source,
            "output_dir": out,
        }
    )


def _outputs(status, request, what: str) -> dict[str, Any]:
    from pipelines.video_edit.status import output_names

    folder = request.resolved_output_dir()
    names = {k: v for k, v in output_names(request.job_id).items() if (folder / v).is_file()}
    return {
        "job_id": request.job_id,
        "what": what,
        "mode": request.mode,
        "frame_index": request.frame_index,
        "total_frames": status.total_frames,
        "message": status.message,
        "output_dir": str(folder),
        "names": names,
    }


def _output_dir_still_free(job: store.Job) -> None:
    """Retry check: the owner may still write ``output_dir`` and no other edit took it
    (the job checks the same again when it runs)."""
    p = job["params"]
    if p.get("output_dir"):
        own = (p.get("job_id") or job["id"], job["id"])
        output_dir_ref(p["output_dir"], user_named(job["owner"]), own=own)


def edit_gpus(params: dict[str, Any]) -> int:
    """GPUs of one machine an edit leases: its ``gpus`` option (default one). A mask
    preview loads no edit model: one. On a shared lane (``STUDIO_GPU_LANES=shared``) one:
    that lane sees every GPU of its machine, and the option caps how many the model uses."""
    if params.get("what") == "mask" or get_settings().gpu_lanes == "shared":
        return 1
    return int((params.get("request") or {}).get("gpus") or 1)


class EditChildFailed(RuntimeError):
    """The child process of a several-GPU edit failed (its message, or its exit code)."""


def _edit(ctx: JobContext, request):
    """Run the edit: in the lane's process (models stay loaded between jobs), or, when
    the job holds several GPUs of pinned lanes, in a child process that sees them all
    (:func:`_edit_in_child`)."""
    from pipelines.video_edit import run_video_edit

    if len(ctx.devices) > 1:
        return _edit_in_child(ctx, request)
    return run_video_edit(request, ctx.progress, models=ctx.model, search_dirs=search_dirs())


def _edit_in_child(ctx: JobContext, request):
    """``python -m pipelines.video_edit.child`` with the job's request: ``run_child`` gives
    it the leased GPUs (``CUDA_VISIBLE_DEVICES``), so InstructPix2Pix loads balanced over
    them. Its progress and log lines are replayed into the job (a cancel kills it), its
    failure is raised here with its own message; the model is loaded for this job only."""
    import json
    import os
    import sys

    import pipelines
    from pipelines.errors import BadInput
    from pipelines.progress import LineReader
    from pipelines.video_edit.models import SPECS
    from pipelines.video_edit.status import read_status

    spec = ctx.dir / "video_edit_child.json"
    spec.write_text(
        json.dumps(
            {
                "request": request.model_dump(mode="json"),
                "search_dirs": [str(d) for d in search_dirs()],
            }
        )
    )
    # the model variables the lane reads (a clean environment has none of them)
    env = {s.env: os.environ[s.env] for s in SPECS.values() if os.environ.get(s.env)}
    reader = LineReader(ctx.progress)
    try:
        code = ctx.run_child(
            [sys.executable, "-m", "pipelines.video_edit.child", str(spec)],
            cwd=Path(pipelines.__file__).resolve().parent.parent,
            env=env,
            on_output=reader.feed,
        )
    finally:
        reader.finish()
    if code != 0:
        error = reader.error or {}
        text = error.get("error") or f"The edit's child process exited with code {code}."
        if 400 <= int(error.get("status") or 0) < 500:
            raise BadInput(text)
        raise EditChildFailed(
            f"{error['type']}: {text} (details in the job log)" if error.get("type") else text
        )
    status = read_status(request.resolved_output_dir())
    if status is None or status.status != "finished":
        raise EditChildFailed("The edit's child process ended without a finished status.json.")
    return status


@job_kind(
    RUN,
    lane="gpu",
    title="Video edit",
    check=_output_dir_still_free,
    on_end=edit_ended,
    gpus=edit_gpus,
)
def run(ctx: JobContext) -> dict:
    request = _request(ctx)
    status = _edit(ctx, request)
    return _outputs(status, request, "run")


@job_kind(
    PREVIEW,
    lane="gpu",
    title="Video edit preview",
    check=_output_dir_still_free,
    on_end=edit_ended,
    gpus=edit_gpus,
)
def preview(ctx: JobContext) -> dict:
    from pipelines.video_edit import preview_mask

    request = _request(ctx)
    what = ctx.params.get("what", "edit")
    if what == "mask":
        status = preview_mask(request, ctx.progress, models=ctx.model, search_dirs=search_dirs())
    else:
        status = _edit(ctx, request.model_copy(update={"mode": "single_frame"}))
    return _outputs(status, request, what)


@job_kind(PREVIEW_CPU, lane="cpu", title="Video edit mask preview", on_end=edit_ended)
def preview_cpu(ctx: JobContext) -> dict:
    from pipelines.video_edit import preview_mask

    request = _request(ctx)
    status = preview_mask(request, ctx.progress, models=ctx.model, search_dirs=search_dirs())
    return _outputs(status, request, "mask")


def _model(key: str, role: str, size: int, patterns: tuple[str, ...] = ()) -> Model:
    """A video edit model as the pipeline knows it (``pipelines.video_edit.models``)."""
    from pipelines.video_edit.models import SPECS

    spec = SPECS[key]
    return Model(
        key,
        spec.title,
        role,
        hub_id=spec.hub_id,
        folder=spec.folder_names[0],
        size=size,
        setting=spec.env,
        marker=spec.marker,
        patterns=patterns,
    )


# The diffusers pipeline's safetensors only (the repository also holds .bin copies and a
# 7 GB original checkpoint the studio never loads).
IP2P_FILES = (
    "model_index.json",
    "scheduler/*",
    "tokenizer/*",
    "feature_extractor/*",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
)
MODELS = (
    _model("ip2p", "edit (every frame)", 4_300_000_000, IP2P_FILES),
    _model("sam3", "mask (any text prompt; gated on the Hub: needs HF_TOKEN)", 3_450_000_000),
    _model(
        "clipseg",
        "mask (any text prompt, lighter)",
        610_000_000,
        ("*.json", "*.txt", "*.safetensors"),
    ),
)

register(
    Tool(
        name="video_edit",
        title="Video edit",
        kinds=KINDS,
        options="pipelines.video_edit.options:VideoEditOptions",
        settings=("models_dir", "allowed_roots", "output_roots", "max_upload_mb"),
        router="studio.api.video_edit:routes",
        prefix="/video_edit",
        aliases=("/video/edit",),  # seed 003's paths
        root_router="studio.api.video_edit:seed_routes",  # /api/video/edit, /api/video/status/…
        tab=Tab("Video edit", "tab-video-edit", "studio.tabs.video_edit:build", 30),
        models=MODELS,
    )
)
