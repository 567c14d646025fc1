"""The parts: clip reading and writing (PyAV), mask shaping, temporal smoothing,
crop boxes, and each mask backend on real (tiny) models."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from video_edit_media import person_boxes

from pipelines.video_edit.editing import crop_box, working_shape
from pipelines.video_edit.smoothing import (
    MaskShape,
    PixelSmoother,
    composite,
    shape_mask,
    window_range,
)
from pipelines.video_edit.video_io import (
    VideoError,
    VideoWriter,
    mux_with_audio,
    probe,
    read_frame,
    read_frames,
)


def test_probe_and_streamed_frames(clips):
    info = probe(clips["person"])
    assert (info.width, info.height, info.fps, info.frames, info.has_audio) == (
        192,
        128,
        Fraction(12),
        10,
        True,
    )
    frames = read_frames(clips["person"], 3, 4)
    assert not isinstance(frames, list)  # a generator: one frame at a time
    got = list(frames)
    assert len(got) == 4 and got[0].shape == (128, 192, 3)
    np.testing.assert_allclose(
        read_frame(clips["person"], 3).astype(int), got[0].astype(int), atol=0
    )
    with pytest.raises(VideoError, match="not a readable video"):
        probe(clips["not_video"])


def test_writer_keeps_rate_and_size_and_audio_is_copied(tmp_path, clips):
    frames = list(read_frames(clips["person"]))
    with VideoWriter(tmp_path / "v.mp4", 192, 128, Fraction(30000, 1001)) as w:
        for f in frames:
            w.write(f)
    info = probe(tmp_path / "v.mp4")
    assert (info.frames, info.size, info.fps) == (10, (192, 128), Fraction(30000, 1001))
    with VideoWriter(tmp_path / "odd.mp4", 191, 127, Fraction(12)) as w:  # odd sizes: 4:4:4
        w.write(frames[0][:127, :191])
    assert probe(tmp_path / "odd.mp4").size == (191, 127)
    with VideoWriter(tmp_path / "silent.mp4", 192, 128, Fraction(12)) as w:
        for f in frames:
            w.write(f)
    assert mux_with_audio(tmp_path / "silent.mp4", clips["person"], tmp_path / "sound.mp4")
    assert probe(tmp_path / "sound.mp4").has_audio and probe(tmp_path / "sound.mp4").frames == 10


def test_mask_shape_erodes_and_feathers():
    prob = np.zeros((100, 100), np.float32)
    prob[20:80, 30:70] = 0.9
    plain = shape_mask(prob, 100, 100, MaskShape(erode_kernel=0, feather=0))
    eroded = shape_mask(prob, 100, 100, MaskShape(erode_kernel=11, feather=0))
    soft = shape_mask(prob, 100, 100, MaskShape(erode_kernel=11, feather=3))
    assert plain.box == (30, 20, 70, 80)
    assert eroded.soft.sum() < plain.soft.sum() and eroded.box == (35, 25, 65, 75)
    assert 0 < soft.soft[50, 34] < 1 and soft.soft[50, 50] == pytest.approx(1.0, abs=1e-3)
    assert shape_mask(prob * 0.1, 200, 200, MaskShape()).empty
    big = shape_mask(prob, 200, 200, MaskShape(erode_kernel=0, feather=0))  # upsampled to the frame
    assert big.soft.shape == (200, 200) and big.box[0] in (59, 60, 61)


def test_pixel_smoothing_only_inside_the_mask_and_less_flicker():
    rng = np.random.default_rng(0)
    frames = [np.full((20, 20, 3), 100, np.uint8) for _ in range(8)]
    for f in frames:
        f[5:15, 5:15] = rng.integers(0, 255, 3)  # a flickering edited patch
    soft = np.zeros((20, 20), np.float32)
    soft[5:15, 5:15] = 1.0
    smoother = PixelSmoother(5, 0.6)
    out = [f for frame in frames for f in smoother.push(frame, soft)] + list(smoother.finish())
    assert len(out) == 8
    before = np.std([f[10, 10].astype(float) for f in frames], axis=0).mean()
    after = np.std([f[10, 10].astype(float) for f in out], axis=0).mean()
    assert after < 0.7 * before
    assert all((f[0:5] == 100).all() for f in out)  # outside the mask: unchanged
    assert window_range(0, 8, 5) == (0, 3) and window_range(7, 8, 5) == (5, 8)


def test_composite_keeps_pixels_outside_the_mask_exactly():
    original = np.random.default_rng(1).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    edited = np.zeros_like(original)
    soft = np.zeros((30, 40), np.float32)
    soft[10:20, 10:20] = 1.0
    out = composite(original, edited, soft)
    assert (out[soft == 0] == original[soft == 0]).all() and (out[15, 15] == 0).all()


def test_crop_box_and_working_shape():
    assert crop_box((100, 100, 200, 150), 1920, 1080, feather=6) == (66, 66, 234, 184)
    assert crop_box((0, 0, 1920, 1080), 1920, 1080, feather=6) == (0, 0, 1920, 1080)
    w, h = working_shape(1000, 400, 512)
    assert w == 512 and h % 8 == 0 and abs(h - 205) <= 8


def test_ip2p_is_balanced_over_the_jobs_gpus_when_it_has_several(tiny_ip2p):
    """Seed 003: several GPUs → ``device_map="balanced"``; one GPU or the CPU → one device."""
    import torch
    from diffusers import StableDiffusionInstructPix2PixPipeline
    from diffusers.pipelines.pipeline_utils import SUPPORTED_DEVICE_MAP

    from pipelines.video_edit.editing import Editor, EditSettings, ip2p_load_kwargs

    several = ip2p_load_kwargs("cuda", 2)
    assert several["device_map"] == "balanced" and several["dtype"] == torch.float16
    assert "balanced" in SUPPORTED_DEVICE_MAP  # the strategy diffusers knows by that name
    assert "device_map" not in ip2p_load_kwargs("cuda", 1)
    on_cpu = ip2p_load_kwargs("cpu", 0)
    assert "device_map" not in on_cpu and on_cpu["dtype"] == torch.float32
    # the CPU arguments load the real pipeline class, and the editor runs it
    pipe = StableDiffusionInstructPix2PixPipeline.from_pretrained(str(tiny_ip2p), **on_cpu)
    crops = Editor(pipe, EditSettings("make it red", num_inference_steps=1, working_size=32)).edit(
        [np.zeros((40, 40, 3), np.uint8)]
    )
    assert crops[0].shape == (40, 40, 3)


def test_an_edit_leases_the_gpus_it_asks_for(studio_home, monkeypatch):
    """The edit's ``gpus`` option is the GPUs of one machine its job leases (default one;
    a mask preview loads no edit model: one). On a shared lane the one lane sees every
    GPU: one lane is enough."""
    from jobs.kinds import get_kind
    from jobs.settings import reset_settings

    run, preview = get_kind("video_edit.run"), get_kind("video_edit.preview")
    assert run.gpus_for({"request": {}, "what": "run"}) == 1
    assert run.gpus_for({"request": {"gpus": 2}, "what": "run"}) == 2
    assert preview.gpus_for({"request": {"gpus": 2}, "what": "edit"}) == 2
    assert preview.gpus_for({"request": {"gpus": 2}, "what": "mask"}) == 1
    monkeypatch.setenv("STUDIO_GPU_LANES", "shared")
    reset_settings()
    assert run.gpus_for({"request": {"gpus": 2}, "what": "run"}) == 1


def test_the_childs_progress_lines_replay_into_the_jobs_progress(monkeypatch):
    """A several-GPU edit's child reports through JSON lines on stdout; the parent replays
    them (stage, fraction, item, message, log) and keeps its error; other output is logged.
    The child names the GPUs it sees and how InstructPix2Pix loads on them."""
    import io

    from pipelines.progress import LineProgress, LineReader
    from pipelines.video_edit.child import gpu_line
    from tests.progress_recorder import ProgressRecorder

    out = io.StringIO()
    child = LineProgress(out)
    child.update(stage="editing", fraction=0.5, item="frame 2/4")
    child.log("[editing] batch 1")
    child.error("The mask prompt matched nothing", "EmptyMask", 422)
    recorded = ProgressRecorder()
    reader = LineReader(recorded)
    text = out.getvalue() + "a library's own print"
    reader.feed("stdout", text[:30])  # lines arrive in pieces
    reader.feed("stdout", text[30:])
    reader.feed("stderr", "Traceback (most recent call last):\n")
    reader.finish()
    assert recorded.updates == [
        {"stage": "editing", "fraction": 0.5, "item": "frame 2/4", "message": None}
    ]
    assert recorded.lines == [
        "[editing] batch 1",
        "[stderr] Traceback (most recent call last):",
        "[stdout] a library's own print",
    ]
    assert reader.error == {
        "error": "The mask prompt matched nothing",
        "type": "EmptyMask",
        "status": 422,
    }
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert gpu_line(None) == (
        "GPUs 3,5 (CUDA_VISIBLE_DEVICES): InstructPix2Pix on 2 of them, device_map=balanced"
    )
    assert gpu_line(1).endswith("on 1 of them, device_map=one device")


def test_mediapipe_masks_the_astronaut(clips):
    from pipelines.video_edit.masking import MediaPipeBackend

    session = MediaPipeBackend().session("person", 192, 128)
    frames = list(read_frames(clips["person"], 0, 3))
    masks = session.masks(frames)
    session.close()
    for i, prob in enumerate(masks):
        x0, y0, x1, y1 = person_boxes(10, 192, 128)[i]
        inside = prob[y0:y1, x0:x1].mean()
        outside = np.delete(prob, np.s_[max(0, x0 - 10) : x1 + 10], axis=1).mean()
        assert inside > 0.3 and outside < 0.05


def test_clipseg_backend_gives_one_map_per_frame(tiny_clipseg, clips):
    from pipelines.video_edit.masking import ClipSegBackend

    backend = ClipSegBackend(str(tiny_clipseg), device="cpu")
    frames = list(read_frames(clips["person"], 0, 3))
    maps = backend.session("hair", 192, 128).masks(frames)
    assert (
        len(maps) == 3 and maps[0].shape == (64, 64) and maps[0].min() >= 0 and maps[0].max() <= 1
    )


@pytest.mark.slow
def test_sam3_backend_streams_frames_and_forgets_old_ones(tiny_sam3, clips):
    from pipelines.video_edit.masking import Sam3Backend

    backend = Sam3Backend(str(tiny_sam3), device="cpu")
    session = backend.session("hair", 192, 128)
    maps = []
    for chunk in (
        list(read_frames(clips["person"], 0, 4)),
        list(read_frames(clips["person"], 4, 4)),
    ):
        maps += session.masks(chunk)
    assert len(maps) == 8 and maps[0].shape == (32, 32)
    assert all(m.min() >= 0 and m.max() <= 1 for m in maps)
    assert len(session.session.processed_frames) == 1  # only the newest frame is kept
    session.close()


@pytest.mark.slow
def test_sam3_mask_preview_through_the_pipeline(tmp_path, tiny_sam3, clips):
    from pipelines.video_edit import VideoEditRequest, preview_mask

    status = preview_mask(
        VideoEditRequest(
            job_id="s3",
            input_video_path=clips["person"],
            output_dir=tmp_path,
            mask_prompt="hair",
            edit_prompt="-",
            frame_index=2,
            extra={"sam_path": str(tiny_sam3), "mask_threshold": 0.3},
        )
    )
    assert status.status == "finished" and "(sam3)" in status.message
    assert "mask backend: sam3" in (tmp_path / "s3_log.txt").read_text()
    assert (tmp_path / "s3_mask.png").is_file()
