"""Which dance generators this studio can run, from the settings.

- ``steadydancer``: ``STEADYDANCER_DIR`` holds ``generate_dancer.py``; it runs with
  ``STEADYDANCER_PYTHON`` (default: the studio's own Python) and the weights in
  ``STEADYDANCER_CKPT_DIR`` (default ``MODELS_DIR/SteadyDancer-14B``). Whether it
  can really run (CUDA, flash-attn, weights) is the child's business: its exit
  code and output decide.
- ``wan-animate``: diffusers is installed and ``STUDIO_WAN_ANIMATE_MODEL`` names a
  folder or Hub id, or ``MODELS_DIR/Wan2.2-Animate-14B-Diffusers`` exists.

A job asking for a backend that is not set up is refused when it is submitted,
with what to install.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from jobs.settings import get_settings
from pipelines.dance.steadydancer import SteadyDancerSetup
from pipelines.errors import Conflict

WAN_ANIMATE_FOLDER = "Wan2.2-Animate-14B-Diffusers"
WAN_ANIMATE_HUB_ID = "Wan-AI/Wan2.2-Animate-14B-Diffusers"
STEADYDANCER_FOLDER = "SteadyDancer-14B"
STEADYDANCER_HUB_ID = "MCG-NJU/SteadyDancer-14B"
PREFERENCE = ("steadydancer", "wan-animate")


class BackendMissing(Conflict):
    """No generator is set up for this job (HTTP 409, with what to install)."""


def steadydancer_setup() -> SteadyDancerSetup:
    settings = get_settings()
    directory = (
        settings.steadydancer_dir.expanduser().resolve() if settings.steadydancer_dir else None
    )
    ckpt = settings.steadydancer_ckpt_dir or settings.models_path / STEADYDANCER_FOLDER
    return SteadyDancerSetup(
        directory=directory,
        python=settings.steadydancer_python or sys.executable,
        ckpt_dir=Path(ckpt).expanduser().resolve(),
    )


def wan_animate_model() -> str | None:
    """The Wan-Animate folder or Hub id to load, or None when none is set up."""
    settings = get_settings()
    if settings.wan_animate_model.strip():
        return settings.wan_animate_model.strip()
    folder = settings.models_path / WAN_ANIMATE_FOLDER
    return str(folder.resolve()) if (folder / "model_index.json").is_file() else None


def wan_animate_fetched_first() -> bool:
    """Wan-Animate is missing and the job that needs it downloads it first
    (STUDIO_FETCH_MODELS=auto, not offline; ``jobs.tools.models``)."""
    from jobs.models import fetch_mode, offline

    return wan_animate_model() is None and fetch_mode() == "auto" and not offline()


def wan_animate_problem() -> str | None:
    if importlib.util.find_spec("diffusers") is None:
        return "Wan-Animate needs diffusers (pip install 'diffusers>=0.42' transformers accelerate ftfy)."
    if wan_animate_model() is None and not wan_animate_fetched_first():
        folder = get_settings().models_path / WAN_ANIMATE_FOLDER
        return (
            f"Wan-Animate is not set up: download {WAN_ANIMATE_HUB_ID} into {folder} "
            f"(huggingface-cli download {WAN_ANIMATE_HUB_ID} --local-dir {folder}) or set "
            "STUDIO_WAN_ANIMATE_MODEL to a diffusers folder."
        )
    return None


def problems() -> dict[str, str | None]:
    return {"steadydancer": steadydancer_setup().problem(), "wan-animate": wan_animate_problem()}


def choose(requested: str) -> str:
    """The backend a job runs with (``auto``: the first one set up), or
    BackendMissing saying what to install."""
    issues = problems()
    if requested in issues:
        if issues[requested]:
            raise BackendMissing(f"The {requested} generator is not available. {issues[requested]}")
        return requested
    for name in PREFERENCE:
        if not issues[name]:
            return name
    raise BackendMissing(
        "No dance generator is set up, so the job was not queued. Either: "
        + " Or: ".join(f"({i + 1}) {issues[n]}" for i, n in enumerate(PREFERENCE))
    )


def models_info() -> dict[str, Any]:
    """Seed 004's ``/models/info`` (``models_dir``, ``env_MODELS_DIR``) plus the backends."""
    settings = get_settings()
    sd = steadydancer_setup()
    issues = problems()
    wan_model = wan_animate_model()
    return {
        "models_dir": str(settings.models_path.expanduser().resolve()),
        "env_MODELS_DIR": os.environ.get("MODELS_DIR"),
        "default_backend": next((n for n in PREFERENCE if not issues[n]), None),
        "backends": {
            "steadydancer": {
                "available": issues["steadydancer"] is None,
                "steadydancer_dir": str(sd.directory) if sd.directory else None,
                "script": str(sd.script) if sd.script else None,
                "python": sd.python,
                "ckpt_dir": str(sd.ckpt_dir),
                "ckpt_dir_exists": sd.ckpt_dir.is_dir(),
                "env": {
                    k: os.environ.get(k)
                    for k in ("STEADYDANCER_DIR", "STEADYDANCER_PYTHON", "STEADYDANCER_CKPT_DIR")
                },
                "problem": issues["steadydancer"],
            },
            "wan-animate": {
                "available": issues["wan-animate"] is None,
                "model": wan_model,
                "hub_id": WAN_ANIMATE_HUB_ID,
                "problem": issues["wan-animate"],
            },
        },
    }
