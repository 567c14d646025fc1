"""Models (inside Jobs / Monitor): every tool's models, present or missing, the free
disk space in the models folder, and — for an admin — the download of a missing one,
followed in a job panel (progress in bytes, ETA, cancel). The same rows as
``GET /api/v1/models``; the fetch is ``POST /api/v1/models/{id}/fetch``'s check."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from jobs.tools.models import submit_fetch
from pipelines.errors import StudioError
from pipelines.model_download import size_text
from studio.api.models import models_view
from studio.errors import ui_error
from studio.job_panel import job_panel, visible_tabs
from studio.ui_user import current_user

COLUMNS = [
    "model",
    "status",
    "size",
    "tool",
    "role",
    "Hub id or folder",
    "where / problem",
    "variable",
]
# the whole table in the tab's width, long cells wrapped: status and size never scrolled away
WIDTHS = ["14%", "7%", "6%", "9%", "17%", "16%", "22%", "9%"]
INTRO = (
    "The models each tool uses. A missing model can be fetched by an admin (a download "
    "job in the CPU lane: progress, cancel, and resume after a restart), or by hand with "
    "the command shown in its row."
)


def _row(model: dict[str, Any]) -> list[Any]:
    return [
        model["title"],
        "present" if model["present"] else "missing",
        size_text(model["size"]) if model["size"] else "",
        model["tool"],
        model["role"],
        model["hub_id"] or model["setting"] or "",
        model["where"] if model["present"] else f"{model['problem']} — {model['command']}",
        model["setting"] or "",
    ]


def _disk(view: dict[str, Any]) -> str:
    free = size_text(view["free_bytes"]) if view["free_bytes"] is not None else "unknown"
    return (
        f"Models folder `{view['models_dir']}`: **{free} free**. "
        f"Fetch on first use (STUDIO_FETCH_MODELS): **{view['fetch_models']}**."
    )


def show() -> tuple[str, pd.DataFrame, Any]:
    """The disk line, the table and the missing models one can fetch."""
    view = models_view()
    frame = pd.DataFrame([_row(m) for m in view["models"]], columns=COLUMNS)
    missing = [
        (f"{m['title']} ({m['tool']}, {size_text(m['size']) if m['size'] else '?'})", m["id"])
        for m in view["models"]
        if m["fetchable"] and not m["present"]
    ]
    value = missing[0][1] if missing else None
    return _disk(view), frame, gr.Dropdown(choices=missing, value=value)


def start_fetch(model_id: str | None, request: gr.Request) -> str:
    if not model_id:
        raise gr.Error("Choose a missing model to fetch.", print_exception=False)
    try:
        return submit_fetch(model_id, current_user(request))["id"]
    except StudioError as exc:
        raise ui_error(exc) from None


def _follow(job_id: str, request: gr.Request) -> tuple[str, pd.DataFrame, Any]:
    return show()


def build() -> None:
    gr.Markdown(INTRO)
    disk = gr.Markdown(elem_id="models-disk")
    table = gr.Dataframe(
        headers=COLUMNS,
        interactive=False,
        wrap=True,
        column_widths=WIDTHS,
        max_height=1600,  # every model's row on the page, no scrolling inside the table
        elem_id="models-table",
    )
    with gr.Row():
        choice = gr.Dropdown(label="Missing model", choices=[], elem_id="models-choice")
        fetch = gr.Button("Fetch (admins)", variant="primary", scale=0, elem_id="models-fetch")
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="models-refresh")
    # the panel's polls refresh the table too, so a finished download shows "present"
    panel = job_panel("models", label="Download", extra=(_follow, [disk, table, choice]))
    refresh.click(show, None, [disk, table, choice], api_name="models_list")
    fetch.click(start_fetch, choice, panel.job_id, api_name="models_fetch")
    # filled when the tab is first shown (tabs render their contents then), once
    first = gr.Timer(0.3)
    visible_tabs.leave_alone(first)
    first.tick(_first, None, [disk, table, choice, first], api_visibility="private", queue=False)


def _first() -> tuple[Any, ...]:
    return (*show(), gr.Timer(active=False))
