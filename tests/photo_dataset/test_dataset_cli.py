"""The local CLI (privacy mode) as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.photo_dataset.dataset_files import photo

ROOT = Path(__file__).resolve().parents[2]


def test_cli_builds_pairs_and_manifest(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("astronaut", "coffee"):
        photo(name).save(folder / f"{name}.jpg")
    photo("coffee").save(folder / "coffee_copy.png")
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.photo_dataset",
            "build",
            str(folder),
            "--output",
            str(out),
            "--caption",
            "none",
            "--trigger",
            "ohwx",
            "--crop",
            "256",
            "--no-faces",
            "--min-side",
            "256",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert run.returncode == 0, run.stderr
    assert "2 kept, 1 dropped" in run.stdout
    assert sorted(p.name for p in out.glob("000*")) == [
        "0001.jpg",
        "0001.txt",
        "0002.jpg",
        "0002.txt",
    ]
    assert (out / "0001.txt").read_text().strip() == "ohwx"
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["files"]) == 3


def test_cli_reports_bad_options(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.photo_dataset",
            "build",
            str(tmp_path),
            "--output",
            str(tmp_path / "o"),
            "--caption",
            "api",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "base URL" in run.stderr
