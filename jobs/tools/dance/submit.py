"""The actions behind the REST API and the tab: assets in, experiments and
their preprocessing, generation jobs (refused when no generator is set up),
cancel, retry, delete."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from jobs import queue, store
from jobs.access import User
from jobs.inputs import server_files, server_path
from jobs.tools.dance import backends
from jobs.tools.dance import records as rec
from jobs.tools.dance.snapshot import snapshot
from jobs.tools.dance.views import (
    _task,
    experiment_view,
    job_status_view,
    task_status_view,
    unknown_task_view,
)
from pipelines.dance.config import DanceConfig, make_config
from pipelines.errors import BadInput, Conflict, NotFound

PREPROCESS = "dance.preprocess"
GENERATE = "dance.generate"


def pair_source(text: str) -> Path:
    """A pair folder on the server: inside the allowed roots, laid out as
    SteadyDancer reads it, with no link leading outside the allowed roots."""
    from pipelines.dance.prepare import check_pair_dir

    path = server_path(text)
    check_pair_dir(path)
    _, skipped = server_files(path)
    if skipped:
        raise BadInput(
            f"{text} holds links to places outside the allowed server folders ("
            + "; ".join(skipped[:3])
            + "); copy the files into the folder instead."
        )
    return path


def add_reference(
    user: User,
    project_id: str,
    name: str,
    source: Path,
    meta: dict | None = None,
    filename: str | None = None,
    move: bool = False,
) -> dict:
    from jobs.inputs import check_size
    from pipelines.dance.prepare import load_reference

    check_size(source, filename or source.name)
    image = load_reference(source)  # a header check and decode of one image: refuses non-images now
    if image.shape[0] < 64 or image.shape[1] < 64:
        raise BadInput(
            f"{filename or source.name} is {image.shape[1]}×{image.shape[0]}; give a reference of at "
            "least 64×64 pixels."
        )
    return rec.add_asset("ref", user, project_id, name, source, meta, filename, move)


def add_motion(
    user: User,
    project_id: str,
    name: str,
    source: Path,
    meta: dict | None = None,
    filename: str | None = None,
    move: bool = False,
) -> dict:
    from jobs.inputs import check_size
    from pipelines.dance.video import probe_video

    check_size(source, filename or source.name)
    info = probe_video(source)  # reads the container header only
    return rec.add_asset(
        "motion", user, project_id, name, source, meta, filename, move, info=info.to_dict()
    )


def create_experiment(
    user: User,
    project_id: str,
    name: str,
    description: str | None = None,
    reference_id: str | None = None,
    motion_id: str | None = None,
    source_input_dir: str | None = None,
    config: Any = None,
) -> dict:
    """Record the experiment and queue its preprocessing; returns its view."""
    project = rec.get_project(user, project_id)
    ref = rec.get_asset("ref", user, project["id"], reference_id) if reference_id else None
    motion = rec.get_asset("motion", user, project["id"], motion_id) if motion_id else None
    source = None
    if source_input_dir and str(source_input_dir).strip():
        source = str(pair_source(source_input_dir))
    elif not (ref and motion):
        raise BadInput(
            "An experiment needs reference_id and motion_id (the studio prepares SteadyDancer's input "
            "folder from them), or source_input_dir (a prepared pair folder on the server)."
        )
    cfg = make_config(None, config)
    row = rec.insert_experiment(
        project,
        name,
        description,
        ref["id"] if ref else None,
        motion["id"] if motion else None,
        cfg.model_dump(),
        source,
    )
    submit_preprocess(row)
    return experiment_view(rec.experiment_row(row["id"]))


def submit_preprocess(experiment: dict) -> dict:
    job = queue.submit(
        PREPROCESS,
        {"experiment_id": experiment["id"]},
        owner=experiment["owner"],
        title=f"Dance preprocessing: {experiment['name']}",
    )
    rec.update_experiment(experiment["id"], preprocess_job_id=job["id"], preprocess=None)
    return dict(job)


def rerun_preprocess(user: User, project_id: str, experiment_id: str) -> dict:
    experiment = rec.get_experiment(user, project_id, experiment_id)
    if _uses_experiment_input(experiment):
        raise Conflict(
            f"Experiment {experiment['name']!r} is being prepared, or has jobs waiting for its "
            "input; wait for them or cancel them."
        )
    if not experiment["source_input_dir"] and not (
        experiment["reference_id"] and experiment["motion_id"]
    ):
        raise BadInput(
            "This experiment's reference or motion was deleted; create a new experiment."
        )
    submit_preprocess(experiment)
    return experiment_view(rec.experiment_row(experiment["id"]))


def _uses_experiment_input(experiment: dict) -> bool:
    """Whether preparing the experiment again would change what a job reads: its
    preprocessing is queued or running, or one of its jobs still queued or running
    has no snapshot of its own yet (it waits for the preprocessing, or is older
    than snapshots and reads the experiment's folder)."""
    task = store.find_job(experiment.get("preprocess_job_id"))
    if task is not None and task["status"] in rec.ACTIVE:
        return True
    for row in rec.generation_rows(experiment["project_id"], experiment["id"]):
        task = store.find_job(row["task_id"])
        if task is None or task["status"] not in rec.ACTIVE:
            continue
        own = Path(row["input_dir"] or experiment["input_dir"])
        if own == Path(experiment["input_dir"]) or not own.is_dir():
            return True
    return False


CONFIG_FIELDS = tuple(DanceConfig.model_fields)


def _prepared_frames(experiment: dict) -> int | None:
    """Pose frames the experiment's folder has (or will have), when known."""
    result = experiment.get("preprocess") or {}
    if result.get("frames"):
        return int(result["frames"])
    if not experiment["source_input_dir"]:
        return int((experiment["config"] or {}).get("frame_num") or 0) or None
    return None


SEEDS_MAX = 16


def submit_generations(
    user: User, project_id: str | None, experiment_id: str | None, body: dict[str, Any]
) -> list[dict]:
    """One generation job per seed of ``body["base_seeds"]`` (the same input and
    config; all seeds checked before any job is made), else one job
    (:func:`submit_generation`). Returns each job's ``{project_id, job_id, task_id}``."""
    body = dict(body)
    seeds = body.pop("base_seeds", None)
    if not seeds:
        return [submit_generation(user, project_id, experiment_id, body)]
    if body.get("base_seed") is not None:
        raise BadInput("Give base_seed or base_seeds, not both.")
    if len(seeds) > SEEDS_MAX:
        raise BadInput(f"{len(seeds)} seeds; at most {SEEDS_MAX} at once.")
    for seed in seeds:
        make_config(None, {"base_seed": seed})
    return [
        submit_generation(user, project_id, experiment_id, {**body, "base_seed": seed})
        for seed in seeds
    ]


def submit_generation(
    user: User, project_id: str | None, experiment_id: str | None, body: dict[str, Any]
) -> dict:
    """A generation job: the experiment's config (or the defaults) with the body's
    non-empty config fields on top; refused (409) when no generator is set up.
    Without a project (seed's low-level queue) no row is kept. Returns
    ``{project_id, job_id, task_id}``."""
    from pipelines.dance.prepare import check_pair_dir

    project = rec.get_project(user, project_id) if project_id else None
    experiment = (
        rec.get_experiment(user, project_id, experiment_id)
        if (project_id and experiment_id)
        else None
    )
    overrides = {k: body.get(k) for k in CONFIG_FIELDS if body.get(k) is not None}
    config = make_config(experiment["config"] if experiment else None, overrides)
    backend = backends.choose(config.backend)
    prompt = rec.check_text(body.get("prompt_override"), "prompt") or None
    job_id = rec.new_id()
    # The job's own input folder: a snapshot made now (seed: "copy input_dir to
    # jobs/{job_id}/input/"); a low-level task (no project) copies at its first run.
    input_dir = str(rec.generation_dir(project["id"], job_id) / "input") if project else None
    copy_from, snapshot_from, frames, fps = None, None, None, None
    source: Path | None = None  # copied now into input_dir
    studio_owned = False  # source is an experiment's input (replaced whole, never rewritten)
    preprocessing = None  # the job the generation waits for (submit(..., after=))
    if body.get("input_dir") and str(body["input_dir"]).strip():
        source = pair_source(body["input_dir"])
        frames = check_pair_dir(source)["frames"]
        copy_from = str(source)
    elif experiment is not None:
        preprocessing = store.find_job(experiment.get("preprocess_job_id"))
        if preprocessing is None:
            raise BadInput("The experiment has no prepared input; run its preprocessing first.")
        frames = _prepared_frames(experiment)
        fps = (experiment.get("preprocess") or {}).get("fps")
        if preprocessing["status"] == "succeeded" and Path(experiment["input_dir"]).is_dir():
            source, studio_owned = Path(experiment["input_dir"]), True
        else:  # still being prepared: the job takes its snapshot when it starts
            snapshot_from = experiment["input_dir"]
    else:
        raise BadInput(
            "Give input_dir: a SteadyDancer pair folder on the server (ref_image.png, positive/, "
            "negative/ …), or create the job from an experiment."
        )
    if frames is not None and config.frame_num > frames:
        raise BadInput(
            f"frame_num {config.frame_num} is more than the {frames} pose frames of the input; lower "
            "frame_num or prepare an experiment with more frames."
        )
    params: dict[str, Any] = {
        "generation_job_id": job_id if project else None,
        "project_id": project["id"] if project else None,
        "experiment_id": experiment["id"] if experiment else None,
        "input_dir": input_dir,
        "copy_from": copy_from,
        "snapshot_from": snapshot_from,
        "fps": fps,
        "config": config.model_dump(),
        "backend": backend,
        "prompt_override": prompt,
        "output_dir": str(rec.generation_dir(project["id"], job_id) / "output")
        if project
        else None,
    }
    title = f"Dance generation ({backend})" + (f": {experiment['name']}" if experiment else "")
    owner = project["owner"] if project else user.name
    if project is None:
        job = queue.submit(GENERATE, params, owner=owner, title=title, after=preprocessing)
        return {"project_id": None, "job_id": None, "task_id": job["id"]}
    rec.generation_dir(project["id"], job_id).mkdir(parents=True, exist_ok=True)
    if source is not None and input_dir:
        try:
            snapshot(source, Path(input_dir), replaced_whole=studio_owned)
        except OSError as exc:
            shutil.rmtree(rec.generation_dir(project["id"], job_id), ignore_errors=True)
            raise BadInput(f"Could not copy the job's input folder {source}: {exc}") from None
        params["copy_from"] = None  # copied already
    rec.insert_generation_job(
        job_id,
        project,
        params["experiment_id"],
        f"pending:{job_id}",
        backend,
        input_dir or "",
        params,
    )
    folder = rec.generation_dir(project["id"], job_id)

    def undo() -> None:  # a refused submission: no row, no snapshot left behind
        rec.forget_generation_job(job_id)
        shutil.rmtree(folder, ignore_errors=True)

    job = queue.submit_reserved(
        undo,
        GENERATE,
        params,
        owner=owner,
        title=title,
        after=preprocessing,
    )
    rec.update_generation_job(job_id, task_id=job["id"])
    return {"project_id": project["id"], "job_id": job_id, "task_id": job["id"]}


def generation_task(user: User, task_id: str) -> dict:
    """A dance generation studio job by id (seed's low-level task), owner-checked."""
    try:
        return dict(store.job_for(str(task_id), user, (GENERATE,)))
    except store.JobNotFound:
        raise NotFound(
            f"No dance generation task {task_id}. It does not exist or is not yours."
        ) from None


def task_status(user: User, task_id: str) -> dict:
    """Seed's ``GET /steadydancer/jobs/{task_id}`` with Celery's semantics: a task it
    has not seen — and so another user's, answered the same — is ``PENDING`` with no
    result (Celery's AsyncResult knows no "unknown")."""
    try:
        return task_status_view(generation_task(user, task_id))
    except NotFound:
        return unknown_task_view(task_id)


def cancel_task(user: User, task_id: str) -> dict:
    """Cancel a generation by its task id (the low-level queue's; a project's job too):
    another user's task or an unknown id is 404, a finished one 409."""
    task = generation_task(user, task_id)
    queue.cancel(task["id"], user)
    return task_status_view(generation_task(user, task["id"]))


def task_log(user: User, task_id: str, tail: int) -> str:
    """The last ``tail`` lines of a generation's log, by its task id (owner-checked)."""
    return store.read_log(generation_task(user, task_id)["id"], tail=tail)


def cancel_generation(user: User, project_id: str, job_id: str) -> dict:
    row = rec.get_generation_job(user, project_id, job_id)
    queue.cancel(row["task_id"], user)
    return job_status_view(rec.generation_row(row["id"]) or row)


def retry_generation(user: User, project_id: str, job_id: str) -> dict:
    row = rec.get_generation_job(user, project_id, job_id)
    queue.retry(row["task_id"], user)
    return job_status_view(rec.generation_row(row["id"]) or row)


def delete_generation(user: User, project_id: str, job_id: str) -> None:
    row = rec.get_generation_job(user, project_id, job_id)
    task = _task(row["task_id"])
    rec.delete_generation_job(user, project_id, job_id, task["status"] if task else None)
    if task is not None:  # the copy the Jobs tab lists goes too (the record and log stay)
        (store.job_dir(task["id"]) / "outputs" / "result.mp4").unlink(missing_ok=True)
