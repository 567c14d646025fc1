"""The studio: FastAPI app with the REST API under /api/v1 and the Gradio UI at /."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
from fastapi import FastAPI

from jobs.settings import get_settings
from studio import auth, errors
from studio.api import photo_dataset as photo_dataset_api
from studio.api import frames as frames_api
from studio.api import jobs as jobs_api
from studio.api import monitor as monitor_api
from studio.api import video_dataset as video_dataset_api
from studio.tabs import dataset_builder as dataset_tab
from studio.tabs import frames as frames_tab
from studio.tabs import jobs as jobs_tab

TITLE = "Studio"
CSS = """
.job-status table { width: 100%; font-size: 0.9em; }
.job-status th { text-align: left; width: 7em; color: var(--body-text-color-subdued); }
.status-succeeded { color: #15803d; } .status-failed { color: #b91c1c; } .status-cancelled { color: #92400e; }
.job-error { color: #b91c1c; white-space: pre-wrap; }
"""

# (tab label, module with build(), elem id). Each tool adds its tab here. A tab
# module may also define CSS and HEAD (a <script> for keyboard shortcuts, say).
TABS = [
    ("Dataset builder", dataset_tab, "tab-dataset"),
    ("Frame review", frames_tab, "tab-frames"),
    ("Jobs / Monitor", jobs_tab, "tab-jobs"),
]

ROUTERS = [jobs_api.router, monitor_api.router, photo_dataset_api.router, frames_api.router, video_dataset_api.router]


def build_ui() -> gr.Blocks:
    with gr.Blocks(title=TITLE) as blocks:
        gr.Markdown(f"# {TITLE}\nLoRA datasets, frame review and GPU jobs — every job runs in the worker queue; "
                    "you can close the browser and come back.")
        with gr.Tabs():
            for label, module, elem_id in TABS:
                with gr.Tab(label, elem_id=elem_id):
                    module.build()
    return blocks


def create_app() -> FastAPI:
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="Studio API", version="1.0",
                  description="Every tool of the studio without the browser. Jobs run in the worker queue.",
                  docs_url="/docs", openapi_url="/api/v1/openapi.json")
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix="/api/v1")
    blocks = build_ui()
    login = auth.check_login if settings.users else None
    css = CSS + "".join(getattr(module, "CSS", "") for _, module, _ in TABS)
    head = "".join(getattr(module, "HEAD", "") for _, module, _ in TABS)
    return gr.mount_gradio_app(app, blocks, path="/", auth=login, auth_message="Studio login",
                               allowed_paths=[str(settings.jobs_dir), str(settings.datasets_dir), str(settings.media_dir)], css=css, head=head,
                               server_name=settings.server_name, server_port=settings.server_port,
                               footer_links=["api", "gradio"])
