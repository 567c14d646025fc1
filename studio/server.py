"""The studio: FastAPI app with the REST API under /api/v1 and the Gradio UI at /.

It names no tool: the routers and the tabs come from the tool registry
(:mod:`jobs.registry`), which finds every tool in ``jobs/tools/``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import gradio as gr
from fastapi import FastAPI

from jobs import registry
from jobs.settings import get_settings
from studio import auth, errors, uploads
from studio.job_panel import visible_tabs
from studio.page_load import page_load

TITLE = "Studio"
CSS = """
.job-status table { width: 100%; font-size: 0.9em; }
.job-status th { text-align: left; width: 7em; color: var(--body-text-color-subdued); }
.status-succeeded { color: #15803d; } .status-failed { color: #b91c1c; } .status-cancelled { color: #92400e; }
.job-error { color: #b91c1c; white-space: pre-wrap; }
.job-files ul { margin: 0.2em 0 0 1.2em; } .job-file-size { color: var(--body-text-color-subdued); font-size: 0.85em; }
.worker-gave-up { color: #b91c1c; }
"""


def __getattr__(name: str) -> Any:
    if name == "TABS":  # (label, build, elem id) of the top tabs, as the registry has them now
        return [
            (label, _top_builder(tabs), elem_id) for label, elem_id, tabs in registry.top_tabs()
        ]
    raise AttributeError(name)


def _build_tab(tab: registry.Tab, shown: gr.Tab) -> None:
    build = registry.resolve(tab.build)
    if inspect.signature(build).parameters:
        build(shown)  # the tab wants its gr.Tab (to act when it is opened)
    else:
        build()


def _top_builder(tabs: list[registry.Tab]) -> Callable[[gr.Tab], None]:
    """Builds one top tab: a tool's own tab, or a group's tools as sub-tabs."""

    def build(shown: gr.Tab) -> None:
        if len(tabs) == 1 and tabs[0].group is None:
            _build_tab(tabs[0], shown)
            return
        subs = []
        with gr.Tabs():
            for tab in tabs:
                with gr.Tab(tab.label, elem_id=tab.elem_id) as sub, visible_tabs.tab(tab.elem_id):
                    _build_tab(tab, sub)
                subs.append((tab.elem_id, sub))
        # the timers of a sub-tab (its job panel, a review's refresh) run only while it is shown
        visible_tabs.wire(subs)

    return build


def _page_parts(name: str) -> str:
    """The ``CSS`` (or ``HEAD``) that the tabs' modules define, in tab order."""
    tabs = [tab for _, _, group in registry.top_tabs() for tab in group]
    modules = dict.fromkeys(tab.build.partition(":")[0] for tab in tabs)
    return "".join(getattr(importlib.import_module(module), name, "") for module in modules)


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
        with page_load.collect(), gr.Tabs():  # what the tabs read at page load: one event
            for label, elem_id, group in registry.top_tabs():
                with gr.Tab(label, elem_id=elem_id) as tab, visible_tabs.tab(elem_id):
                    _top_builder(group)(tab)
                tabs.append((elem_id, tab))
        visible_tabs.wire(tabs)  # timers of a tab run only while it is shown
        quiet_progress(blocks)
    return blocks


def quiet_progress(blocks: gr.Blocks) -> None:
    """Events that show no progress (``show_progress="hidden"``: the panels' ticks, the
    page-load event, lists refreshed on a timer) get no progress targets either. For every
    event, Gradio's page sets the loading status again on each component that any event
    has ever targeted; those targets are the outputs unless ``show_progress_on`` names
    others, so a page following a job re-set the status of every output of every event
    it had seen at each tick (Chromium 5.0 -> 3.5 CPU-s per 10 s of a followed job)."""
    for fn in blocks.fns.values():
        if fn.show_progress == "hidden" and fn.show_progress_on is None:
            fn.show_progress_on = []


def mount_routers(app: FastAPI) -> None:
    """Every tool's router at /api/v1/<tool>, then its aliases (the seeds' paths),
    then the tools' root routers (seed paths outside /api/v1), the aliases and root
    routers hidden from the OpenAPI document so each operation is listed once."""
    for tool, prefix, listed in registry.mounts():
        router = registry.resolve(tool.router)
        app.include_router(router, prefix=registry.API_ROOT + prefix, include_in_schema=listed)
    for tool in registry.tools():  # a seed's own paths outside /api/v1
        if tool.root_router:
            app.include_router(registry.resolve(tool.root_router), include_in_schema=False)


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
    mount_routers(app)
    blocks = build_ui()
    # API tokens without UI logins: app.py refuses to start (auth.start_refusal);
    # an app made here all the same asks for a UI login that nobody has.
    login = auth.check_login if settings.users or settings.tokens else None
    css = CSS + _page_parts("CSS")
    head = _page_parts("HEAD")
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
