"""Video edit (seed 003): a text-prompted mask ("hair", "person", "the red car")
and an instruction edit ("make the hair red") of the masked region of every
frame, temporally smoothed.

Python API (seed 003's names)::

    from pipelines.video_edit import VideoEditRequest, run_video_edit, get_video_edit_status

    run_video_edit(VideoEditRequest(job_id="test_001", input_video_path=Path("clip.mp4"),
                                    output_dir=Path("outputs/test_001"), mask_prompt="hair",
                                    edit_prompt="make the hair red", max_frames=60))
    status = get_video_edit_status("test_001", Path("outputs/test_001"))

Command line: ``python -m pipelines.video_edit INPUT --mask-prompt P --edit-prompt E``.

Importing this package loads no model library: torch, diffusers, transformers
and mediapipe are imported when a job needs them.
"""

from __future__ import annotations

from pipelines.video_edit.models import available_models
from pipelines.video_edit.options import (
    VideoEditExtra,
    VideoEditOptions,
    VideoEditRequest,
    default_output_dir,
    option_defaults,
    option_fields,
)
from pipelines.video_edit.pipeline import EmptyMask, check_models, preview_mask, run_video_edit
from pipelines.video_edit.status import STAGES, VideoEditStatus, get_video_edit_status, output_names

__all__ = [
    "STAGES",
    "EmptyMask",
    "VideoEditExtra",
    "VideoEditOptions",
    "VideoEditRequest",
    "VideoEditStatus",
    "available_models",
    "check_models",
    "default_output_dir",
    "get_video_edit_status",
    "option_defaults",
    "option_fields",
    "output_names",
    "preview_mask",
    "run_video_edit",
]
