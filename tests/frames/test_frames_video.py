"""Probing, timestamps, VFR, bad files and single-frame extraction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.frames import FrameReader, FrameReviewError, analyze_many, extract_frame, probe
from pipelines.frames.synthetic import Timeline, make_recording


def test_probe_reads_metadata(recordings):
    t = recordings["30fps"]
    info = probe(t.path)
    assert (info.width, info.height, info.rotation) == (360, 800, 0)
    assert info.frame_count == t.frame_count
    assert info.fps == pytest.approx(30, abs=0.01)
    assert info.duration == pytest.approx(t.frame_count / 30, abs=1e-3)
    assert not info.variable_frame_rate and info.warnings == []


def test_vfr_times_come_from_timestamps(recordings, analyses):
    t, a = recordings["vfr"], analyses["vfr"]
    from pipelines.frames import FrameMetrics

    m = FrameMetrics.load(a.metrics_path)
    np.testing.assert_allclose(m.times, t.times, atol=1e-4)
    assert a.detection.last.time == pytest.approx(t.last_time, abs=1e-4)
    # index / recorder fps (60) would be far off: the fixture really is VFR
    assert abs(t.last_index / 60 - t.last_time) > 0.3
    assert a.info.frame_count == t.frame_count and a.duration > t.times[-1]
    assert a.variable_frame_rate
    assert any("variable frame rate" in w for w in a.warnings)


@pytest.mark.parametrize(
    "suffix,codec", [(".mkv", "libx264"), (".mov", "libx264"), (".webm", "libvpx")]
)
def test_other_containers_are_accepted(tmp_path, suffix, codec):
    short = Timeline(tap=0.2, zoom=0.1, splash=0.1, loading=0.1, tail=0.2)
    t = make_recording(
        tmp_path / f"clip{suffix}", width=64, height=128, fps=20, timeline=short, codec=codec
    )
    info = probe(t.path)
    assert info.frame_count == t.frame_count and (info.width, info.height) == (64, 128)


def test_container_is_probed_not_named(recordings, tmp_path):
    renamed = tmp_path / "recording.bin"
    renamed.write_bytes(Path(recordings["30fps"].path).read_bytes())
    assert probe(renamed).frame_count == recordings["30fps"].frame_count


def test_bad_files_raise_clear_errors(bad_files, tmp_path):
    for f in bad_files:
        with pytest.raises(FrameReviewError) as e:
            probe(f)
        assert f.name in str(e.value)
    with pytest.raises(FrameReviewError, match="not found"):
        probe(tmp_path / "missing.mp4")
    img = tmp_path / "picture.mp4"
    from PIL import Image

    Image.new("RGB", (8, 8)).save(img, format="PNG")
    with pytest.raises(FrameReviewError, match=r"not supported|not a readable"):
        probe(img)


def test_batch_reports_errors_and_continues(recordings, bad_files, tmp_path):
    good = recordings["30fps"].path
    items = analyze_many([bad_files[0], good, bad_files[1], bad_files[2]], tmp_path)
    assert [it.ok for it in items] == [False, True, False, False]
    assert all(it.error for it in items if not it.ok)
    assert items[1].analysis.frame_count == recordings["30fps"].frame_count


def test_extract_frame_matches_sequential_decoding(recordings, analyses):
    import av

    t = recordings["60fps"]
    with av.open(t.path) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    from pipelines.frames import FrameMetrics

    pts = FrameMetrics.load(analyses["60fps"].metrics_path).pts
    with FrameReader(t.path, pts) as reader:
        for i in (
            t.last_index,
            0,
            131,
            132,
            133,
            len(frames) - 1,
        ):  # backwards seek, then stepping forward
            img = np.asarray(reader.get(i))
            assert img.shape == frames[i].shape and np.array_equal(img, frames[i])
    small = extract_frame(t.path, t.first_index, max_side=200)
    assert max(small.size) == 200
    with pytest.raises(FrameReviewError, match="out of range"):
        extract_frame(t.path, len(frames))
