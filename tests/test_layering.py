"""The layers of STYLE.md hold: studio/ never imports torch or heavy model
libraries, jobs/ never imports gradio or FastAPI, pipelines/ never imports gradio,
huey, jobs or studio; importing the web app does not load torch; and the core
names no tool: the server and app.py find every tool through the registry."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "studio": {"torch", "transformers", "diffusers", "mediapipe"},
    "jobs": {"gradio", "fastapi", "starlette"},
    "pipelines": {"gradio", "huey", "jobs", "studio"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_layer_imports_what_it_must_not():
    offences = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            bad = imported_modules(path) & forbidden
            if bad:
                offences.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offences, "\n".join(offences)


def test_building_the_web_app_does_not_load_torch(tmp_path):
    code = (
        "import os, sys; os.environ['STUDIO_HOME'] = sys.argv[1]\n"
        "from studio.server import create_app; create_app()\n"
        "heavy = [m for m in ('torch', 'transformers', 'diffusers', 'mediapipe') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"the web process loaded {out.stdout.strip()}"


CORE_FILES = ("studio/server.py", "app.py")
TOOL_PACKAGES = ("studio.api", "studio.tabs", "jobs.tools")


def _tool_imports(tree: ast.AST, tools: set[str]) -> list[str]:
    """Imports of a tool's module in any layer: studio.api.<tool>, studio.tabs.<tool>,
    jobs.tools.<tool> (also as ``from studio.api import <tool>``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            for package in TOOL_PACKAGES:
                if module.startswith(package + ".") and module.split(".")[2] in tools:
                    found.append(module)
    return found


def test_the_server_and_app_name_no_tool():
    from jobs import registry

    tools = [tool for tool in registry.tools() if not tool.core]
    names = {tool.name for tool in tools}
    words = names | {tool.tab.label for tool in tools if tool.tab}
    words |= {tool.tab.elem_id for tool in tools if tool.tab} | {tool.prefix for tool in tools}
    offences = []
    for name in CORE_FILES:
        tree = ast.parse((ROOT / name).read_text(), filename=name)
        offences += [f"{name} imports {module}" for module in _tool_imports(tree, names)]
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named = {
                    w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", node.value)
                }
                offences += (
                    [f"{name} names {sorted(named)} in {node.value[:60]!r}"] if named else []
                )
    assert not offences, "\n".join(offences)


def test_every_registered_tool_has_a_router_under_its_own_prefix_and_a_tab():
    from fastapi import APIRouter

    from jobs import registry

    for tool in registry.tools():
        router = registry.resolve(tool.router)
        assert isinstance(router, APIRouter) and router.routes, tool.name
        assert tool.prefix == ("" if tool.core else f"/{tool.name}"), tool.name
        assert tool.tab is not None and callable(registry.resolve(tool.tab.build)), tool.name
    # the core is the one tool without a prefix: the studio's own /api/v1/jobs, /health, ...
    assert [tool.name for tool in registry.tools() if not tool.prefix] == ["jobs"]
