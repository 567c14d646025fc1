"""The tool registry (issue 20.4): every tool declares itself once, with its name,
options, job kinds, settings, router and prefix, tab and models; the server
mounts and builds what the registry holds, so a new tool's module is found and
shown without editing a core file."""

from __future__ import annotations

import dataclasses
import sys
import textwrap

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

import jobs.tools
from jobs import kinds, registry
from jobs.registry import Model, Tab, TabGroup, Tool, ToolError
from jobs.settings import Settings

TOOLS = ["photo_dataset", "video_dataset", "frames", "video_edit", "dance", "monitor"]


def _setting_names() -> set[str]:
    properties = {name for name, value in vars(Settings).items() if isinstance(value, property)}
    return set(Settings.model_fields) | properties


def test_every_tool_is_registered_once_with_all_its_parts():
    tools = {tool.name: tool for tool in registry.tools()}
    assert sorted(tools) == sorted([*TOOLS, "jobs", "models"])
    assert sorted(name for name, tool in tools.items() if tool.core) == ["jobs", "models"]
    settings = _setting_names()
    for name in TOOLS:
        tool = tools[name]
        assert tool.prefix == f"/{name}" and not tool.core
        options = registry.resolve(tool.options)
        assert dataclasses.is_dataclass(options) or issubclass(options, BaseModel), name
        assert tool.kinds and all(kind.startswith(f"{name}.") for kind in tool.kinds), name
        assert set(tool.settings) <= settings, set(tool.settings) - settings
        assert all(isinstance(model, Model) for model in tool.models), name
        router = registry.resolve(tool.router)
        assert isinstance(router, APIRouter) and router.routes, name
        assert tool.tab is not None and callable(registry.resolve(tool.tab.build)), name
    # every job kind belongs to exactly one tool
    owners = [tool.name for tool in tools.values() for _ in tool.kinds]
    declared = [kind for tool in tools.values() for kind in tool.kinds]
    assert len(declared) == len(set(declared)), owners
    assert sorted(declared) == sorted(kinds.KINDS)


def test_a_name_is_declared_once():
    frames = next(tool for tool in registry.tools() if tool.name == "frames")
    assert registry.register(frames) is frames  # importing the module again is harmless
    with pytest.raises(ToolError, match="registered twice"):
        registry.register(dataclasses.replace(frames, title="Frames again"))
    with pytest.raises(ToolError, match="prefix must be '/clips'"):
        registry.register(dataclasses.replace(frames, name="clips", prefix="/video"))
    assert registry.TOOLS["frames"] is frames and "clips" not in registry.TOOLS


def test_the_tabs_users_know_keep_their_order_labels_and_ids():
    top = registry.top_tabs()
    assert [(label, elem_id) for label, elem_id, _ in top] == [
        ("Dataset builder", "tab-dataset"),
        ("Frame review", "tab-frames"),
        ("Video edit", "tab-video-edit"),
        ("Dance generation", "tab-dance"),
        ("Jobs / Monitor", "tab-jobs"),
    ]
    subs = {label: [(tab.label, tab.elem_id) for tab in tabs] for label, _, tabs in top}
    assert subs["Dataset builder"] == [
        ("Photos", "tab-dataset-photos"),
        ("Videos", "tab-dataset-videos"),
    ]
    assert subs["Jobs / Monitor"] == [
        ("Jobs", "tab-jobs-list"),
        ("Scenario runs", "tab-scenarios"),
        ("Models", "tab-models"),
    ]


@pytest.fixture
def routed(studio_home):
    """Every router mounted from the registry, as ``studio.server`` mounts them."""
    from studio import errors
    from studio.server import mount_routers

    app = FastAPI(openapi_url="/api/v1/openapi.json")
    errors.install(app)
    mount_routers(app)
    with TestClient(app) as client:
        yield client


