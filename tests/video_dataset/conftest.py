"""Small synthetic videos for the video dataset tests, made once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if (
    str(ROOT) not in sys.path
):  # `tests.caption_fakes` and `pipelines` importable under plain `pytest`
    sys.path.insert(0, str(ROOT))


from video_media import make_testsrc, make_two_scenes, make_vfr  # noqa: E402


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    """name -> file: 30/25/60 fps clips, VFR, with audio, corrupt, truncated, non-video."""
    d = tmp_path_factory.mktemp("video_media")
    files = {
        "fps30": make_testsrc(d / "fps30.mp4", 30, 3.0),
        "fps25": make_testsrc(d / "fps25.mov", 25, 2.0, size="240x320"),
        "fps60": make_testsrc(d / "fps60.mkv", 60, 2.0),
        "audio": make_testsrc(d / "with_audio.mp4", 30, 2.0, audio=True),
        "vfr": make_vfr(d / "phone_vfr.mp4"),
        "scenes": make_two_scenes(d / "two_scenes.mp4"),
    }
    corrupt = d / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    files["corrupt"] = corrupt
    data = files["fps30"].read_bytes()
    truncated = d / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])  # moov atom at the end is lost
    files["truncated"] = truncated
    notes = d / "notes.txt"
    notes.write_text("not a video")
    files["notes"] = notes
    return files


@pytest.fixture
def video_folder(tmp_path, media) -> Path:
    """A folder as a user uploads it: good videos, one corrupt, one text file."""
    import shutil

    folder = tmp_path / "upload"
    folder.mkdir()
    for key in ("fps30", "fps25", "audio", "vfr", "corrupt", "notes"):
        shutil.copy(media[key], folder / media[key].name)
    return folder
