"""Helpers of the video edit tests: a fast request."""

from __future__ import annotations

from pathlib import Path


def request_for(clip: Path, out: Path, ip2p: Path, **overrides):
    """A fast request: 2 steps, a 64 px working size."""
    from pipelines.video_edit import VideoEditRequest

    extra = {"model_path": str(ip2p), "working_size": 64, **overrides.pop("extra", {})}
    values = {
        "job_id": "job1",
        "input_video_path": clip,
        "output_dir": out,
        "mask_prompt": "person",
        "edit_prompt": "make the person red",
        "num_inference_steps": 2,
        "extra": extra,
        **overrides,
    }
    return VideoEditRequest(**values)
