"""Models: what every tool declares, where each was found, and the download an admin
starts for a missing one (``jobs.tools.models``). The core API, beside /api/v1/jobs."""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from jobs import store
from jobs.models import declared, listing
from jobs.settings import get_settings
from jobs.tools.models import submit_fetch
from studio.api.jobs import JobOut
from studio.auth import User, api_user

router = APIRouter(tags=["models"])
ModelId = Path(max_length=120, pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$", description="The model's id.")


class ModelOut(BaseModel):
    id: str  # "<tool>.<key>", e.g. video_edit.clipseg
    tool: str
    title: str
    role: str
    hub_id: str | None
    folder: str | None  # where a fetch puts it
    size: int | None  # expected bytes (about)
    present: bool
    where: str | None
    found_by: str | None  # "models folder", "Hugging Face cache" or the variable
    problem: str | None  # why it is missing
    setting: str | None  # the variable that names another folder or Hub id
    fetchable: bool
    command: str  # how to get it by hand


class ModelsOut(BaseModel):
    models_dir: str
    free_bytes: int | None  # free disk space in the models folder
    fetch_models: str  # STUDIO_FETCH_MODELS
    models: list[ModelOut]


def models_view() -> dict[str, Any]:
    """Every tool's models, and the free space where they go (the tab shows the same)."""
    settings = get_settings()
    folder = settings.models_path
    probe = next((p for p in (folder, *folder.parents) if p.exists()), None)
    free = shutil.disk_usage(probe).free if probe is not None else None
    return {
        "models_dir": str(folder),
        "free_bytes": free,
        "fetch_models": settings.fetch_models,
        "models": [listing(item) for item in declared()],
    }


@router.get("/models", response_model=ModelsOut, summary="Every tool's models: present or missing")
def get_models(user: User = Depends(api_user)) -> dict[str, Any]:
    return models_view()


@router.post(
    "/models/{model_id}/fetch",
    response_model=JobOut,
    status_code=201,
    summary="Download a missing model into the models folder (admins; a job in the CPU lane)",
)
def fetch_model(model_id: str = ModelId, user: User = Depends(api_user)) -> store.Job:
    return submit_fetch(model_id, user)
