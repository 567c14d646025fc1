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


# -- records: one seam (STYLE.md "Records, one seam") --------------------------

DATABASE_MODULES = {
    "sqlite3",
    "sqlite_utils",
    "sqlalchemy",
    "psycopg",
    "psycopg2",
    "asyncpg",
    "pg8000",
}
RECORDS = ROOT / "jobs" / "records"
# The code of the studio (tests may open studio.db themselves to check it).
STUDIO_CODE = ("jobs", "studio", "pipelines", "benchmarks", "app.py")
SQL = re.compile(
    r"\b(select\s+(\*|distinct\b|count\s*\(|max\s*\(|min\s*\(|[\w.]+(\s*,\s*[\w.]+)*)\s+from\s+\w"
    r"|insert\s+(or\s+\w+\s+)?into\s+\w|update\s+\w+\s+set\s+\w|delete\s+from\s+\w"
    r"|(create|drop|alter)\s+(unique\s+)?(table|index)\b|pragma\s+\w|begin\s+(immediate|exclusive))",
    re.IGNORECASE,
)
# Modules allowed to reach a database outside the records package (every tool's
# records are on it now). A stale line fails too.
NOT_YET_ON_RECORDS = {
    # Not the studio's records: the bare-Huey baseline keeps its own marks file.
    "benchmarks/jobs.py": "sqlite3 for the bare SqliteHuey baseline's marks",
}


def _studio_code() -> list[Path]:
    paths: list[Path] = []
    for name in STUDIO_CODE:
        path = ROOT / name
        paths += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [p for p in paths if RECORDS not in p.parents]


def sql_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.value.strip()[:60]
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value)
    ]


def database_offences(path: Path) -> list[str]:
    found = [f"imports {m}" for m in sorted(imported_modules(path) & DATABASE_MODULES)]
    return found + [f"SQL string {s!r}" for s in sql_strings(path)]


def test_only_the_records_package_talks_to_a_database():
    """No module outside jobs/records imports a database library or driver
    (SQLAlchemy included: queries use ``jobs.records.sql``) or writes SQL as a
    string, except the allow-listed modules not ported yet."""
    offences, stale = [], []
    for path in _studio_code():
        name = path.relative_to(ROOT).as_posix()
        found = database_offences(path)
        if found and name not in NOT_YET_ON_RECORDS:
            offences.append(f"{name}: {'; '.join(found)}")
        elif not found and name in NOT_YET_ON_RECORDS:
            stale.append(name)
    assert not offences, "Use jobs.records (tables, jobs.records.sql):\n" + "\n".join(offences)
    assert not stale, f"Ported: remove from NOT_YET_ON_RECORDS: {stale}"


def test_the_database_check_sees_sql_strings_and_driver_imports(tmp_path):
    """The check above catches what it is there for (and not prose)."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sqlite3\n"
        "from sqlalchemy import select\n"
        "Q = 'select id, kind from jobs where id = ?'\n"
        "W = \"update jobs set status='x' where id=?\"\n"
        "I = 'insert or ignore into fr_marks values (?)'\n"
    )
    found = database_offences(bad)
    assert found[:2] == ["imports sqlalchemy", "imports sqlite3"] and len(found) == 5, found
    prose = tmp_path / "prose.py"
    prose.write_text(
        "'''Select a file from the list, then update the name.'''\n"
        "M = 'Delete the dataset from disk? Update the settings, then select them.'\n"
    )
    assert database_offences(prose) == []


POSTGRES_DRIVERS = {"psycopg", "psycopg2", "psycopg_pool", "asyncpg", "pg8000"}


def driver_offences(path: Path) -> list[str]:
    """A PostgreSQL driver imported, or named in a SQLAlchemy URL (``+psycopg``)."""
    found = [f"imports {m}" for m in sorted(imported_modules(path) & POSTGRES_DRIVERS)]
    return found + (["names +psycopg"] if "+psycopg" in path.read_text() else [])


def test_only_the_records_package_uses_the_postgres_driver(tmp_path):
    """psycopg is the records package's business (``STUDIO_DATABASE_URL=postgresql://``
    is mapped to it there): no module of the studio outside jobs/records imports it
    or names it, the modules allowed SQLite above included."""
    offences = [
        f"{path.relative_to(ROOT).as_posix()}: {'; '.join(found)}"
        for path in _studio_code()
        if (found := driver_offences(path))
    ]
    assert not offences, "PostgreSQL goes through jobs.records:\n" + "\n".join(offences)
    assert driver_offences(RECORDS / "engine.py")  # the check sees the one place that does
    bad = tmp_path / "bad.py"
    bad.write_text("import psycopg\nURL = 'postgresql+psycopg://db/studio'\n")
    assert driver_offences(bad) == ["imports psycopg", "names +psycopg"]


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
    # the core has no prefix: the studio's own /api/v1/jobs, /health, ..., /models
    assert sorted(tool.name for tool in registry.tools() if not tool.prefix) == ["jobs", "models"]
