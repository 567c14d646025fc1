"""`pip install .` works: the wheel holds the three layers' packages, their static
files, the records' migrations, and the dependencies of requirements.txt."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("studio", "jobs", "pipelines")


@pytest.mark.slow
def test_the_wheel_holds_the_packages_static_files_and_migrations(tmp_path):
    src = tmp_path / "src"  # a copy: building leaves build/ and *.egg-info beside the sources
    src.mkdir()
    for name in ("pyproject.toml", "requirements.txt"):
        shutil.copy(ROOT / name, src / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    # the records' Alembic files (an env.py, a template, revisions in a folder without
    # __init__.py, an .ini) travel as package data
    migrations = src / "jobs" / "records" / "migrations"
    extra = {
        migrations / "env.py": "",
        migrations / "script.py.mako": "",
        migrations / "versions" / "0001_packaging_probe.py": "",
        src / "jobs" / "records" / "packaging-probe.ini": "",
    }
    for path, text in extra.items():
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    out = tmp_path / "wheel"
    command = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*command, "-q", "-w", str(out)],
        cwd=src,
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("studio-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()

    sources = {
        p.relative_to(src).as_posix()
        for package in PACKAGES
        for p in (src / package).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert sources - names == set()  # every module, static file and migration
    assert not {n for n in names if n.startswith(("tests/", "benchmarks/"))}
    assert "studio/tabs/frames/static/review.js" in names
    assert "jobs/records/migrations/versions/0001_packaging_probe.py" in names
    requirements = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    required = {
        line.split(";")[0] for line in metadata.splitlines() if line.startswith("Requires-Dist:")
    }
    assert len(required) == len(requirements) and "Requires-Dist: gradio<7,>=6.0" in required
