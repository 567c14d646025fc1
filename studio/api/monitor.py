"""Scenario runs with monitoring (seed 001): saved scenario scripts and their runs."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from jobs.tools.monitor import scenarios
from studio.api.jobs import JobOut
from studio.auth import User, api_user

router = APIRouter(prefix="/scenarios", tags=["monitor"])


class ScenarioIn(BaseModel):
    name: str = Field(examples=["cold_start_login"])
    code: str
    language: Literal["python", "bash"] = "python"
    metrics: list[str] = Field(default_factory=lambda: ["cpu_percent", "rss_mb", "threads"])
    interval_s: float = Field(0.5, ge=0.05, le=60)
    timeout_s: float = Field(600, gt=0)
    target: str = ""


class ScenarioPatch(BaseModel):
    code: str | None = None
    language: Literal["python", "bash"] | None = None
    metrics: list[str] | None = None
    interval_s: float | None = Field(None, ge=0.05, le=60)
    timeout_s: float | None = Field(None, gt=0)
    target: str | None = None


def _found(name: str) -> dict[str, Any]:
    try:
        return scenarios.get(name)
    except scenarios.ScenarioNotFound as exc:
        raise HTTPException(404, str(exc)) from None


def _checked_metrics(metrics: list[str] | None) -> None:
    from pipelines.monitor.resources import METRICS

    unknown = set(metrics or []) - set(METRICS)
    if unknown:
        raise HTTPException(422, f"Unknown metrics {sorted(unknown)}; choose from {sorted(METRICS)}.")


@router.get("", summary="Saved scenarios")
def list_scenarios(user: User = Depends(api_user)) -> list[dict[str, Any]]:
    return scenarios.list_all()


@router.post("", status_code=201, summary="Save a new scenario (409 if the name exists)")
def create_scenario(body: ScenarioIn, user: User = Depends(api_user)) -> dict[str, Any]:
    _checked_metrics(body.metrics)
    try:
        return scenarios.create(owner=user.name, **body.model_dump())
    except scenarios.ScenarioExists as exc:
        raise HTTPException(409, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/{name}", summary="One scenario")
def get_scenario(name: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return _found(name)


@router.put("/{name}", summary="Change a scenario")
def update_scenario(name: str, body: ScenarioPatch, user: User = Depends(api_user)) -> dict[str, Any]:
    _found(name)
    _checked_metrics(body.metrics)
    try:
        return scenarios.update(name, **body.model_dump())
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.delete("/{name}", status_code=204, summary="Delete a scenario (its runs stay)")
def delete_scenario(name: str, user: User = Depends(api_user)) -> None:
    _found(name)
    scenarios.delete(name)


@router.post("/{name}/run", response_model=JobOut, status_code=201,
             summary="Run the scenario while sampling it; poll the job and GET /jobs/{id}/samples")
def run_scenario(name: str, user: User = Depends(api_user)) -> dict[str, Any]:
    _found(name)
    return scenarios.submit_run(name, user.name)
