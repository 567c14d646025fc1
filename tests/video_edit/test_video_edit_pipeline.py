"""``run_video_edit`` end to end on tiny random-weight models: what users rely on.

Stage order, status.json in seed 003's shape at the end, the output's frame
count / fps / size / audio, pixels far from the mask unchanged and inside it
changed, frames without a mask copied unchanged, a prompt that matches nothing
failing with a message, a missing model failing before any work, cancel in
the middle of editing, single_frame mode and the mask preview.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from video_edit_helpers import request_for
from video_edit_media import person_boxes

from pipelines.progress import Cancelled
from pipelines.video_edit import (
    STAGES,
    EmptyMask,
    get_video_edit_status,
    preview_mask,
    run_video_edit,
)
from pipelines.video_edit.models import ModelMissing
from pipelines.video_edit.video_io import probe, read_frames
from tests.progress_recorder import ProgressRecorder

SEED_FIELDS = {
    "job_id",
    "status",
    "progress",
    "current_frame",
    "total_frames",
    "message",
    "error",
    "output_video_path",
    "mask_preview_path",
    "logs_path",
}


@pytest.fixture(scope="module")
def edited(tmp_path_factory, clips, tiny_ip2p):
    """One video-mode run on the astronaut clip (MediaPipe mask), shared by the tests below."""
    out = tmp_path_factory.mktemp("edited")
    progress = ProgressRecorder()
    status = run_video_edit(request_for(clips["person"], out, tiny_ip2p, job_id="astro"), progress)
    return out, status, progress


def test_stages_in_order_and_status_json(edited):
    out, status, progress = edited
    assert progress.stages == [
        "extracting",
        "masking",
        "propagating",
        "editing",
        "smoothing",
        "saving",
        "finished",
    ]
    assert [s for s in STAGES if s in progress.stages] == progress.stages
    saved = json.loads((out / "status.json").read_text())
    assert set(saved) == SEED_FIELDS
    assert saved["status"] == "finished" and saved["progress"] == 1.0 and saved["error"] is None
    assert saved["total_frames"] == 10 and saved["current_frame"] == 10
    assert saved["output_video_path"] == str(out / "astro_output.mp4")
    assert saved["mask_preview_path"] == str(out / "astro_mask.mp4")
    assert saved["logs_path"] == str(out / "astro_log.txt")
    assert get_video_edit_status("astro", out) == status
    assert "frame 10/10" in progress.items
    assert sorted(p.name for p in out.iterdir()) == [
        "astro_log.txt",
        "astro_mask.mp4",
        "astro_output.mp4",
        "status.json",
    ]  # the work folder is gone


def test_output_keeps_frames_rate_size_and_audio(edited, clips):
    out, _, _ = edited
    src, result, mask = (
        probe(clips["person"]),
        probe(out / "astro_output.mp4"),
        probe(out / "astro_mask.mp4"),
    )
    assert (result.frames, result.fps, result.size, result.has_audio) == (
        10,
        src.fps,
        src.size,
        True,
    )
    assert (mask.frames, mask.size) == (10, src.size)


def test_pixels_far_from_the_mask_are_unchanged_and_inside_changed(edited, clips):
    out, _, _ = edited
    boxes = person_boxes(10, 192, 128)
    frames = zip(
        read_frames(clips["person"]),
        read_frames(out / "astro_output.mp4"),
        read_frames(out / "astro_mask.mp4"),
        strict=True,
    )
    for i, (before, after, mask) in enumerate(frames):
        x0, y0, x1, y1 = boxes[i]
        far = np.ones(before.shape[:2], bool)
        far[max(0, y0 - 24) :, max(0, x0 - 24) : x1 + 24] = False
        diff = np.abs(before.astype(int) - after.astype(int)).mean(axis=2)
        inside = mask[..., 0] > 200
        assert diff[far].mean() < 3.0, f"frame {i}: pixels outside the mask changed"
        assert inside.sum() > 100 and diff[inside].mean() > 20, (
            f"frame {i}: the masked region was not edited"
        )
        assert inside[y0:y1, x0:x1].sum() > 0.9 * inside.sum()  # the mask is on the astronaut


def test_intermediates_are_kept_only_when_asked(edited, tmp_path, clips, tiny_ip2p):
    import zipfile

    import cv2

    out, _, _ = edited
    assert sorted(p.name for p in out.iterdir()) == [
        "astro_log.txt",
        "astro_mask.mp4",
        "astro_output.mp4",
        "status.json",
    ]  # by default: the seed's outputs only, the work folder gone
    status = run_video_edit(
        request_for(clips["person"], tmp_path, tiny_ip2p, job_id="kept", keep_intermediates=True)
    )
    assert status.status == "finished"
    with zipfile.ZipFile(tmp_path / "kept_masks.zip") as archive:
        names = archive.namelist()
        assert names == [f"mask_{t:06d}.png" for t in range(10)]
        first = cv2.imdecode(np.frombuffer(archive.read(names[3]), np.uint8), cv2.IMREAD_UNCHANGED)
    assert first.ndim == 2 and first.max() > 0  # the astronaut's mask, 0..255
    edited_frames = probe(tmp_path / "kept_edited_frames.mkv")
    assert edited_frames.frames == 10 and (edited_frames.width, edited_frames.height) == (192, 128)
    assert not (tmp_path / ".kept_work").exists()
    log = (tmp_path / "kept_log.txt").read_text()
    assert "kept the raw masks" in log and "kept the edited frames" in log


def test_frames_without_mask_are_copied_unchanged_and_logged(tmp_path, clips, tiny_ip2p):
    progress = ProgressRecorder()
    status = run_video_edit(
        request_for(clips["half"], tmp_path, tiny_ip2p, job_id="half", apply_smoothing=False),
        progress,
    )
    assert status.status == "finished" and "5 without mask copied unchanged" in status.message
    for before, after in list(
        zip(read_frames(clips["half"]), read_frames(tmp_path / "half_output.mp4"), strict=True)
    )[6:]:
        assert np.abs(before.astype(int) - after.astype(int)).mean() < 2.0
    log = (tmp_path / "half_log.txt").read_text()
    assert (
        "frame 7: empty mask, copied unchanged" in log
        and "empty mask in 5 of 10 frames (5-9)" in log
    )


def test_a_prompt_that_matches_nothing_fails_with_a_message(tmp_path, clips, tiny_ip2p):
    with pytest.raises(EmptyMask) as err:
        run_video_edit(
            request_for(clips["empty"], tmp_path, tiny_ip2p, job_id="nobody"), ProgressRecorder()
        )
    assert "matched nothing in any of the 6 frames" in str(err.value)
    saved = json.loads((tmp_path / "status.json").read_text())
    assert (
        saved["status"] == "failed"
        and "matched nothing" in saved["error"]
        and "\n" not in saved["error"]
    )
    assert "Traceback" in (tmp_path / "nobody_log.txt").read_text()
    assert not (tmp_path / "nobody_output.mp4").exists()


def test_a_missing_model_fails_before_any_work(tmp_path, clips, monkeypatch):
    monkeypatch.setenv("INSTRUCT_PIX2PIX_MODEL_PATH", str(tmp_path / "not-here"))
    request = request_for(clips["person"], tmp_path / "out", tmp_path / "x", job_id="nomodel")
    request = request.model_copy(
        update={"extra": request.extra.model_copy(update={"model_path": None})}
    )
    progress = ProgressRecorder()
    with pytest.raises(ModelMissing, match="INSTRUCT_PIX2PIX_MODEL_PATH"):
        run_video_edit(request, progress)
    assert progress.stages == ["extracting"]
    assert get_video_edit_status("nomodel", tmp_path / "out").status == "failed"


def test_not_a_video_fails_with_a_message(tmp_path, clips, tiny_ip2p):
    with pytest.raises(ValueError, match="not a readable video"):
        run_video_edit(request_for(clips["not_video"], tmp_path, tiny_ip2p, job_id="junk"))
    assert get_video_edit_status("junk", tmp_path).error.startswith(
        "notes.mp4: not a readable video"
    )


def test_cancel_in_the_middle_of_editing(tmp_path, clips, tiny_ip2p):
    progress = ProgressRecorder(
        cancel_when=lambda u: u.get("stage") == "editing" and (u.get("fraction") or 0) > 0.3
    )
    with pytest.raises(Cancelled):
        run_video_edit(
            request_for(
                clips["person"], tmp_path, tiny_ip2p, job_id="stop", extra={"batch_size": 2}
            ),
            progress,
        )
    assert progress.stages[-1] == "editing"
    saved = get_video_edit_status("stop", tmp_path)
    assert saved.status == "failed" and saved.error == "Cancelled by the user"
    assert not (tmp_path / "stop_output.mp4").exists() and not (tmp_path / ".stop_work").exists()


def test_single_frame_mode_with_clipseg(tmp_path, clips, tiny_ip2p, tiny_clipseg):
    request = request_for(
        clips["person"],
        tmp_path,
        tiny_ip2p,
        job_id="one",
        mode="single_frame",
        frame_index=6,
        extra={"clipseg_path": str(tiny_clipseg), "mask_threshold": 0.3},
    )
    status = run_video_edit(request, ProgressRecorder())
    assert status.total_frames == 1 and probe(tmp_path / "one_output.mp4").frames == 1
    for name in ("one_input.png", "one_mask.png", "one_edited.png", "one_compare.png"):
        assert (tmp_path / name).is_file()
    from PIL import Image

    assert Image.open(tmp_path / "one_compare.png").size == (192 * 3 + 16, 128)


def test_mask_preview_writes_an_overlay(tmp_path, clips):
    from pipelines.video_edit import VideoEditRequest

    status = preview_mask(
        VideoEditRequest(
            job_id="pv",
            input_video_path=clips["person"],
            output_dir=tmp_path,
            mask_prompt="person",
            edit_prompt="-",
            frame_index=4,
        ),
        ProgressRecorder(),
    )
    assert status.status == "finished" and "covers" in status.message
    assert (tmp_path / "pv_mask.png").is_file() and (tmp_path / "pv_input.png").is_file()


def test_status_of_an_unknown_job():
    from pipelines.errors import NotFound

    with pytest.raises(NotFound, match="No status for video edit 'nope'"):
        get_video_edit_status("nope", "/tmp/does-not-exist-video-edit")
