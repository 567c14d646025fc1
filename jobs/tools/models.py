"""Models (a sub-tab of Jobs / Monitor, and ``/api/v1/models``): the models every tool
declares (``jobs.registry.Tool.models``), where each was found, and the download job
an admin starts for a missing one.

- ``models.fetch`` (cpu): ``huggingface_hub.snapshot_download`` of a declared model into
  ``STUDIO_MODELS_DIR/<folder>`` (:func:`jobs.models.fetch`), with progress in bytes
  and an ETA; cancel stops it at the next chunk; a fetch cut short (cancelled, or its
  worker killed and the job run again by recovery) resumes the files it left.

Only admins fetch (a non-admin, and every public-demo visitor, gets a 403), only the
models the tools declare (never an id a user types), never with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

from typing import Any

from jobs import queue, store
from jobs.access import User, user_named
from jobs.kinds import JobContext, job_kind
from jobs.models import Declared, declared_model, fetch, find, missing_message, offline
from jobs.registry import Tab, Tool, register
from jobs.tools.system import JOBS_MONITOR
from pipelines.errors import BadInput, Conflict, NotFound, Refused

FETCH = "models.fetch"


def _check_admin(user: User) -> None:
    if not user.is_admin:
        raise Refused(
            "Only an admin can download models (they are large and shared by everyone). "
            "Ask an admin to fetch it in Jobs / Monitor → Models."
        )


def _fetching(item: Declared) -> store.Job | None:
    """A fetch into the same folder that is queued or running now."""
    for status in ("running", "queued"):
        jobs, _ = store.list_jobs(kind=FETCH, status=status, limit=500)
        for job in jobs:
            try:
                other = declared_model(str(job["params"].get("model")))
            except NotFound:
                continue
            if other.model.folder_name == item.model.folder_name:
                return job
    return None


def submit_fetch(model_id: str, user: User) -> store.Job:
    """Queue the download of the declared model ``model_id`` for an admin.

    Refused (403) for anyone else; NotFound (404) for an unknown id; BadInput (422)
    when it cannot be fetched (no Hub id, or HF_HUB_OFFLINE: the message gives the
    command); Conflict (409) when it is here already or being fetched."""
    _check_admin(user)
    item = declared_model(model_id)
    model = item.model
    if not model.hub_id or offline():
        raise BadInput(missing_message(model))
    where, _ = find(model)
    if where is not None:
        raise Conflict(f"{model.title} is here already: {where}.")
    running = _fetching(item)
    if running is not None:
        raise Conflict(
            f"{model.title} is being downloaded by job {running['id']} ({running['status']}); "
            "follow that job, or cancel it first."
        )
    return queue.submit(FETCH, {"model": item.id}, owner=user.name, title=f"Download {model.title}")


def _still_admin(job: store.Job) -> None:
    """Retry check: the owner is still an admin."""
    _check_admin(user_named(job["owner"]))


@job_kind(FETCH, lane="cpu", title="Model download", check=_still_admin)
def fetch_job(ctx: JobContext) -> dict[str, Any]:
    _check_admin(user_named(ctx.owner))  # checked again: the owner may no longer be one
    item = declared_model(ctx.params["model"])
    folder = fetch(item.model, ctx.progress)
    where, found_by = find(item.model)
    return {
        "model": item.id,
        "hub_id": item.model.hub_id,
        "folder": str(folder),
        "present": where is not None,
        "where": where,
        "found_by": found_by,
    }


register(
    Tool(
        name="models",
        title="Models",
        kinds=(FETCH,),
        settings=("models_dir", "fetch_models"),
        router="studio.api.models:router",
        prefix="",  # /api/v1/models: the studio's own API, beside /api/v1/jobs
        tab=Tab("Models", "tab-models", "studio.tabs.models:build", 52, JOBS_MONITOR),
        core=True,
    )
)
