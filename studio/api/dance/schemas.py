"""Seed 004's bodies and answers (field names as the seed), with length limits
and patterns that show in the OpenAPI page. Config fields come from
``pipelines.dance.config`` (one schema for REST, the tab and the generators)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from jobs.tools.dance import records as rec
from jobs.tools.dance.submit import SEEDS_MAX
from pipelines.dance.config import ConfigOverrides
from pipelines.errors import BadInput
from pipelines.names import MULTI_LINE, ONE_LINE, text_field

PATH_MAX = 4096
PAGE_MAX = 1000


def _name(description: str) -> Any:
    return text_field(rec.NAME_MAX, description, min_length=1)


def _text(description: str) -> Any:
    return text_field(rec.TEXT_MAX, description, multiline=True, default=None)


def _path(description: str) -> Any:
    return text_field(PATH_MAX, description)


# -- bodies and answers ---------------------------------------------------------------


class ProjectCreate(BaseModel):
    name: str = _name("Project name (unique among your projects)")
    description: str | None = _text("Optional description")


class _Patch(BaseModel):
    """A PATCH body: only the fields sent change (``null`` clears a description);
    other fields are refused."""

    model_config = ConfigDict(extra="forbid")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ProjectUpdate(_Patch):
    name: str | None = text_field(rec.NAME_MAX, "New name", min_length=1, default=None)
    description: str | None = _text("New description (null: none)")


class AssetUpdate(_Patch):
    name: str | None = text_field(rec.NAME_MAX, "New name", min_length=1, default=None)
    meta: dict[str, Any] | None = Field(
        None, description="New metadata, replacing the old (meta.prompt becomes the prompt)"
    )


class ExperimentUpdate(ProjectUpdate):
    pass


class ProjectOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    description: str | None = None


class ReferenceCreate(BaseModel):
    name: str = _name("Reference name, e.g. the person")
    source_image_path: str = _path(
        "Image on the server (inside STUDIO_ALLOWED_ROOTS; relative to the first root)"
    )
    meta: dict[str, Any] | None = Field(
        None, description="Free metadata; meta.prompt becomes the prompt"
    )


class ReferenceOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    project_id: str
    name: str
    image_path: str
    meta: dict[str, Any] | None = None


class MotionCreate(BaseModel):
    name: str = _name("Motion name, e.g. the dance")
    source_video_path: str = _path("Driving video on the server (inside STUDIO_ALLOWED_ROOTS)")
    meta: dict[str, Any] | None = None


class MotionOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    project_id: str
    name: str
    video_path: str
    meta: dict[str, Any] | None = None


class ExperimentCreate(BaseModel):
    name: str = _name("Experiment name")
    description: str | None = _text("Optional description")
    reference_id: str | None = Field(
        None, max_length=64, description="Reference asset of this project"
    )
    motion_id: str | None = Field(None, max_length=64, description="Motion asset of this project")
    source_input_dir: str | None = Field(
        None,
        max_length=PATH_MAX,
        pattern=ONE_LINE,
        description="A prepared SteadyDancer pair folder on the server "
        "(instead of reference + motion)",
    )
    config: ConfigOverrides | None = Field(
        None,
        description="Default generation config; empty fields take "  # type: ignore[valid-type]
        "the defaults",
    )


class ExperimentOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    project_id: str
    reference_id: str | None = None
    motion_id: str | None = None
    name: str
    description: str | None = None
    input_dir: str | None = None
    config: dict[str, Any] | None = None


class SteadyDancerJobCreate(ConfigOverrides):  # type: ignore[valid-type, misc]
    """Seed's SteadyDancerJobCreate: a pair folder (or the experiment's) and config
    fields; empty fields keep the experiment's config (or the defaults)."""

    input_dir: str | None = Field(
        None,
        max_length=PATH_MAX,
        pattern=ONE_LINE,
        description="Pair folder on the server (inside STUDIO_ALLOWED_ROOTS); optional "
        "for experiment jobs",
    )
    prompt_override: str | None = Field(
        None,
        max_length=rec.TEXT_MAX,
        pattern=MULTI_LINE,
        description="Prompt instead of the folder's prompt.txt",
    )
    base_seeds: list[Annotated[int, Field(ge=-1, le=2**63 - 1)]] | None = Field(
        None,
        min_length=1,
        max_length=SEEDS_MAX,
        description=f"Several seeds at once (at most {SEEDS_MAX}): one job each, the same "
        "input and config; the answer is the first job's, with all of them in `jobs` "
        "(`task_ids` for the low-level queue)",
    )


class ProjectJobCreated(BaseModel):
    model_config = ConfigDict(extra="allow")
    project_id: str
    job_id: str
    task_id: str


class JobResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    success: bool
    video_path: str | None = None
    stdout: str = ""
    stderr: str = ""
    return_code: int | None = None


class ProjectJobStatus(BaseModel):
    model_config = ConfigDict(extra="allow")
    project_id: str
    job_id: str
    task_id: str
    state: str = Field(description="PENDING / STARTED / SUCCESS / FAILURE / REVOKED")
    result: JobResult | None = None
    stage: str | None = None
    percent: int = 0
    eta_s: float | None = None


class ProjectJobSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    project_id: str
    experiment_id: str | None = None
    task_id: str
    job_type: str
    status: str
    result_video_path: str | None = None


class TaskCreated(BaseModel):
    model_config = ConfigDict(extra="allow")
    task_id: str


class TaskStatus(BaseModel):
    model_config = ConfigDict(extra="allow")
    task_id: str
    state: str
    result: JobResult | None = None


@dataclass(frozen=True)
class Page:
    """A page of a list (``?limit=&offset=``); the answer stays a JSON list, newest first."""

    limit: int | None
    offset: int


def page(
    limit: int | None = Query(
        None, ge=1, le=PAGE_MAX, description=f"At most this many (1-{PAGE_MAX}); default all"
    ),
    offset: int = Query(0, ge=0, le=10**9, description="Skip this many (newest first)"),
) -> Page:
    return Page(limit, offset)


def body_fields(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_none=True)


def meta_from_form(text: str | None, prompt: str | None = None) -> dict[str, Any] | None:
    meta: dict[str, Any] | None = None
    if text and text.strip():
        try:
            meta = json.loads(text)
        except ValueError:
            raise BadInput(
                'meta must be a JSON object, e.g. {"prompt": "a dancer in red"}.'
            ) from None
        if not isinstance(meta, dict):
            raise BadInput('meta must be a JSON object, e.g. {"prompt": "a dancer in red"}.')
    if prompt and prompt.strip():
        meta = {**(meta or {}), "prompt": prompt.strip()}
    return meta
