"""Shared synthetic recordings for the frame review tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.frames.synthetic import make_recording


@pytest.fixture(scope="session")
def recordings(tmp_path_factory):
    """Phone-like 360×800 H.264 recordings with known first/last frames: 30 fps, 60 fps and VFR."""
    d = tmp_path_factory.mktemp("recordings")
    return {
        "30fps": make_recording(d / "cfr30.mp4", fps=30, seed=1),
        "60fps": make_recording(d / "cfr60.mp4", fps=60, seed=2),
        "vfr": make_recording(d / "vfr.mp4", fps=60, vfr=True, seed=3),
    }


@pytest.fixture(scope="session")
def analyses(recordings, tmp_path_factory):
    from pipelines.frames import analyze

    d = tmp_path_factory.mktemp("analyses")
    return {k: analyze(t.path, d / k) for k, t in recordings.items()}


@pytest.fixture(scope="session")
def bad_files(recordings, tmp_path_factory):
    """A truncated mp4, random bytes named .mp4, and a text file named .mp4."""
    import os

    d = tmp_path_factory.mktemp("bad")
    good = Path(recordings["30fps"].path).read_bytes()
    (d / "truncated.mp4").write_bytes(good[: len(good) // 2])
    (d / "random.mp4").write_bytes(os.urandom(50_000))
    (d / "notes.mp4").write_text("this is not a video\n" * 100)
    return [d / "truncated.mp4", d / "random.mp4", d / "notes.mp4"]
