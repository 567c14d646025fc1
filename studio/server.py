"""The studio: FastAPI app with the REST API under /api/v1 and the Gradio UI at /."""

from __future__ import annotations

import gradio as gr
from fastapi import FastAPI

from jobs.settings import get_settings
from studio import auth, errors, uploads
from studio.api import dance as dance_api
from studio.api import frames as frames_api
from studio.api import jobs as jobs_api
from studio.api import monitor as monitor_api
from studio.api import photo_dataset as photo_dataset_api
from studio.api import video_dataset as video_dataset_api
from studio.api import video_edit as video_edit_api
from studio.job_panel import visible_tabs
from studio.tabs import dance as dance_tab
from studio.tabs import dataset_builder as dataset_tab
from studio.tabs import frames as frames_tab
from studio.tabs import jobs as jobs_tab
from studio.tabs import video_edit as video_edit_tab

TITLE = "Studio"
CSS = """
.job-status table { width: 100%; font-size: 0.9em; }
.job-status th { text-align: left; width: 7em; color: var(--body-text-color-subdued); }
.status-succeeded { color: #15803d; } .status-failed { color: #b91c1c; } .status-cancelled { color: #92400e; }
.job-error { color: #b91c1c; white-space: pre-wrap; }
.job-files ul { margin: 0.2em 0 0 1.2em; } .job-file-size { color: var(--body-text-color-subdued); font-size: 0.85em; }
.worker-gave-up { color: #b91c1c; }
"""

# (tab label, module with build(), elem id). Each tool adds its tab here. A tab
# module may also define CSS and HEAD (a <script> for keyboard shortcuts, say).
TABS = [
    ("Dataset builder", dataset_tab, "tab-dataset"),
    ("Frame review", frames_tab, "tab-frames"),
    ("Video edit", video_edit_tab, "tab-video-edit"),
    ("Dance generation", dance_tab, "tab-dance"),
    ("Jobs / Monitor", jobs_tab, "tab-jobs"),
]

ROUTERS = [
    jobs_api.router,
    monitor_api.router,
    photo_dataset_api.router,
    frames_api.router,
    video_dataset_api.router,
    dance_api.router,
    video_edit_api.router,
]


def build_ui() -> gr.Blocks:
    # Files a tab showed are copied into Gradio's cache under a folder named by
    # their content hash; they are deleted after a day (checked hourly).
    with gr.Blocks(title=TITLE, delete_cache=(3600, 24 * 3600)) as blocks:
        gr.Markdown(
            f"# {TITLE}\nLoRA datasets, frame review and GPU jobs — every job runs in the worker queue; "
            "you can close the browser and come back."
        )
        visible_tabs.reset()
        tabs = []
        with gr.Tabs():
            for label, module, elem_id in TABS:
                with gr.Tab(label, elem_id=elem_id) as tab, visible_tabs.tab(elem_id):
                    module.build()
                tabs.append((elem_id, tab))
        visible_tabs.wire(tabs)  # timers of a tab run only while it is shown
    return blocks


def create_app() -> FastAPI:
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    app = FastAPI(
        title="Studio API",
        version="1.0",
        description="Every tool of the studio without the browser. Jobs run in the worker queue.",
        docs_url="/docs",
        openapi_url="/api/v1/openapi.json",
    )
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix="/api/v1")
    blocks = build_ui()
    # API tokens without UI logins: app.py refuses to start (auth.start_refusal);
    # an app made here all the same asks for a UI login that nobody has.
    login = auth.check_login if settings.users or settings.tokens else None
    css = CSS + "".join(getattr(module, "CSS", "") for _, module, _ in TABS)
    head = "".join(getattr(module, "HEAD", "") for _, module, _ in TABS)
    # Gradio copies the files a tab's event returns (galleries, videos) from
    # STUDIO_HOME into its cache, which needs STUDIO_HOME in allowed_paths; the
    # same list would let /gradio_api/file=<path> serve any user's files, so
    # GradioFileGuard refuses every STUDIO_HOME path on that route. What a tab
    # shows was read by the tab's own owner-checked event; job outputs are links
    # to /api/v1/jobs/{id}/files/{name}.
    app = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        auth=login,
        auth_message="Studio login",
        allowed_paths=[str(settings.home)],
        css=css,
        head=head,
        max_file_size=f"{settings.max_upload_mb}mb",
        server_name=settings.server_name,
        server_port=settings.server_port,
        footer_links=["api", "gradio"],
    )
    app.state.gradio_app = _gradio_app(app)
    app.add_middleware(auth.GradioFileGuard)
    app.add_middleware(auth.VisitorCookie)  # public demo: a visitor per browser
    app.add_middleware(
        uploads.RequestLimits
    )  # outermost: sizes are checked before anything reads a body
    return app


def _gradio_app(app: FastAPI) -> object | None:
    """The mounted Gradio app (its login tokens let REST downloads use the UI login)."""
    from gradio.routes import App
    from starlette.routing import Mount

    for route in app.routes:
        if isinstance(route, Mount) and isinstance(route.app, App):
            return route.app
    return None
