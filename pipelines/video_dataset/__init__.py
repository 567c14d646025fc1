"""Dataset builder for videos (seed 000): videos -> ``N.mp4`` + ``N.txt`` for
video LoRA trainers (diffusion-pipe, musubi-tuner).

Entry point: :func:`build_video_dataset`. CLI: ``python -m pipelines.video_dataset build``.
"""

from pipelines.video_dataset.buckets import PRESETS, BucketCheck, TrainerPreset, check_frames, usable_frames
from pipelines.video_dataset.build import (
    ClipRecord, SkippedFile, VideoDatasetOptions, VideoDatasetResult, build_video_dataset, collect_inputs,
)
from pipelines.video_dataset.captioning import CAPTION_PRESETS, DEFAULT_CAPTION_PREFIX, CaptionPreset
from pipelines.video_dataset.clips import ClipSpan, detect_scene_cuts, fixed_spans, scene_spans
from pipelines.video_dataset.convert import ClipResult, ConvertError, ConvertOptions, convert_clip, describe_clip
from pipelines.video_dataset.dataset import (
    DatasetNameError, DatasetSummary, dataset_exists, list_datasets, preview_grid, summarize_dataset,
    validate_dataset_name, write_dataset_toml, zip_dataset,
)
from pipelines.video_dataset.frames import extract_frames
from pipelines.video_dataset.probe import ProbeError, VideoProbe, probe_video

__all__ = [
    "PRESETS", "BucketCheck", "TrainerPreset", "check_frames", "usable_frames",
    "ClipRecord", "SkippedFile", "VideoDatasetOptions", "VideoDatasetResult", "build_video_dataset", "collect_inputs",
    "CAPTION_PRESETS", "DEFAULT_CAPTION_PREFIX", "CaptionPreset",
    "ClipSpan", "detect_scene_cuts", "fixed_spans", "scene_spans",
    "ClipResult", "ConvertError", "ConvertOptions", "convert_clip", "describe_clip",
    "DatasetNameError", "DatasetSummary", "dataset_exists", "list_datasets", "preview_grid", "summarize_dataset",
    "validate_dataset_name", "write_dataset_toml", "zip_dataset",
    "extract_frames", "ProbeError", "VideoProbe", "probe_video",
]
