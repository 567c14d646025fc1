"""Dance generation REST API (seed 004), under ``/api/v1/dance``.

Seed 004's paths, bodies and response fields: a client of the seed changes only
its base URL to ``http://host:7860/api/v1/dance``. ``task_id`` is the studio job
id; ``state`` is PENDING / STARTED / SUCCESS / FAILURE / REVOKED. Beyond the
seed: multipart uploads of references and motions, DELETE for projects, assets,
experiments and jobs, re-running an experiment's preprocessing, its pose
preview, cancel / retry / log of a job, and progress fields (``stage``,
``percent``, ``eta_s``) on job status.

A request only checks its input, copies the asset it was given and submits
jobs; preprocessing and generation run in the worker. Server paths
(``source_image_path``, ``source_video_path``, ``source_input_dir``,
``input_dir``) must lie inside STUDIO_ALLOWED_ROOTS (links resolved); a
relative path counts from the first allowed root.
"""

from __future__ import annotations

from fastapi import APIRouter

from studio.api.dance import experiments, generation, projects

routes = APIRouter(tags=["dance"])  # mounted at /api/v1/dance (jobs.tools.dance declares it)
for _part in (projects.router, experiments.router, generation.router):
    routes.include_router(_part)

# Seed 004's paths for an app that mounts this router itself at /api/v1.
router = APIRouter()
router.include_router(routes, prefix="/dance")

__all__ = ["router", "routes"]