def test_each_tool_is_listed_under_its_own_prefix_and_the_old_paths_answer_too(routed):
    document = routed.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    core = {"/api/v1/", "/api/v1/health", "/api/v1/workers", "/api/v1/kinds", "/api/v1/models"}
    core.add("/api/v1/models/{model_id}/fetch")
    outside = [
        path
        for path in paths
        if path not in core
        and not path.startswith("/api/v1/jobs")
        and not any(path == f"/api/v1/{t}" or path.startswith(f"/api/v1/{t}/") for t in TOOLS)
    ]
    assert outside == []  # the aliases are not listed: each operation once
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for tool in TOOLS:
        assert any(path.startswith(f"/api/v1/{tool}") for path in paths), tool
    for new, old in [
        ("/api/v1/frames/task/list", "/api/v1/task/list"),
        ("/api/v1/frames/video/list", "/api/v1/video/list"),
        ("/api/v1/video_dataset/datasets", "/api/v1/preprocessing/datasets"),
        ("/api/v1/photo_dataset", "/api/v1/datasets"),
        ("/api/v1/video_edit/models", "/api/v1/video/edit/models"),
        ("/api/v1/dance/health", "/api/v1/dance/health"),
    ]:
        answers = routed.get(new), routed.get(old)
        assert [a.status_code for a in answers] == [200, 200], (new, old)
        assert answers[0].json() == answers[1].json()
    assert routed.get("/api/v1/monitor/scenarios").status_code == 403  # scripts off: same answer
    assert routed.get("/api/v1/scenarios").json() == routed.get("/api/v1/monitor/scenarios").json()


GREETER_JOBS = """
from jobs.kinds import job_kind
from jobs.registry import Tab, Tool, register


@job_kind("greeter.hello", title="Say hello")
def hello(ctx):
    return {"hello": ctx.params.get("name", "world")}


register(
    Tool(
        name="greeter",
        title="Greeter",
        kinds=("greeter.hello",),
        options="greeter_web:GreeterOptions",
        router="greeter_web:router",
        prefix="/greeter",
        aliases=("/hello-seed",),
        tab=Tab("Greeter", "tab-greeter", "greeter_web:build", 45),
    )
)
"""

GREETER_WEB = """
import gradio as gr
from fastapi import APIRouter
from pydantic import BaseModel

CSS = ".greeter-note { color: teal; }"


class GreeterOptions(BaseModel):
    name: str = "world"


router = APIRouter(tags=["greeter"])


@router.get("/hello")
def hello() -> dict:
    return {"hello": "world"}


def build() -> None:
    gr.Markdown("Hello from a tool no core file names.", elem_id="greeter-note")
"""


@pytest.fixture
def greeter(tmp_path, monkeypatch):
    """A tool the studio has never heard of: its jobs module in a folder added to
    ``jobs.tools`` (as a new file in jobs/tools/ would be), its router and tab in a
    module on sys.path. Nothing in the repository is edited."""
    tools_dir, web_dir = tmp_path / "tools", tmp_path / "web"
    tools_dir.mkdir()
    web_dir.mkdir()
    (tools_dir / "greeter.py").write_text(textwrap.dedent(GREETER_JOBS))
    (web_dir / "greeter_web.py").write_text(textwrap.dedent(GREETER_WEB))
    registry.tools()  # the real tools first, so only the greeter is new
    monkeypatch.setattr(jobs.tools, "__path__", [*jobs.tools.__path__, str(tools_dir)])
    monkeypatch.syspath_prepend(str(web_dir))
    monkeypatch.setattr(registry, "TOOLS", dict(registry.TOOLS))
    monkeypatch.setattr(kinds, "KINDS", dict(kinds.KINDS))
    yield
    for module in ("jobs.tools.greeter", "greeter_web"):
        sys.modules.pop(module, None)


def test_a_new_tool_module_shows_up_as_a_router_a_tab_and_a_kind(studio_home, greeter):
    from studio.server import build_ui, create_app

    assert "greeter" in [tool.name for tool in registry.tools()]
    assert kinds.get_kind("greeter.hello").title == "Say hello"

    with TestClient(create_app()) as client:
        assert client.get("/api/v1/greeter/hello").json() == {"hello": "world"}
        assert client.get("/api/v1/hello-seed/hello").json() == {"hello": "world"}
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        assert "/api/v1/greeter/hello" in paths and "/api/v1/hello-seed/hello" not in paths
        page = client.get("/").text
        assert ".greeter-note { color: teal; }" in page  # the tab module's CSS is on the page

    labels = [label for label, _, _ in registry.top_tabs()]
    assert labels.index("Greeter") == labels.index("Dance generation") + 1  # order 45
    config = build_ui().config
    blocks = {c.get("props", {}).get("elem_id"): c for c in config["components"]}
    assert blocks["tab-greeter"]["props"]["label"] == "Greeter"
    assert "greeter-note" in blocks


def test_a_group_is_declared_one_way(greeter):
    registry.tools()
    other = Tool(
        name="sketch",
        title="Sketch",
        kinds=(),
        router="greeter_web:router",
        prefix="/sketch",
        tab=Tab("Sketch", "tab-sketch", "greeter_web:build", 12, TabGroup("Dataset builder", "x")),
    )
    with pytest.raises(ToolError, match="declared two ways"):
        registry.register(other)
