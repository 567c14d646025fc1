"""Frame review REST API (seed 001): videos, tasks, review, QR codes.

Paths and field names follow seed 001 (``/video/upload``, ``/task/create``,
``/review/{video_id}/mark``, ``/qr/simple`` ...); the shapes are in
:mod:`.schemas`, built from the records by :mod:`.views`. Every route names
the caller (``studio.auth.api_user``) and the records check the owner
(``jobs.access``): another user's recording or task is a 404. Errors are the
studio's family (``pipelines.errors``), mapped once by ``studio.errors``.
"""

from __future__ import annotations

from fastapi import APIRouter

from studio.api.frames import qr, review, tasks, videos

router = APIRouter()
for _part in (videos.router, tasks.router, review.router, qr.router):
    router.include_router(_part)

__all__ = ["router"]
