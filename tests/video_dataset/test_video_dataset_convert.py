"""Probe, conversion to the trainer's fps, splitting and frame-bucket checks."""

from __future__ import annotations

import av
import pytest
from video_media import vfr_brightness

from pipelines.progress import Cancelled
from pipelines.video_dataset import (
    ConvertOptions,
    ProbeError,
    check_frames,
    convert_clip,
    detect_scene_cuts,
    fixed_spans,
    probe_video,
    scene_spans,
    usable_frames,
)
from tests.progress_recorder import ProgressRecorder


def test_probe_reports_rate_size_audio_and_vfr(media):
    p = probe_video(media["fps30"])
    assert (p.width, p.height, round(p.fps), p.frames) == (320, 240, 30, 90)
    assert p.duration == pytest.approx(3.0, abs=0.05)
    assert not p.has_audio and not p.variable_frame_rate
    assert probe_video(media["audio"]).has_audio
    assert probe_video(media["vfr"]).variable_frame_rate


@pytest.mark.parametrize("key", ["corrupt", "truncated", "notes"])
def test_probe_rejects_broken_files_with_a_reason(media, key):
    with pytest.raises(ProbeError) as err:
        probe_video(media[key])
    message = str(err.value)
    assert media[key].name in message
    assert "corrupt" in message or "not a video" in message


@pytest.mark.parametrize("key, seconds", [("fps30", 3.0), ("fps25", 2.0), ("fps60", 2.0)])
def test_convert_to_16_fps_keeps_duration(tmp_path, media, key, seconds):
    clip = convert_clip(media[key], tmp_path / "out.mp4", ConvertOptions(fps=16))
    assert clip.fps == pytest.approx(16.0)
    assert abs(clip.frames - round(seconds * 16)) <= 1
    assert clip.duration == pytest.approx(seconds, abs=0.1)
    with av.open(str(clip.path)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264"
        assert s.codec_context.pix_fmt == "yuv420p"
        decoded = sum(1 for _ in c.decode(s))
    assert decoded == clip.frames


def test_convert_drops_audio(tmp_path, media):
    clip = convert_clip(media["audio"], tmp_path / "out.mp4", ConvertOptions(fps=24))
    assert not clip.has_audio
    assert abs(clip.frames - 48) <= 1


def test_vfr_video_is_timed_by_timestamps(tmp_path, media):
    """Each output frame shows the source frame of its time, not of its index."""
    clip = convert_clip(media["vfr"], tmp_path / "out.mp4", ConvertOptions(fps=16))
    assert abs(clip.frames - 48) <= 1
    assert clip.duration == pytest.approx(3.0, abs=0.1)
    with av.open(str(clip.path)) as c:
        greys = [float(f.to_ndarray(format="gray").mean()) for f in c.decode(video=0)]
    for i, grey in enumerate(greys):
        # the source changes frame every 20/60 ms; allow one source frame of slack
        t = i / 16
        assert min(abs(grey - vfr_brightness(t + d)) for d in (-0.06, 0.0, 0.06)) < 6, (i, grey)


def test_max_side_and_resolution_bucket(tmp_path, media):
    small = convert_clip(media["fps25"], tmp_path / "a.mp4", ConvertOptions(fps=16, max_side=160))
    assert (small.width, small.height) == (120, 160)  # portrait 240x320 keeps its aspect
    bucket = convert_clip(
        media["fps30"], tmp_path / "b.mp4", ConvertOptions(fps=16, resolution=(128, 128))
    )
    assert (bucket.width, bucket.height) == (128, 128)


def test_convert_a_part_of_a_video(tmp_path, media):
    clip = convert_clip(
        media["fps30"], tmp_path / "part.mp4", ConvertOptions(fps=16), start=1.0, duration=1.5
    )
    assert abs(clip.frames - 24) <= 1


def test_cancel_during_conversion_leaves_no_file(tmp_path, media):
    with pytest.raises(Cancelled):
        convert_clip(
            media["fps30"],
            tmp_path / "out.mp4",
            ConvertOptions(fps=16),
            progress=ProgressRecorder(cancel_when=lambda u: True),
        )
    assert list(tmp_path.iterdir()) == []


def test_scene_cut_found_and_split(media):
    cuts = detect_scene_cuts(media["scenes"])
    assert len(cuts) == 1 and cuts[0] == pytest.approx(2.0, abs=0.2)
    spans = scene_spans(4.0, cuts, max_seconds=None)
    assert [round(s.duration, 1) for s in spans] == [round(cuts[0], 1), round(4.0 - cuts[0], 1)]
    assert detect_scene_cuts(media["fps30"]) == []  # the moving test pattern has no cut


def test_fixed_spans_cover_the_video():
    spans = fixed_spans(7.0, 3.0)
    assert [(s.start, s.end) for s in spans] == [(0.0, 3.0), (3.0, 6.0), (6.0, 7.0)]
    assert len(fixed_spans(7.0, 3.0, min_seconds=2.0)) == 2  # a 1 s tail is left out


def test_frame_buckets_round_down_to_4k_plus_1_and_flag_short_clips():
    assert [usable_frames(n) for n in (1, 4, 5, 48, 49, 81, 82)] == [1, 1, 5, 45, 49, 81, 81]
    assert usable_frames(50, 8) == 49
    ok = check_frames(49, (1, 33, 65))
    assert ok.bucket == 33 and ok.warnings == []
    rounded = check_frames(48, (1, 33, 65))
    assert rounded.usable == 45 and "45" in rounded.warnings[0]
    short = check_frames(20, (1, 33, 65), fps=16)
    assert short.too_short and "drop" in short.warnings[0]
    long = check_frames(200, (1, 33, 65), fps=16)
    assert long.bucket == 65 and "split" in long.warnings[0]
