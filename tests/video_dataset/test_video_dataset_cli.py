"""The command line, as a user runs it and as the photo CLI delegates to it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from pipelines.video_dataset.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def test_cli_builds_a_dataset(tmp_path, video_folder):
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.video_dataset",
            "build",
            str(video_folder),
            "--output",
            str(out),
            "--fps",
            "16",
            "--prefix",
            "X",
            "--caption",
            "none",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "4 clips" in run.stdout and "2 skipped" in run.stdout
    assert "corrupt.mp4" in run.stderr  # reported on the log as it happens
    assert sorted(p.name for p in out.glob("*.txt")) == ["1.txt", "2.txt", "3.txt", "4.txt"]
    assert (out / "1.txt").read_text().strip() == "X"


def test_photo_cli_delegation_and_errors(tmp_path, media, capsys):
    # `python -m pipelines.photo_dataset build INPUT --videos ...` passes its argv on, with or without "build"
    assert (
        main(
            [
                str(media["fps25"]),
                "--videos",
                "--output",
                str(tmp_path / "a"),
                "--preset",
                "ltx",
                "--max-side",
                "128",
                "--zip",
            ]
        )
        == 0
    )
    assert (tmp_path / "a.zip").exists()
    assert "frame_buckets = [1, 25, 49, 97, 121]" in (tmp_path / "a" / "dataset.toml").read_text()
    # an existing dataset is an error with a message, not a traceback
    assert main(["build", str(media["fps25"]), "--output", str(tmp_path / "a")]) == 2
    assert "already holds a dataset" in capsys.readouterr().err
    # only bad files: exit code 1
    assert main([str(media["corrupt"]), "--output", str(tmp_path / "b")]) == 1


def test_zip_input(tmp_path, media, capsys):
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(media["fps30"], "clips/fps30.mp4")
        zf.write(media["corrupt"], "clips/corrupt.mp4")
        zf.writestr("readme.txt", "hello")
        zf.writestr("../escape.mp4", "x")
    assert main([str(archive), "--output", str(tmp_path / "z")]) == 0
    assert (tmp_path / "z" / "1.mp4").exists() and not (tmp_path / "z" / "2.mp4").exists()
    assert not list(tmp_path.rglob("escape.mp4"))  # the ../ entry was refused, not written
    report = capsys.readouterr()
    assert "escape.mp4" in report.out + report.err and "readme.txt" in report.out + report.err
