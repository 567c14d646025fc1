"""The one place where the studio's errors become HTTP answers and UI messages.

:class:`pipelines.errors.StudioError` carries its status; REST answers
``{"detail": message}`` with it. In a Gradio event, :func:`ui_error` turns the
same exception into a ``gr.Error`` with the same message (no traceback).
"""

from __future__ import annotations

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from pipelines.errors import StudioError


def install(app: FastAPI) -> None:
    @app.exception_handler(StudioError)
    async def studio_error(request: Request, exc: StudioError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)


def ui_error(exc: Exception) -> gr.Error:
    """The message a user sees in the UI for ``exc``."""
    return gr.Error(str(exc), print_exception=False)
