"""Dance generation REST API (seed 004), under ``/api/v1/dance``.

Seed 004's paths, bodies and response fields: a client of the seed changes only
its base URL to ``http://host:7860/api/v1/dance``. ``task_id`` is the studio job
id; ``state`` is PENDING / STARTED / SUCCESS / FAILURE / REVOKED. Beyond the
seed: multipart uploads of references and motions, DELETE for projects, assets,
experiments and jobs, PATCH (rename, re-describe) for projects, assets and
experiments, ``?limit=&offset=`` on every list (newest first, still a JSON
list), downloads (a reference's or motion's source file, an experiment's pose
preview and its pair folder as a streamed ZIP, a job's ``result.json``),
several seeds in one request (``base_seeds``), re-running an experiment's
preprocessing, cancel / retry / log of a job (low-level tasks too), and progress
fields (``stage``, ``percent``, ``eta_s``) on job status. As Celery does,
``GET /steadydancer/jobs/{task_id}`` answers ``PENDING`` for a task it has not
seen (another user's task answers the same).

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
