"""Dataset builder pipelines: photos (``photos``) and videos (``video_dataset``)."""

from .crop import CropOptions
from .dedup import DedupOptions
from .images import ImageLoadError, load_image, probe_image
from .photos import (Cluster, DatasetResult, PhotoDatasetError, PhotoDatasetOptions, PhotoRecord,
                     build_photo_dataset, caption_step, crop_step, dedup_step, filter_step, load_result,
                     package_step, repackage, unpack_step)
from .quality import QualityOptions
from .unpack import UnpackLimits

__all__ = [
    "CropOptions", "DedupOptions", "QualityOptions", "UnpackLimits", "PhotoDatasetOptions", "PhotoDatasetError",
    "PhotoRecord", "Cluster", "DatasetResult", "build_photo_dataset", "unpack_step", "filter_step", "dedup_step",
    "crop_step", "caption_step", "package_step", "load_result", "repackage", "ImageLoadError", "load_image",
    "probe_image",
]
