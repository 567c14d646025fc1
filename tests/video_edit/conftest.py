"""Fixtures of the video edit tests: tiny random-weight models saved with
``save_pretrained`` (built once per session) and small clips of the astronaut
moving over a background."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from video_edit_media import astronaut_clip, astronaut_frames, background, empty_clip, write_clip  # noqa: E402
from video_edit_tiny_models import build_clipseg, build_ip2p, build_sam3  # noqa: E402


@pytest.fixture(scope="session")
def models_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("video_edit_models")


@pytest.fixture(scope="session")
def tiny_ip2p(models_root) -> Path:
    return build_ip2p(models_root / "instruct-pix2pix")


@pytest.fixture(scope="session")
def tiny_sam3(models_root) -> Path:
    return build_sam3(models_root / "sam3")


@pytest.fixture(scope="session")
def tiny_clipseg(models_root) -> Path:
    return build_clipseg(models_root / "clipseg")


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """person: 10 frames 192x128 @ 12 fps with audio; empty: background only;
    half: the person in frames 0-4 only; not_video: random bytes."""
    d = tmp_path_factory.mktemp("video_edit_clips")
    frames = astronaut_frames(10)
    half = frames[:5] + [background(192, 128)] * 5
    not_video = d / "notes.mp4"
    not_video.write_bytes(b"this is not a video" * 100)
    return {
        "person": astronaut_clip(d / "astronaut.mp4"),
        "empty": empty_clip(d / "empty.mp4"),
        "half": write_clip(d / "half.mp4", half),
        "not_video": not_video,
    }


@pytest.fixture(autouse=True)
def no_model_env(monkeypatch):
    """The user's model variables never leak into a test."""
    for name in (
        "INSTRUCT_PIX2PIX_MODEL_PATH",
        "SAM3_MODEL_PATH",
        "CLIPSEG_MODEL_PATH",
        "UR_EDIT_OUTPUT_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
