"""Helpers of the video edit tests: a recording Progress and a fast request."""

from __future__ import annotations

from pathlib import Path


class Recorder:
    """A Progress that records stages, items and log lines, and can cancel."""

    def __init__(self, cancel_when=None):
        self.stages: list[str] = []
        self.items: list[str] = []
        self.lines: list[str] = []
        self.cancel_when = cancel_when

    def update(self, *, stage=None, fraction=None, item=None, message=None) -> None:
        if stage and (not self.stages or self.stages[-1] != stage):
            self.stages.append(stage)
        if item:
            self.items.append(item)
        if self.cancel_when and self.cancel_when(stage, fraction):
            from pipelines.progress import Cancelled

            raise Cancelled("Cancelled by the user")

    def log(self, line: str) -> None:
        self.lines.append(line)


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
