"""The shared prober (pipelines/video_probe.py): streams, rates, counts, rotation, one VFR rule."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.errors import BadInput
from pipelines.video_probe import VideoProbeError, frame_rate_of, probe


def test_constant_rate_video(media):
    info = probe(media["fps30"])
    assert (info.width, info.height, info.display_size, info.rotation) == (320, 240, (320, 240), 0)
    assert (
        round(info.fps) == 30
        and info.nominal_fps == pytest.approx(30)
        and info.frames == info.frame_count == 90
    )
    assert info.duration == pytest.approx(
        3.0, abs=0.05
    ) and info.declared_duration == pytest.approx(3.0, abs=0.05)
    assert not info.variable_frame_rate and not info.has_audio and info.warnings == []
    assert "mp4" in info.container and info.codec == "h264"
    assert info.to_dict()["path"] == str(media["fps30"])
    assert probe(media["audio"]).has_audio


def test_variable_frame_rate_by_the_timestamps(media):
    info = probe(media["vfr"])
    assert info.variable_frame_rate and "variable frame rate" in info.warnings[0]
    assert info.fps == pytest.approx(25, rel=0.05)


def test_a_quick_look_reads_the_first_packets_and_the_header(media):
    info = probe(media["fps30"], max_packets=10, decode=False)
    assert info.frames == 90 and info.duration == pytest.approx(3.0, abs=0.05)


def test_the_one_rule():
    steady = np.arange(100) / 30
    assert frame_rate_of(steady)[:2] == (pytest.approx(30), False)
    jitter = np.cumsum(np.where(np.arange(100) % 2, 0.02, 0.06))
    assert frame_rate_of(jitter)[1] is True
    assert frame_rate_of(np.array([0.0]), 25) == (25, False, 0.04)


@pytest.mark.parametrize("key", ["corrupt", "notes"])
def test_not_a_video_is_a_422_naming_the_file(media, key):
    with pytest.raises(VideoProbeError) as err:
        probe(media[key])
    assert isinstance(err.value, BadInput) and media[key].name in str(err.value)
