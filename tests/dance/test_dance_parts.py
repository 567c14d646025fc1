"""The parts of dance generation without models: the config, the OpenPose-18
mapping, drawing in DWPose colours, alignment, negative augmentation,
SteadyDancer's command line and output reader, the video check."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pipelines.dance.align import Alignment, apply_alignment, augment_negative, fit_alignment
from pipelines.dance.config import ConfigOverrides, DanceConfig, frame_size, make_config
from pipelines.dance.draw import render_pose
from pipelines.dance.poses import MEDIAPIPE_TO_OPENPOSE, empty_skeleton, from_mediapipe, visible
from pipelines.dance.steadydancer import OutputReader, SteadyDancerSetup, build_argv, child_env
from pipelines.dance.video import VideoError, VideoWriter, check_video
from pipelines.errors import BadInput
from tests.progress_recorder import ProgressRecorder

# A standing person in OpenPose-18 order (x, y normalised), all points seen.
STANDING = np.array(
    [
        [0.50, 0.10],
        [0.50, 0.20],
        [0.42, 0.20],
        [0.40, 0.32],
        [0.39, 0.44],
        [0.58, 0.20],
        [0.60, 0.32],
        [0.61, 0.44],
        [0.45, 0.50],
        [0.45, 0.68],
        [0.45, 0.86],
        [0.55, 0.50],
        [0.55, 0.68],
        [0.55, 0.86],
        [0.48, 0.08],
        [0.52, 0.08],
        [0.46, 0.09],
        [0.54, 0.09],
    ]
)


def skeleton(points: np.ndarray = STANDING) -> np.ndarray:
    kps = empty_skeleton()
    kps[:, :2] = points
    kps[:, 2] = 1.0
    return kps


# -- config -------------------------------------------------------------------------------


def test_config_defaults_are_the_seeds():
    c = DanceConfig()
    assert (
        c.size,
        c.frame_num,
        c.sample_guide_scale,
        c.condition_guide_scale,
        c.end_cond_cfg,
        c.base_seed,
        c.cuda_visible_devices,
    ) == ("1024*576", 81, 5.0, 1.0, 0.4, 106060, None)


def test_config_rejects_bad_values_with_the_field_named():
    with pytest.raises(BadInput, match="frame_num must be 4n\\+1"):
        make_config(None, {"frame_num": 80})
    with pytest.raises(BadInput, match="size"):
        make_config(None, {"size": "1024x576"})
    with pytest.raises(BadInput, match="guidance: Extra inputs"):
        make_config(None, {"guidance": 3})


def test_overrides_change_only_the_fields_given():
    base = make_config(None, {"base_seed": 1, "sample_guide_scale": 3.5, "frame_num": 17})
    job = make_config(base, ConfigOverrides(base_seed=7))
    assert job.model_dump() == {**base.model_dump(), "base_seed": 7}
    assert make_config(base, {"base_seed": None}) == base
    assert make_config(None, {"cuda_visible_devices": 1}).cuda_visible_devices == "1"


def test_frame_size_keeps_the_reference_aspect_at_the_configs_area():
    c = DanceConfig()
    assert frame_size(c, 864, 1184) == (656, 896)  # SteadyDancer's example pair at 1024*576
    w, h = frame_size(c, 1000, 1000)
    assert w == h and w % 16 == 0 and abs(w * h - 1024 * 576) < 0.05 * 1024 * 576
    assert frame_size(make_config(None, {"pose_fit": "exact", "size": "320*240"}), 10, 1000) == (
        320,
        240,
    )


# -- poses and drawing ------------------------------------------------------------------


def test_mediapipe_landmarks_map_to_openpose_18_with_the_neck_between_the_shoulders():
    lms = [SimpleNamespace(x=i / 40, y=i / 50, visibility=0.9) for i in range(33)]
    lms[25].visibility = 0.2  # left knee not seen
    kps = from_mediapipe(lms)
    for target, source in enumerate(MEDIAPIPE_TO_OPENPOSE):
        if source is None or source == 25:
            continue
        assert kps[target, 0] == pytest.approx(source / 40) and kps[target, 1] == pytest.approx(
            source / 50
        )
    assert kps[1, 0] == pytest.approx((12 / 40 + 11 / 40) / 2)
    assert not visible(kps)[12] and visible(kps)[1]


def test_pose_frames_use_dwpose_colours_as_steadydancer_writes_them(tmp_path):
    import cv2
    from PIL import Image

    frame = render_pose(skeleton(), 400, 400)
    path = tmp_path / "0000.jpg"
    cv2.imwrite(str(path), frame)
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    mid = ((STANDING[0] + STANDING[1]) / 2 * 400).astype(int)  # neck→nose limb
    r, g, b = rgb[mid[1], mid[0]]
    assert r > 100 and g < 60 and b < 60  # red, as in SteadyDancer's frames
    mid = ((STANDING[2] + STANDING[5]) / 2 * 400).astype(
        int
    )  # the shoulder line (passes the neck dot)
    r, g, b = rgb[mid[1], mid[0] - 30]
    assert b > 100 and r < 60  # blue
    assert rgb[5, 5].sum() < 30  # black background


# -- alignment ----------------------------------------------------------------------------


def test_alignment_carries_a_smaller_shifted_dancer_onto_the_reference():
    ref = skeleton()
    driving = skeleton(STANDING * 0.5 + [0.1, 0.3])
    al = fit_alignment(ref, driving, 1.0, 1.0)
    assert all(v == pytest.approx(2.0) for v in al.scales.values())
    out = apply_alignment(driving, al)
    np.testing.assert_allclose(out[:, :2], ref[:, :2], atol=1e-9)
    moved = skeleton(STANDING * 0.5 + [0.2, 0.3])  # the dancer moves right by 0.1 of the video
    np.testing.assert_allclose(apply_alignment(moved, al)[:, 0], ref[:, 0] + 0.1, atol=1e-9)


def test_alignment_measures_in_frame_heights_across_aspects():
    ref = skeleton()
    wide = skeleton(
        np.c_[(STANDING[:, 0] - 0.5) / 2 + 0.5, STANDING[:, 1]]
    )  # same person in a 2:1 video
    al = fit_alignment(ref, wide, 1.0, 2.0)
    assert all(v == pytest.approx(1.0) for v in al.scales.values())
    np.testing.assert_allclose(apply_alignment(wide, al)[:, :2], ref[:, :2], atol=1e-9)


def test_alignment_tolerates_missing_points():
    ref = skeleton()
    driving = skeleton(STANDING * 0.5 + 0.2)
    driving[[9, 10, 12, 13], :2], driving[[9, 10, 12, 13], 2] = np.nan, 0  # legs not seen
    driving[3, :2], driving[3, 2] = (
        np.nan,
        0,
    )  # right elbow not seen: the wrist follows the shoulder
    al = fit_alignment(ref, driving, 1.0, 1.0)
    assert al.scales["leg_upper"] == pytest.approx(2.0)  # the mean of the parts found
    out = apply_alignment(driving, al)
    assert not visible(out)[[3, 9, 10, 12, 13]].any() and visible(out)[4]
    assert np.isfinite(out[4, :2]).all()


def test_negative_poses_keep_the_neck_and_change_the_shape_reproducibly():
    kps = skeleton()
    a = augment_negative(kps, np.random.default_rng(3))
    b = augment_negative(kps, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a[1, :2], kps[1, :2])
    assert not np.allclose(a[:, :2], kps[:, :2])
    span = np.ptp(a[:, 1]) / np.ptp(kps[:, 1])
    assert 0.7 - 1e-9 <= span <= 1.3 + 1e-9


def test_alignment_summary_is_json_ready():
    import json

    assert json.loads(json.dumps(Alignment().to_dict()))["scales"]["neck"] == 1.0


# -- SteadyDancer's command line and output ----------------------------------------------


def test_argv_follows_steadydancers_readme(tmp_path):
    setup = SteadyDancerSetup(
        directory=tmp_path, python="/env/bin/python", ckpt_dir=Path("/models/SD-14B")
    )
    config = make_config(
        None,
        {"sample_steps": 30, "offload_model": True, "t5_cpu": True, "cuda_visible_devices": "1"},
    )
    argv = build_argv(setup, tmp_path / "pair", config, "a dancer", tmp_path / "out.mp4")
    assert argv[:2] == ["/env/bin/python", str(tmp_path / "generate_dancer.py")]
    pairs = dict(zip(argv[2::2], argv[3::2], strict=False))
    assert pairs["--task"] == "i2v-14B" and pairs["--size"] == "1024*576"
    assert pairs["--ckpt_dir"] == "/models/SD-14B" and pairs["--prompt"] == "a dancer"
    assert pairs["--image"] == str(tmp_path / "pair" / "ref_image.png")
    assert pairs["--cond_pos_folder"] == str(tmp_path / "pair" / "positive") + "/"
    assert pairs["--cond_neg_folder"] == str(tmp_path / "pair" / "negative") + "/"
    assert (
        pairs["--sample_guide_scale"],
        pairs["--condition_guide_scale"],
        pairs["--end_cond_cfg"],
    ) == ("5", "1", "0.4")
    assert (pairs["--base_seed"], pairs["--frame_num"], pairs["--sample_steps"]) == (
        "106060",
        "81",
        "30",
    )
    assert pairs["--offload_model"] == "True" and argv[-1] == "--t5_cpu"
    assert child_env(config)["CUDA_VISIBLE_DEVICES"] == "1"
    assert "CUDA_VISIBLE_DEVICES" not in child_env(DanceConfig())


def test_setup_says_what_to_install(tmp_path):
    assert "STEADYDANCER_DIR" in SteadyDancerSetup(None, "python", tmp_path).problem()
    assert "generate_dancer.py" in SteadyDancerSetup(tmp_path, "python", tmp_path).problem()
    (tmp_path / "generate_dancer.py").write_text("")
    assert SteadyDancerSetup(tmp_path, "python", tmp_path).problem() is None


def test_output_reader_turns_tqdm_and_info_lines_into_progress():
    rec = ProgressRecorder()
    reader = OutputReader(rec)
    reader.feed(
        "stdout", "[2025-01-01 10:00:00] INFO: Generation job args: Namespace()\n[2025-01-01"
    )
    reader.feed("stdout", " 10:00:01] INFO: Creating WanI2V pipeline.\n")
    reader.feed("stderr", "\r  0%|          | 0/40 [00:00<?, ?it/s]")
    reader.feed("stderr", "\r  2%|▎         | 1/4")  # split in the middle of a refresh
    reader.feed(
        "stderr", "0 [00:05<03:15,  5.00s/it]\r 50%|█████     | 20/40 [01:40<01:40,  5.00s/it]"
    )
    reader.feed("stdout", "INFO: Generating video ...\n")
    reader.feed("stderr", "\r100%|██████████| 40/40 [03:20<00:00,  5.00s/it]\n")
    reader.feed("stderr", "Traceback (most recent call last):\nValueError: boom")
    reader.finish()
    stages = [u["stage"] for u in rec.updates if u.get("stage")]
    assert stages[0] == "loading model" and "sampling" in stages
    steps = [u["item"] for u in rec.updates if u.get("item")]
    assert steps[-1] == "step 40/40" and "step 20/40" in steps
    fractions = [u["fraction"] for u in rec.updates if u.get("item")]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(0.95)
    assert "[stderr] sampling step 40/40" in rec.lines
    assert "[stderr] ValueError: boom" in rec.lines
    assert "[stdout] INFO: Generating video ..." in rec.lines
    assert len([ln for ln in rec.lines if "sampling step" in ln]) <= 5  # not one line per refresh
    assert reader.text["stderr"].endswith("ValueError: boom")


# -- video ---------------------------------------------------------------------------------


def test_check_video_accepts_only_a_video_that_decodes(tmp_path):
    good = tmp_path / "good.mp4"
    with VideoWriter(good, 16, 64, 48) as w:
        for k in range(5):
            w.write(np.full((48, 64, 3), k * 40, dtype=np.uint8))
    info = check_video(good)
    assert (info.frames, info.width, info.height, info.decoded) == (5, 64, 48, True)
    with pytest.raises(VideoError, match="No video"):
        check_video(tmp_path / "missing.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        check_video(tmp_path / "empty.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video" * 100)
    with pytest.raises(VideoError):
        check_video(tmp_path / "junk.mp4")
    data = good.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    with pytest.raises(VideoError):
        check_video(tmp_path / "cut.mp4")
