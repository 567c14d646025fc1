"""The video dataset build's options (:class:`VideoDatasetOptions`): a trainer preset's
values filled in and every option checked by :meth:`VideoDatasetOptions.resolved`.

The API/CLI schema that produces them is :mod:`pipelines.video_dataset.options`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from pipelines.captions import CaptionOptions
from pipelines.errors import BadInput
from pipelines.video_dataset.buckets import FRAME_POLICIES, PRESETS
from pipelines.video_dataset.captioning import (
    DEFAULT_CAPTION_METHOD,
    DEFAULT_CAPTION_PREFIX,
    REWRITE_INSTRUCTION,
    preset_caption_options,
)
from pipelines.video_dataset.clips import SPLIT_MODES

T = TypeVar("T")


def settled(value: T | None, name: str) -> T:
    """An option :meth:`VideoDatasetOptions.resolved` fills in (a programming error if unset)."""
    if value is None:
        raise RuntimeError(f"option {name} is unset: call VideoDatasetOptions.resolved() first")
    return value


@dataclass
class VideoDatasetOptions:
    preset: str | None = "wan"  # wan | hunyuan | ltx | None (custom: set fps etc.)
    fps: float | None = None  # None: the preset's
    max_side: int | None = None  # longest side at most N pixels
    resolution: tuple[int, int] | None = None  # (w, h) bucket: scale to cover + centre crop
    split: str = "none"  # none | fixed | scenes ("fixed" when clip_seconds is set)
    clip_seconds: float | None = None  # fixed clip length; longest scene for "scenes"
    scene_threshold: float = 0.12  # 0..1 mean grey difference between samples
    frame_policy: str = (
        "warn"  # warn | trim (to multiple*k+1) | drop (shorter than smallest bucket)
    )
    frame_buckets: tuple[int, ...] | None = None  # None: the preset's
    frame_multiple: int | None = None  # None: the preset's (4; 8 for LTX)
    resolutions: tuple[int, ...] | None = None  # dataset.toml resolutions; None: the preset's
    caption: CaptionOptions = field(
        default_factory=lambda: CaptionOptions(prefix=DEFAULT_CAPTION_PREFIX)
    )
    caption_method: str | None = (
        DEFAULT_CAPTION_METHOD  # a CAPTION_PRESETS name; None: caption options as given
    )
    caption_frames: int = 1  # 1: the first frame; N: N sampled frames merged
    rewrite: bool = False  # LLM rewrite through an OpenAI-compatible API
    rewrite_instruction: str = REWRITE_INSTRUCTION
    crf: int = 18
    x264_preset: str = "fast"
    workers: int = 0  # clips converted at once; 0: by cores and memory
    write_toml: bool = True
    write_preview: bool = True
    preview_path: Path | None = (
        None  # None: DIR.preview.jpg beside the dataset folder, never inside it
    )
    make_zip: bool = False
    append: bool = False  # add to a folder that already has clips

    def caption_options(self) -> CaptionOptions:
        """The caption options the build uses: the caption method's preset applied (its
        instruction; for a local provider its model unless the user named one)."""
        if not self.caption_method:
            return self.caption
        model_given = self.caption.local_model != CaptionOptions().local_model
        return preset_caption_options(self.caption, self.caption_method, model_given=model_given)

    @property
    def out_fps(self) -> float:
        """The output frame rate of resolved options."""
        return settled(self.fps, "fps")

    @property
    def buckets(self) -> tuple[int, ...]:
        """The frame buckets of resolved options."""
        return settled(self.frame_buckets, "frame_buckets")

    @property
    def multiple(self) -> int:
        """The frame multiple of resolved options."""
        return settled(self.frame_multiple, "frame_multiple")

    @property
    def toml_resolutions(self) -> tuple[int, ...]:
        """The dataset.toml resolutions of resolved options."""
        return settled(self.resolutions, "resolutions")

    def resolved(self) -> VideoDatasetOptions:
        """Fill preset values and check everything; raises ValueError naming the bad option."""
        preset = None
        if self.preset:
            if self.preset not in PRESETS:
                raise BadInput(
                    f"unknown preset {self.preset!r}: use one of {', '.join(PRESETS)} or none (custom)"
                )
            preset = PRESETS[self.preset]
        fps = self.fps or (preset.fps if preset else None)
        if not fps or fps <= 0 or fps > 240:
            raise BadInput(
                "frame rate must be between 0 and 240 fps (or choose a preset: wan, hunyuan, ltx)"
            )
        split = self.split or "none"
        if split == "none" and self.clip_seconds:
            split = "fixed"
        if split not in SPLIT_MODES:
            raise BadInput(f"unknown split mode {split!r}: use one of {', '.join(SPLIT_MODES)}")
        if split == "fixed" and not (self.clip_seconds and self.clip_seconds > 0):
            raise BadInput("splitting into fixed-length clips needs a clip length in seconds (> 0)")
        if self.frame_policy not in FRAME_POLICIES:
            raise BadInput(
                f"unknown frame policy {self.frame_policy!r}: use one of {', '.join(FRAME_POLICIES)}"
            )
        if self.max_side is not None and self.max_side < 16:
            raise BadInput("max side must be at least 16 pixels")
        if self.caption_frames < 1 or self.caption_frames > 16:
            raise BadInput("frames to caption must be between 1 and 16")
        return replace(
            self,
            fps=float(fps),
            split=split,
            frame_buckets=tuple(
                self.frame_buckets or (preset.frame_buckets if preset else (1, 33, 65))
            ),
            frame_multiple=self.frame_multiple or (preset.frame_multiple if preset else 4),
            resolutions=tuple(self.resolutions or (preset.resolutions if preset else (512,))),
        )
