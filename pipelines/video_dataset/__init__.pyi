"""The names :mod:`pipelines.video_dataset` exports (read by ``lazy_loader.attach_stub`` in
``__init__.py``, and by type checkers)."""

from .buckets import (
    PRESETS,
    BucketCheck,
    TrainerPreset,
    check_frames,
    usable_frames,
)
from .build import (
    ClipRecord,
    SkippedFile,
    VideoDatasetOptions,
    VideoDatasetResult,
    build_video_dataset,
    collect_inputs,
)
from .captioning import (
    CAPTION_PRESETS,
    DEFAULT_CAPTION_PREFIX,
    CaptionPreset,
)
from .clips import ClipSpan, detect_scene_cuts, fixed_spans, scene_spans
from .convert import (
    ClipResult,
    ConvertError,
    ConvertOptions,
    convert_clip,
    describe_clip,
)
from .dataset import (
    DatasetNameError,
    DatasetSummary,
    dataset_exists,
    list_datasets,
    preview_grid,
    summarize_dataset,
    validate_dataset_name,
    write_dataset_toml,
    zip_dataset,
)
from .frames import extract_frames
from .probe import ProbeError, VideoProbe, probe_video

__all__ = [
    "CAPTION_PRESETS",
    "DEFAULT_CAPTION_PREFIX",
    "PRESETS",
    "BucketCheck",
    "CaptionPreset",
    "ClipRecord",
    "ClipResult",
    "ClipSpan",
    "ConvertError",
    "ConvertOptions",
    "DatasetNameError",
    "DatasetSummary",
    "ProbeError",
    "SkippedFile",
    "TrainerPreset",
    "VideoDatasetOptions",
    "VideoDatasetResult",
    "VideoProbe",
    "build_video_dataset",
    "check_frames",
    "collect_inputs",
    "convert_clip",
    "dataset_exists",
    "describe_clip",
    "detect_scene_cuts",
    "extract_frames",
    "fixed_spans",
    "list_datasets",
    "preview_grid",
    "probe_video",
    "scene_spans",
    "summarize_dataset",
    "usable_frames",
    "validate_dataset_name",
    "write_dataset_toml",
    "zip_dataset",
]
