"""The names :mod:`pipelines.video_edit` exports (read by ``lazy_loader.attach_stub`` in
``__init__.py``, and by type checkers)."""

from .models import available_models
from .options import (
    VideoEditExtra,
    VideoEditOptions,
    VideoEditRequest,
    default_output_dir,
    option_defaults,
    option_fields,
)
from .pipeline import EmptyMask, check_models, preview_mask, run_video_edit
from .status import STAGES, VideoEditStatus, get_video_edit_status, output_names

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
