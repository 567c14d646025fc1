"""Media for the dance tests: the astronaut moving over a background (real
MediaPipe poses), a reference photo, clips with frames without a person."""

from __future__ import annotations

import pytest

from pipelines.dance.synthetic import dancing_clip, write_reference


@pytest.fixture(scope="session")
def dance_media(tmp_path_factory):
    d = tmp_path_factory.mktemp("dance-media")
    return {
        "ref": write_reference(d / "astronaut.png"),
        "clip": dancing_clip(d / "dance.mp4", frames=17),
        "gaps": dancing_clip(d / "gaps.mp4", frames=13, empty={4, 5, 9}),
        "empty": dancing_clip(d / "empty.mp4", frames=9, empty=set(range(9))),
        "short": dancing_clip(d / "short.mp4", frames=5),
        "dir": d,
    }
