"""Dataset builder for videos (seed 000): videos -> ``N.mp4`` + ``N.txt`` for
video LoRA trainers (diffusion-pipe, musubi-tuner).

Entry point: :func:`build_video_dataset`. CLI: ``python -m pipelines.video_dataset build``.
"""

from pipelines.video_dataset.buckets import (
    PRESETS,
    BucketCheck,
    TrainerPreset,
    check_frames,
    usable_frames,
)
from pipelines.video_dataset.build import (
    ClipRecord,
    SkippedFile,
    VideoDatasetOptions,
    VideoDatasetResult,
    build_video_dataset,
    collect_inputs,
)
from pipelines.video_dataset.captioning import (
    CAPTION_PRESETS,
    DEFAULT_CAPTION_PREFIX,
    CaptionPreset,
)
from pipelines.video_dataset.clips import ClipSpan, detect_scene_cuts, fixed_spans, scene_spans
from pipelines.video_dataset.convert import (
    ClipResult,
    ConvertError,
    ConvertOptions,
    convert_clip,
    describe_clip,
)
from pipelines.video_dataset.dataset import (
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
from pipelines.video_dataset.frames import extract_frames
from pipelines.video_dataset.probe import ProbeError, VideoProbe, probe_video

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
