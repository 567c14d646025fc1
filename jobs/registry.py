"""The tools of the studio: each declares itself once, here found by the server.

A tool is one name in every layer (``pipelines/<tool>/``, ``jobs/tools/<tool>``,
``studio/api/<tool>``, ``studio/tabs/<tool>``, ``tests/<tool>/``). Its module in
``jobs/tools/`` registers its job kinds (:func:`jobs.kinds.job_kind`) and, once,
the tool itself with :func:`register`: name, title, options schema, job kinds,
the settings it reads, its REST router and prefix, its tab and its models.
:func:`tools` imports every module of ``jobs/tools`` (:func:`jobs.kinds.load_tools`),
so a tool is found by being there: adding one edits no core file.

Why the router, the tab and the options are dotted paths (``"module:name"``),
not objects: ``jobs/`` is the layer below the web (it never imports gradio or
FastAPI), and the worker imports every tool module without loading the web
framework or a pipeline. The declaration lives with the tool's job kinds, the
one place every process reads; :func:`resolve` imports the named object when
it is needed (``studio.server`` mounts routers and builds tabs, the tests check
the options).

The server mounts each router at ``/api/v1`` + ``prefix`` (``/api/v1/<tool>``),
then each of the tool's ``aliases`` (the seeds' and earlier paths) again, hidden
from the OpenAPI document; longer alias prefixes first, so ``/api/v1/video/edit``
reaches video edit before frames' ``/api/v1/video/{video_id}`` could. A tool's
``root_router`` (a seed's paths outside ``/api/v1``) is mounted last, at the root.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

API_ROOT = "/api/v1"


@dataclass(frozen=True)
class TabGroup:
    """A top tab that holds the tabs of several tools as sub-tabs (e.g. "Dataset builder")."""

    label: str
    elem_id: str


@dataclass(frozen=True)
class Tab:
    """Where a tool shows in the UI. ``build`` is ``"module:function"``; the function
    builds the tab's components (it is given the ``gr.Tab`` when it takes an argument).
    ``order`` places it among the top tabs, or among its group's sub-tabs (a group
    sits where its first member would). The builder's module may define ``CSS`` and
    ``HEAD`` (a ``<script>``), added to the page."""

    label: str
    elem_id: str  # the browser tests and scripts find the tab by it
    build: str
    order: int
    group: TabGroup | None = None


@dataclass(frozen=True)
class Model:
    """A model a tool uses, declared with the tool (``GET /api/v1/models`` lists them).

    It is present when the studio's one model rule (:func:`jobs.models.model_ref`) finds
    ``hub_id`` (a folder ``folder`` in the models folder, or the Hugging Face cache), or
    when the variable ``setting`` names a folder that holds ``marker``. An admin may
    fetch a model with a ``hub_id`` into ``STUDIO_MODELS_DIR/<folder>``."""

    key: str  # unique within the tool: "caption", "sam3", ...
    title: str
    role: str  # what the tool does with it, in the user's words
    hub_id: str = ""  # "" when the Hub has no copy (e.g. a code checkout)
    folder: str = ""  # its folder in the models folder (default: the Hub id's last part)
    size: int = 0  # expected bytes on disk (about: the files the fetch downloads)
    setting: str = ""  # the environment variable that names another folder (or Hub id)
    marker: str = "config.json"  # the file that says "this folder is the model"
    patterns: tuple[str, ...] = ()  # the files fetched (allow_patterns); empty: all
    how: str = ""  # how to get it when the studio cannot fetch it (no hub_id)

    @property
    def folder_name(self) -> str:
        return self.folder or self.hub_id.split("/")[-1]


@dataclass(frozen=True)
class Tool:
    name: str  # the one name: photo_dataset, frames, ... (its folders, its kinds' prefix)
    title: str
    kinds: tuple[str, ...]  # its job kinds, each registered in jobs.kinds.KINDS
    router: str  # "studio.api.<tool>:router": routes relative to the tool's prefix
    prefix: str  # "/<tool>": the routes are at /api/v1/<tool>/...; "" only for the core
    tab: Tab | None
    options: str | None = None  # "module:Class": the options a user sends (pydantic or dataclass)
    settings: tuple[str, ...] = ()  # fields of jobs.settings.Settings it reads
    aliases: tuple[str, ...] = ()  # earlier prefixes (the seeds' paths), mounted again, unlisted
    models: tuple[Model, ...] = ()  # the models it can use (jobs.models lists and fetches them)
    core: bool = False  # the studio's own jobs page and API (prefix "")
    # "module:router" whose paths are whole paths outside /api/v1 (a seed's own, e.g. seed
    # 003's /api/video/edit), mounted at the site's root after every router, unlisted.
    root_router: str | None = None


TOOLS: dict[str, Tool] = {}


class ToolError(ValueError):
    """A tool declared wrongly (found when the tools load, before the studio serves)."""


def register(tool: Tool) -> Tool:
    """Declare a tool (once: a second, different declaration of the name is refused)."""
    known = TOOLS.get(tool.name)
    if known is not None and known != tool:
        raise ToolError(f"Tool {tool.name!r} is registered twice.")
    if tool.prefix != ("" if tool.core else f"/{tool.name}"):
        raise ToolError(
            f"Tool {tool.name!r}: its prefix must be '/{tool.name}', not {tool.prefix!r}."
        )
    group = tool.tab.group if tool.tab else None
    for other in TOOLS.values():
        theirs = other.tab.group if other.tab else None
        if group and theirs and group.label == theirs.label and group != theirs:
            raise ToolError(
                f"Tab group {group.label!r} is declared two ways: {group} and {theirs}."
            )
    TOOLS[tool.name] = tool
    return tool


def tools() -> list[Tool]:
    """Every tool, found by importing the modules of ``jobs/tools``."""
    from jobs.kinds import load_tools

    load_tools()
    return list(TOOLS.values())


def resolve(path: str) -> Any:
    """The object named by ``"package.module:name"``."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def mounts() -> list[tuple[Tool, str, bool]]:
    """(tool, prefix under /api/v1, listed in the OpenAPI document), in mounting order:
    every tool at its own prefix, then the aliases, longest prefix first."""
    every = tools()
    own = [(tool, tool.prefix, True) for tool in every]
    aliases = [(tool, alias, False) for tool in every for alias in tool.aliases]
    return own + sorted(aliases, key=lambda mount: -len(mount[1]))


def top_tabs() -> list[tuple[str, str, list[Tab]]]:
    """(label, elem_id, tabs) of each top tab in order: a tool's own tab, or a group
    of several tools' tabs (shown as sub-tabs)."""
    tabs = sorted((tool.tab for tool in tools() if tool.tab), key=lambda tab: tab.order)
    top: dict[str, tuple[str, str, list[Tab]]] = {}
    for tab in tabs:
        label, elem_id = (
            (tab.group.label, tab.group.elem_id) if tab.group else (tab.label, tab.elem_id)
        )
        top.setdefault(elem_id, (label, elem_id, []))[2].append(tab)
    return list(top.values())
