"""Scenario runs with monitoring (seed 001): saved scenario scripts and their runs.

Scenario scripts are code run on the server: admins only, off in an open
studio unless STUDIO_ALLOW_SCENARIO_SCRIPTS=1 (403 with the reason otherwise).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from jobs.tools.monitor import scenarios
from pipelines.errors import BadInput
from pipelines.names import NAME_MAX, NAME_PATTERN, ShortText, text_rule
from studio.api.jobs import JobOut
from studio.auth import User, api_user

router = APIRouter(prefix="/scenarios", tags=["monitor"])

ScenarioName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=NAME_MAX,
        pattern=NAME_PATTERN,
        examples=["cold_start_login"],
        description="1-64 letters, digits, '_', '-' or '.'",
    ),
]
Code = Annotated[
    str,
    Field(
        min_length=1,
        max_length=scenarios.MAX_CODE_CHARS,
        pattern=r"^[^\x00]*$",
        description="The script (at most 256 KB).",
    ),
]
Metrics = Annotated[list[Annotated[str, text_rule(40)]], Field(max_length=20)]
NameInPath = Path(max_length=NAME_MAX, description="The scenario's name.")
Owner = Annotated[
    str | None,
    Query(max_length=200, description="admins: the owner of another user's scenario"),
]


def _checked_metrics(metrics: list[str] | None) -> None:
    from pipelines.monitor.resources import METRICS

    unknown = set(metrics or []) - set(METRICS)
    if unknown:
        raise BadInput(f"Unknown metrics {sorted(unknown)[:10]}; choose from {sorted(METRICS)}.")


class ScenarioIn(BaseModel):
    name: ScenarioName
    code: Code
    language: Literal["python", "bash"] = "python"
    metrics: Metrics = Field(default_factory=lambda: ["cpu_percent", "rss_mb", "threads"])
    interval_s: float = Field(0.5, ge=0.05, le=60)
    timeout_s: float = Field(600, gt=0, le=24 * 3600)
    target: ShortText = Field(
        "", max_length=200, description="Also sample processes whose name holds this."
    )


class ScenarioPatch(BaseModel):
    code: Code | None = None
    language: Literal["python", "bash"] | None = None
    metrics: Metrics | None = None
    interval_s: float | None = Field(None, ge=0.05, le=60)
    timeout_s: float | None = Field(None, gt=0, le=24 * 3600)
    target: ShortText | None = Field(None, max_length=200)


@router.get("", summary="Saved scenarios (yours; admins see all)")
def list_scenarios(user: User = Depends(api_user)) -> list[dict[str, Any]]:
    return scenarios.list_all(user)


@router.post("", status_code=201, summary="Save a new scenario (409 if you have that name)")
def create_scenario(body: ScenarioIn, user: User = Depends(api_user)) -> dict[str, Any]:
    _checked_metrics(body.metrics)
    fields = body.model_dump()
    return scenarios.create(fields.pop("name"), fields.pop("code"), user=user, **fields)


@router.get("/{name}", summary="One scenario")
def get_scenario(
    name: str = NameInPath, owner: Owner = None, user: User = Depends(api_user)
) -> dict[str, Any]:
    return scenarios.get(name, user, owner)


@router.put("/{name}", summary="Change a scenario")
def update_scenario(
    body: ScenarioPatch,
    name: str = NameInPath,
    owner: Owner = None,
    user: User = Depends(api_user),
) -> dict[str, Any]:
    _checked_metrics(body.metrics)
    return scenarios.update(name, user, owner, **body.model_dump())


@router.delete("/{name}", status_code=204, summary="Delete a scenario (its runs stay)")
def delete_scenario(
    name: str = NameInPath, owner: Owner = None, user: User = Depends(api_user)
) -> None:
    scenarios.delete(name, user, owner)


@router.post(
    "/{name}/run",
    response_model=JobOut,
    status_code=201,
    summary="Run the scenario while sampling it; poll the job and GET /jobs/{id}/samples",
)
def run_scenario(
    name: str = NameInPath, owner: Owner = None, user: User = Depends(api_user)
) -> dict[str, Any]:
    return scenarios.submit_run(name, user, owner)
