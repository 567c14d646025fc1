"""The photo dataset build's options (:class:`PhotoDatasetOptions`), their JSON form for a
job record or manifest, and :meth:`PhotoDatasetOptions.check` of what cannot work.

The API/UI/CLI schema that produces them is :mod:`pipelines.photo_dataset.user_options`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from pipelines.captions import CaptionError, CaptionOptions
from pipelines.errors import BadInput

from .crop import CropOptions
from .dedup import DedupOptions
from .images import DEFAULT_MAX_PIXELS
from .quality import QualityOptions
from .subjects import SubjectError, check_insightface
from .unpack import UnpackLimits

MIN_PIXELS = 64 * 64  # the smallest max_pixels a user may set


class PhotoDatasetError(BadInput):
    """Options that cannot work; the message names the option and the fix."""


@dataclass
class PhotoDatasetOptions:
    quality: QualityOptions = field(default_factory=QualityOptions)
    dedup: DedupOptions = field(default_factory=DedupOptions)
    crop: CropOptions = field(default_factory=CropOptions)
    caption: CaptionOptions = field(default_factory=CaptionOptions)
    force_keep: list[str] = field(
        default_factory=list
    )  # source names kept whatever filter / dedup say
    force_drop: list[str] = field(default_factory=list)  # source names always dropped
    crop_overrides: dict[str, list[int]] = field(
        default_factory=dict
    )  # name -> [x0, y0, x1, y1], upright pixels
    caption_overrides: dict[str, str] = field(
        default_factory=dict
    )  # source or output name -> caption
    limits: UnpackLimits = field(default_factory=UnpackLimits)
    max_pixels: int = DEFAULT_MAX_PIXELS
    num_repeats: int = 10  # written into the trainer configs
    make_zip: bool = True

    def to_dict(self) -> dict:
        """JSON-ready options for a job record or manifest (the API key left out).

        Every caption setting but the key is kept (device, batch size, retries, identity
        words...), so a job or a re-run built from this dict captions and checks alike."""
        d = asdict(self)
        d["caption"] = {k: v for k, v in d["caption"].items() if k != "api_key"}
        return d

    @classmethod
    def from_dict(cls, data: dict) -> PhotoDatasetOptions:
        nested = {
            "quality": QualityOptions,
            "dedup": DedupOptions,
            "crop": CropOptions,
            "caption": CaptionOptions,
            "limits": UnpackLimits,
        }
        kwargs = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name in nested and isinstance(value, dict):
                known = {x.name for x in fields(nested[f.name])}
                value = nested[f.name](**{k: v for k, v in value.items() if k in known})
            kwargs[f.name] = value
        return cls(**kwargs)

    def check(self) -> None:
        if self.crop.mode not in ("square", "buckets"):
            raise PhotoDatasetError(f"crop mode {self.crop.mode!r}: use 'square' or 'buckets'")
        if not 64 <= self.crop.size <= 8192:
            raise PhotoDatasetError(
                f"crop size {self.crop.size}: use a size between 64 and 8192 pixels"
            )
        if self.crop.image_format not in ("jpg", "png"):
            raise PhotoDatasetError(f"image format {self.crop.image_format!r}: use 'jpg' or 'png'")
        if self.dedup.keep_per_cluster < 1:
            raise PhotoDatasetError("keep_per_cluster must be at least 1")
        if not MIN_PIXELS <= self.max_pixels <= DEFAULT_MAX_PIXELS:
            raise PhotoDatasetError(
                f"max_pixels {self.max_pixels}: use {MIN_PIXELS} to {DEFAULT_MAX_PIXELS} "
                "(larger pictures are refused as decompression bombs)"
            )
        if not 1 <= self.num_repeats <= 1000:
            raise PhotoDatasetError(f"num_repeats {self.num_repeats}: use 1 to 1000")
        try:
            self.caption.check()
        except CaptionError as exc:
            raise PhotoDatasetError(str(exc)) from None
        if self.dedup.use_faces:
            try:
                check_insightface(self.dedup.insightface_model_dir)
            except SubjectError as exc:
                raise PhotoDatasetError(str(exc)) from None
