"""The layers of STYLE.md hold: studio/ never imports torch or heavy model
libraries, jobs/ never imports gradio, pipelines/ never imports gradio, huey,
jobs or studio; and importing the web app does not load torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "studio": {"torch", "transformers", "diffusers", "mediapipe"},
    "jobs": {"gradio"},
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
