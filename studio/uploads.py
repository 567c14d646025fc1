"""Request sizes and uploads.

:class:`RequestLimits` (ASGI middleware, in front of the REST API and the UI)
refuses a request before its body is read when its Content-Length is over the
limit for its kind of endpoint, and stops reading a streamed body at the
limit — 413 with a message either way:

- uploads (``multipart/form-data``, Gradio's ``/gradio_api/upload``):
  STUDIO_MAX_UPLOAD_MB;
- Gradio events (the values a tab sends): STUDIO_MAX_UI_EVENT_MB;
- everything else (REST JSON): STUDIO_MAX_JSON_MB.

It also refuses a URL holding a NUL byte (400): no server path can contain one.

:func:`save_upload` streams one REST upload to disk with the same upload limit, under the
name :func:`pipelines.names.file_name` gives it (the one rule for uploaded names);
:func:`save_uploads` saves several into one temporary folder and removes it when one fails.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from fastapi import UploadFile
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobs.settings import get_settings
from pipelines.errors import TooLarge
from pipelines.names import file_name

CHUNK = 1 << 20
MULTIPART_SLACK = 1 << 20  # form fields and part headers around the files


def save_upload(
    upload: UploadFile, folder: Path | None = None, limit: tuple[int, str] | None = None
) -> Path:
    """Stream an upload into ``folder`` (a new temp folder by default); 413 past
    STUDIO_MAX_UPLOAD_MB, or past ``limit`` (bytes, and how the limit is named) when a
    tool has a smaller one; 422 for a name that is no file name (:func:`file_name`).
    Returns the saved path, named as uploaded (without folders)."""
    most = get_settings().max_upload_mb * 2**20
    named = f"{most // 2**20} MB (STUDIO_MAX_UPLOAD_MB)"
    if limit is not None and limit[0] < most:
        most, named = limit
    name = file_name(upload.filename)
    folder = folder or temp_folder("upload-")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    written = 0
    with open(target, "wb") as out:
        while chunk := upload.file.read(CHUNK):
            written += len(chunk)
            if written > most:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise TooLarge(f"{name} is larger than {named}.")
            out.write(chunk)
    return target


def temp_folder(prefix: str) -> Path:
    """A new temporary folder inside STUDIO_HOME (on the disk the jobs' inputs go to)."""
    home = get_settings().home
    home.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=home))


def save_uploads(uploads: Sequence[UploadFile], prefix: str = "upload-") -> tuple[Path, list[Path]]:
    """Save several uploads into one new temporary folder (one sub-folder each, so two files
    with one name are both kept). Returns (the folder, the saved paths); the caller removes
    the folder when done. When one upload fails (a bad name, too large) the folder and
    everything saved before are removed and the error raised."""
    folder = temp_folder(prefix)
    try:
        return folder, [save_upload(f, folder / str(i)) for i, f in enumerate(uploads)]
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def body_limit(scope: Scope) -> tuple[int, str]:
    """The largest body (bytes) this request may send, and what the limit is called."""
    settings = get_settings()
    path: str = scope.get("path", "")
    content_type = Headers(scope=scope).get("content-type", "").lower()
    if content_type.startswith("multipart/form-data") or "/gradio_api/upload" in path:
        return (
            settings.max_upload_mb * 2**20 + MULTIPART_SLACK,
            f"{settings.max_upload_mb} MB (STUDIO_MAX_UPLOAD_MB)",
        )
    if "/gradio_api/" in path:
        return int(
            settings.max_ui_event_mb * 2**20
        ), f"{settings.max_ui_event_mb:g} MB (STUDIO_MAX_UI_EVENT_MB)"
    return int(settings.max_json_mb * 2**20), f"{settings.max_json_mb:g} MB (STUDIO_MAX_JSON_MB)"


class RequestLimits:
    """ASGI middleware: body size per kind of endpoint, and no NUL bytes in URLs."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
            await _answer(
                send, 400, "The URL holds a NUL byte; paths and names cannot contain one."
            )
            return
        limit, name = body_limit(scope)
        too_large = f"The request body is over the limit of {name}."
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            await _answer(send, 413, too_large)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise TooLarge(too_large)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a body cut short: ours follows
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await _answer(send, 413, too_large)


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
