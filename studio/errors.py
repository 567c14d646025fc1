"""The one place where the studio's errors become HTTP answers and UI messages.

:class:`pipelines.errors.StudioError` carries its status; REST answers
``{"detail": message}`` with it. Input the standard library cannot take —
nested too deeply (RecursionError), a number too large (OverflowError), text
that is not valid Unicode (UnicodeError) — is the caller's mistake: 422 with
a message, never a 500. Validation errors list what is wrong without echoing
the (possibly huge, possibly binary) input back. In a Gradio event,
:func:`ui_error` turns the same exceptions into a ``gr.Error`` with the same
message (no traceback).
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from pipelines.errors import StudioError

_INPUT_ERRORS: dict[type[Exception], str] = {
    RecursionError: "The request is nested too deeply; send flatter JSON.",
    OverflowError: "A number in the request is too large.",
    UnicodeError: "The request holds text that is not valid UTF-8.",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(StudioError)
    async def studio_error(request: Request, exc: StudioError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_details(exc.errors())}, status_code=422)

    for kind, message in _INPUT_ERRORS.items():
        app.add_exception_handler(kind, _input_error(message))


def _input_error(message: str) -> Any:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": message}, status_code=422)

    return handler


def validation_details(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's list of validation errors (where, what), without the input."""
    details = []
    for error in list(errors)[:20]:
        loc = [part if isinstance(part, int) else str(part)[:100] for part in error.get("loc", ())]
        details.append(
            {"loc": loc, "msg": str(error.get("msg", ""))[:500], "type": str(error.get("type", ""))}
        )
    return details


def message_of(exc: BaseException) -> str:
    """What a user reads for ``exc`` (the REST answer's words)."""
    if isinstance(exc, StudioError):
        return exc.message
    for kind, message in _INPUT_ERRORS.items():
        if isinstance(exc, kind):
            return message
    return str(exc) or exc.__class__.__name__


def ui_error(exc: BaseException) -> gr.Error:
    """The message a user sees in the UI for ``exc``."""
    return gr.Error(message_of(exc), print_exception=False)
