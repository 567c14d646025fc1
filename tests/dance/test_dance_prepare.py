"""SteadyDancer's input folder from a reference and a driving video, with real
MediaPipe poses on the astronaut moving over a background."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipelines.dance.config import make_config
from pipelines.dance.poses import PoseDetector
from pipelines.dance.prepare import (
    PrepareError,
    check_pair_dir,
    copy_pair_dir,
    frame_name,
    prepare_input,
)
from pipelines.dance.video import check_video, read_frames
from pipelines.errors import BadInput
from tests.progress_recorder import ProgressRecorder

pytestmark = pytest.mark.filterwarnings("ignore:SymbolDatabase.GetPrototype:UserWarning")
CONFIG = make_config(None, {"frame_num": 17, "size": "256*256", "base_seed": 5})


@pytest.fixture(scope="module")
def prepared(dance_media, tmp_path_factory):
    out = tmp_path_factory.mktemp("pair") / "input"
    progress = ProgressRecorder()
    result = prepare_input(
        dance_media["ref"],
        dance_media["clip"].path,
        out,
        CONFIG,
        prompt="an astronaut dancing",
        progress=progress,
        preview=out.parent / "preview.mp4",
    )
    return out, result, progress


def _skeleton_pixels(path):
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return np.argwhere(rgb.max(axis=2) > 60)  # (y, x) of drawn pixels on the black frame


def test_the_folder_has_steadydancers_layout(prepared):
    out, _, _ = prepared
    assert {p.name for p in out.iterdir()} == {
        "ref_image.png",
        "driving_video.mp4",
        "prompt.txt",
        "positive",
        "negative",
        "face",
    }
    names = [frame_name(i) for i in range(17)]
    for sub in ("positive", "negative", "face"):
        assert sorted(p.name for p in (out / sub).iterdir()) == names
    assert (out / "prompt.txt").read_text() == "an astronaut dancing"
    assert Image.open(out / "ref_image.png").size == (512, 512)
    assert check_video(out / "driving_video.mp4").frames == 17
    assert check_pair_dir(out) == {
        "frames": 17,
        "positive": 17,
        "negative": 17,
        "prompt": True,
        "driving_video": True,
        "face": 17,
    }


def test_pose_frames_have_the_configs_size_at_the_references_aspect(prepared):
    out, result, _ = prepared
    assert (result.width, result.height) == (256, 256)  # a square reference at 256*256
    assert Image.open(out / "positive" / "0000.jpg").size == (256, 256)
    assert Image.open(out / "face" / "0000.jpg").size == (512, 512)
    assert (
        result.frames == 17 and result.video_frames_used == 17 and result.frames_without_person == 0
    )
    assert result.fps == 16.0 and not result.warnings


def test_the_skeleton_follows_the_dancer(prepared, dance_media):
    out, _, _ = prepared
    clip = dance_media["clip"]
    first, last = (
        _skeleton_pixels(out / "positive" / "0000.jpg"),
        _skeleton_pixels(out / "positive" / "0016.jpg"),
    )
    assert len(first) > 200 and len(last) > 200
    # the dancer moves 16 × 7 px right in a 320 px high video: 0.35 frame heights, so 0.35 of the
    # (square) reference frame's width
    moved = (np.median(last[:, 1]) - np.median(first[:, 1])) / 256
    assert moved == pytest.approx(16 * 7 / clip.height, abs=0.08)
    # the negative frames are the same dance, reshaped around the same neck
    neg = _skeleton_pixels(out / "negative" / "0000.jpg")
    assert len(neg) > 100 and abs(np.median(neg[:, 1]) - np.median(first[:, 1])) < 40


def test_poses_are_found_where_the_person_is(dance_media):
    clip = dance_media["clip"]
    with PoseDetector(video=True) as detector:
        for k, rgb in enumerate(read_frames(clip.path)):
            kps = detector.detect(rgb)
            assert kps is not None, f"frame {k}"
            x, y, w, h = clip.boxes[k]
            neck = kps[1, :2] * [clip.width, clip.height]
            assert x < neck[0] < x + w and y < neck[1] < y + h, (
                f"frame {k}: neck {neck} outside {clip.boxes[k]}"
            )


def test_the_preview_shows_both_sides_and_progress_was_reported(prepared):
    _, result, progress = prepared
    info = check_video(result.preview)
    assert (
        info.frames == 17 and info.height == 320 and info.width == 384 + 320
    )  # driving | reference
    stages = [u.get("stage") for u in progress.updates]
    assert {"reference", "poses", "done"} <= set(stages)
    fractions = [u["fraction"] for u in progress.updates if u.get("fraction") is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_frames_without_a_person_are_counted_and_filled(dance_media, tmp_path):
    cfg = make_config(None, {"frame_num": 13, "size": "256*256"})
    result = prepare_input(
        dance_media["ref"], dance_media["gaps"].path, tmp_path / "in", cfg, faces=False
    )
    assert result.frames_without_person == 3 and result.missing_frames == [4, 5, 9]
    assert "No person in 3 of 13 frames (4–5, 9)" in result.warnings[0]
    assert (
        len(_skeleton_pixels(tmp_path / "in" / "positive" / "0004.jpg")) > 100
    )  # the nearest pose held
    assert not (tmp_path / "in" / "face").exists()


def test_a_video_without_a_dancer_is_an_error(dance_media, tmp_path):
    cfg = make_config(None, {"frame_num": 9, "size": "256*256"})
    with pytest.raises(PrepareError, match="No person found in 9 of 9 frames"):
        prepare_input(dance_media["ref"], dance_media["empty"].path, tmp_path / "in", cfg)


def test_a_reference_without_a_person_is_an_error(dance_media, tmp_path):
    blank = tmp_path / "wall.png"
    Image.new("RGB", (300, 400), (200, 200, 190)).save(blank)
    with pytest.raises(PrepareError, match="No person found in the reference image"):
        prepare_input(blank, dance_media["clip"].path, tmp_path / "in", CONFIG)
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(PrepareError, match="not a readable image"):
        prepare_input(tmp_path / "notes.png", dance_media["clip"].path, tmp_path / "in2", CONFIG)


def test_stride_and_a_short_video(dance_media, tmp_path):
    cfg = make_config(None, {"frame_num": 9, "size": "256*256", "frame_stride": 2})
    result = prepare_input(
        dance_media["ref"], dance_media["clip"].path, tmp_path / "a", cfg, faces=False
    )
    assert (result.video_frames_used, result.fps, result.padded_frames) == (9, 8.0, 0)
    short = prepare_input(
        dance_media["ref"],
        dance_media["short"].path,
        tmp_path / "b",
        make_config(None, {"frame_num": 9, "size": "256*256"}),
        faces=False,
    )
    assert (short.video_frames_used, short.padded_frames, short.frames) == (5, 4, 9)
    assert "held for 4 more" in short.warnings[0]
    assert len(list((tmp_path / "b" / "positive").iterdir())) == 9


def test_a_pair_folder_made_elsewhere_is_checked_and_copied(prepared, tmp_path):
    out, _, _ = prepared
    info = copy_pair_dir(out, tmp_path / "copy", preview=tmp_path / "preview.mp4")
    assert info["frames"] == 17 and (tmp_path / "copy" / "positive" / "0016.jpg").is_file()
    assert check_video(tmp_path / "preview.mp4").frames == 17
    (tmp_path / "bad" / "positive").mkdir(parents=True)
    with pytest.raises(BadInput, match=r"ref_image\.png, negative missing"):
        check_pair_dir(tmp_path / "bad")
