"""First/last frame detection on synthetic screen recordings with known truth."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipelines.frames import FrameMetrics, FrameReviewError, Rect, detect


@pytest.mark.parametrize("kind", ["30fps", "60fps", "vfr"])
def test_first_and_last_within_one_frame_of_truth(kind, recordings, analyses):
    truth, det = recordings[kind], analyses[kind].detection
    assert abs(det.first.index - truth.first_index) <= 1
    assert abs(det.last.index - truth.last_index) <= 1
    assert det.first_confidence > 0.5 and det.last_confidence > 0.5
    # latency in ms from timestamps, within one frame of the truth
    true_ms = (truth.last_time - truth.first_time) * 1000
    assert abs(det.duration_ms - true_ms) <= 2 * 1000 / 60 + 1e-6


def test_candidates_are_ranked_with_thumbnails(recordings, analyses):
    det = analyses["30fps"].detection
    for chosen, cands in ((det.first, det.first_candidates), (det.last, det.last_candidates)):
        assert 1 <= len(cands) <= 5
        assert cands[0].index == chosen.index
        assert len({c.index for c in cands}) == len(cands)
        for c in cands:
            assert 0 <= c.score <= 1 and c.reason
            from PIL import Image

            with Image.open(c.thumbnail) as im:
                assert im.format == "JPEG" and max(im.size) <= 480


def test_analysis_writes_metrics_and_json(recordings, analyses):
    a = analyses["30fps"]
    n = recordings["30fps"].frame_count
    m = FrameMetrics.load(a.metrics_path)
    assert len(m) == n == a.frame_count
    for arr in (m.brightness, m.sharpness, m.change, m.times):
        assert arr.shape == (n,)
    assert 0 <= m.brightness.min() <= m.brightness.max() <= 1
    assert m.change[0] == 0 and m.change.max() > 0.1  # splash → page is a big change
    assert m.thumbs.shape[0] == n and m.thumbs.dtype == np.uint8
    d = json.loads(Path(a.analysis_path).read_text())
    assert d["detection"]["first"]["index"] == a.detection.first.index
    assert d["frame_count"] == n


def test_redetect_with_exclusions_needs_no_video(recordings, analyses, tmp_path):
    """Exclusions change the result, from metrics.npz alone (the video is gone)."""
    truth = recordings["30fps"]
    metrics = tmp_path / "metrics.npz"
    shutil.copy(analyses["30fps"].metrics_path, metrics)
    video_copy = tmp_path / "gone.mp4"
    shutil.copy(truth.path, video_copy)
    m = FrameMetrics.load(metrics)
    m.source = str(video_copy)
    video_copy.unlink()

    # Without the default status-bar band the ticking clock is taken as the first change ...
    no_band = detect(m, exclusions=[], status_bar=0)
    assert no_band.first.index < truth.first_index - 5
    # ... a user rectangle over the clock fixes it, and so does the default band.
    clock = Rect(0.0, 0.0, 0.35, 0.04)
    with_rect = detect(metrics, exclusions=[clock], status_bar=0)
    assert abs(with_rect.first.index - truth.first_index) <= 1
    assert with_rect.exclusions == [clock] and with_rect.excluded_share > 0
    assert abs(detect(metrics).first.index - truth.first_index) <= 1


def test_blinking_cursor_is_ignored_but_visible_as_a_candidate(recordings, analyses):
    truth, det = recordings["60fps"], analyses["60fps"].detection
    assert abs(det.last.index - truth.last_index) <= 1
    later = [c for c in det.last_candidates if c.index > truth.last_index + 5]
    assert later and "cursor" in later[0].reason  # the last blink is offered, ranked below


def test_large_changes_after_the_page_are_not_ignored(recordings, analyses):
    """Excluding all but the page's lower half still finds a last frame within the loading phase."""
    m = FrameMetrics.load(analyses["30fps"].metrics_path)
    det = detect(m, exclusions=[(0, 0, 1, 0.5)])
    assert recordings["30fps"].first_index < det.last.index <= recordings["30fps"].last_index + 1


@pytest.mark.parametrize(
    "bad", [(0, 0, 1.2, 0.1), (-0.1, 0, 0.5, 0.5), "1,2,3", {"x": 0.1}, (0, 0, 0, 0.2)]
)
def test_bad_exclusions_are_explained(bad, analyses):
    with pytest.raises(FrameReviewError, match="exclusion"):
        detect(analyses["30fps"].metrics_path, exclusions=[bad])


def test_exclusions_covering_everything_are_explained(analyses):
    with pytest.raises(FrameReviewError, match="whole screen"):
        detect(analyses["30fps"].metrics_path, exclusions=[(0, 0, 1, 1)])
