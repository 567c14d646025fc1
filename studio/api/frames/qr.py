"""Frame review REST: QR codes (seed 001 ``/qr``): simple (JSON), artistic and
animated (multipart with a background picture). Each runs a ``frames.qr`` job
and, as in the seed, answers with the image once it is done (``wait=false``:
202 with the job at once). Options: :class:`pipelines.frames.qr.QROptions`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse, Response

from jobs import store
from jobs.access import User
from jobs.tools.frames import submit
from jobs.tools.frames.records import FrameInputError
from pipelines.frames.qr import QROptions
from studio.api.frames.common import Caller
from studio.uploads import save_upload

router = APIRouter(tags=["qr"])
QR_WAIT_S = 60.0
PICTURES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def _run(
    options: dict[str, Any], mode: str, user: User, picture: UploadFile | None, wait: bool
) -> Response:
    tmp = None
    try:
        if picture is not None:
            tmp = save_upload(picture)
        job = submit.submit_qr(options, mode, user, tmp)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp.parent, ignore_errors=True)
    if not wait:
        return JSONResponse({"job_id": job["id"], "status": job["status"]}, status_code=202)
    deadline = time.monotonic() + QR_WAIT_S
    while job["status"] not in store.FINAL and time.monotonic() < deadline:
        time.sleep(0.05)
        job = store.get_job(job["id"])
    if job["status"] == "failed":
        raise FrameInputError(job["error"] or "The QR code could not be made.")
    if job["status"] != "succeeded":
        return JSONResponse(
            {
                "job_id": job["id"],
                "status": job["status"],
                "detail": "Still running; fetch the image listed in the job's outputs.files "
                "(GET /api/v1/jobs/{job_id}) when the job has succeeded.",
            },
            status_code=202,
        )
    path = store.output_path(job["id"], job["outputs"]["file"])
    return Response(
        path.read_bytes(),
        media_type="image/gif" if path.suffix == ".gif" else "image/png",
        headers={"X-Job-Id": job["id"]},
    )


@router.post("/qr/simple", summary="A QR code (PNG)", response_class=Response)
def qr_simple(body: QROptions, user: Caller, wait: bool = True) -> Response:
    return _run(body.model_dump(), "simple", user, None, wait)


Level = Literal["L", "M", "Q", "H", "l", "m", "q", "h"]
_F = QROptions.model_fields


def _form(
    words: str = Form(..., max_length=2953),
    version: int | None = Form(None, ge=1, le=40, description=_F["version"].description),
    level: Level = Form("H"),
    colorized: bool = Form(False),
    contrast: float = Form(1.0, ge=0.1, le=3.0),
    brightness: float = Form(1.0, ge=0.1, le=3.0),
) -> dict[str, Any]:
    """The form fields both picture routes take (a FastAPI dependency)."""
    return {
        "words": words,
        "version": version,
        "level": level.upper(),
        "colorized": colorized,
        "contrast": contrast,
        "brightness": brightness,
    }


@router.post(
    "/qr/artistic", summary="A QR code over a background picture (PNG)", response_class=Response
)
def qr_artistic(
    user: Caller,
    picture: UploadFile = File(...),
    form: dict[str, Any] = Depends(_form),
    wait: bool = True,
) -> Response:
    if Path(picture.filename or "").suffix.lower() not in PICTURES:
        raise FrameInputError(f"picture {picture.filename!r}: use a PNG, JPG, JPEG or BMP picture.")
    return _run(
        form,
        "artistic",
        user,
        picture,
        wait,
    )


@router.post(
    "/qr/animated", summary="A QR code over an animated GIF (GIF)", response_class=Response
)
def qr_animated(
    user: Caller,
    picture: UploadFile = File(...),
    form: dict[str, Any] = Depends(_form),
    wait: bool = True,
) -> Response:
    if Path(picture.filename or "").suffix.lower() != ".gif":
        raise FrameInputError(
            f"picture {picture.filename!r}: an animated QR code needs a .gif file."
        )
    return _run(
        form,
        "animated",
        user,
        picture,
        wait,
    )
