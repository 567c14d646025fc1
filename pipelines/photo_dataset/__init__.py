"""Dataset builder pipelines: photos (``photos``) and videos (``video_dataset``)."""

from .crop import CropOptions
from .dedup import DedupOptions
from .images import ImageLoadError, load_image, probe_image
from .photos import (
    Cluster,
    DatasetResult,
    PhotoDatasetError,
    PhotoDatasetOptions,
    PhotoRecord,
    build_photo_dataset,
    caption_step,
    crop_step,
    dedup_step,
    filter_step,
    load_result,
    package_step,
    repackage,
    unpack_step,
)
from .quality import QualityOptions
from .unpack import UnpackLimits

__all__ = [
    "Cluster",
    "CropOptions",
    "DatasetResult",
    "DedupOptions",
    "ImageLoadError",
    "PhotoDatasetError",
    "PhotoDatasetOptions",
    "PhotoRecord",
    "QualityOptions",
    "UnpackLimits",
    "build_photo_dataset",
    "caption_step",
    "crop_step",
    "dedup_step",
    "filter_step",
    "load_image",
    "load_result",
    "package_step",
    "probe_image",
    "repackage",
    "unpack_step",
]
