"""What a video edit is asked to do: seed 003's request, defined once.

:class:`VideoEditOptions` holds the tunable settings with the seed's names,
defaults, limits and help text; :class:`VideoEditRequest` adds the job id,
the input video, the output folder and the two prompts. The REST schema, the
tab's Advanced accordion, the command-line flags and the Python API all read
their defaults and limits from these two classes.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from pipelines.errors import BadInput
from pipelines.names import text_rule

Mode = Literal["single_frame", "video"]
MaskBackendName = Literal["auto", "sam3", "clipseg", "mediapipe"]

JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
PROMPT_MAX = 300
PATH_MAX = 1000

MaskPrompt = Annotated[str, text_rule(PROMPT_MAX, strip=True, min_length=1)]
EditPrompt = Annotated[str, text_rule(PROMPT_MAX, strip=True, min_length=1)]
JobId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=JOB_ID_PATTERN)]
ModelRef = Annotated[str, text_rule(PATH_MAX, strip=True)]

OUTPUT_DIR_ENV = "UR_EDIT_OUTPUT_DIR"
MAX_GPUS = 16  # the most GPUs of one machine an edit may ask for
MAX_FRAME_STEPS = 100_000  # frames × denoising steps of one edit (a minute of 30 fps at 50 steps)


class VideoEditExtra(BaseModel):
    """Seed 003's ``extra``: model locations, plus the masking and working-size knobs."""

    model_config = ConfigDict(extra="forbid")

    model_path: ModelRef | None = Field(
        None,
        description="InstructPix2Pix: a diffusers folder or a hub id in the HF cache. Default: "
        "INSTRUCT_PIX2PIX_MODEL_PATH, else timbrooks/instruct-pix2pix if downloaded.",
    )
    sam_path: ModelRef | None = Field(
        None,
        description="SAM3: a transformers folder or a hub id in the HF cache. Default: SAM3_MODEL_PATH, "
        "else facebook/sam3 if downloaded.",
    )
    clipseg_path: ModelRef | None = Field(
        None,
        description="CLIPSeg (lighter text segmenter): a folder or hub id. Default: CLIPSEG_MODEL_PATH, "
        "else CIDAS/clipseg-rd64-refined if downloaded.",
    )
    mask_backend: MaskBackendName = Field(
        "auto",
        description="auto: SAM3 if present, else CLIPSeg if present, else MediaPipe for person "
        "prompts (built in).",
    )
    mask_threshold: float = Field(
        0.5, ge=0.05, le=0.95, description="mask probability above which a pixel is masked"
    )
    feather: int = Field(
        6, ge=0, le=100, description="soft edge of the mask, in pixels (Gaussian sigma)"
    )
    working_size: int = Field(
        512,
        ge=32,
        le=1024,
        multiple_of=8,
        description="long side, in pixels, of the crop the edit model sees",
    )
    batch_size: int = Field(4, ge=1, le=32, description="frames edited at once (GPU)")


class VideoEditOptions(BaseModel):
    """The settings of a video edit (seed 003's names and defaults)."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = Field(
        "video",
        description="single_frame: edit one frame (frame_index) as a quick test; "
        "video: the whole clip",
    )
    max_frames: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="process at most this many frames from the start (empty: all)",
    )
    image_guidance_scale: float = Field(
        1.5, ge=0.0, le=20.0, description="how closely the edit keeps the input picture"
    )
    guidance_scale: float = Field(
        9.0, ge=0.0, le=50.0, description="how strongly the edit follows the text"
    )
    erode_kernel: int = Field(
        10,
        ge=0,
        le=200,
        description="mask erosion kernel in pixels: shrinks the mask away from its edge",
    )
    num_inference_steps: int = Field(50, ge=1, le=500, description="denoising steps per frame")
    apply_smoothing: bool = Field(
        True, description="smooth the mask and the edited pixels over time"
    )
    smoothing_window: int = Field(
        5, ge=1, le=61, description="frames in the temporal smoothing window"
    )
    smoothing_alpha: float = Field(
        0.3, ge=0.0, le=1.0, description="weight of the window's mean against the frame itself"
    )
    seed: int = Field(
        42, ge=0, le=2**32 - 1, description="noise seed; the same initial noise for every frame"
    )
    frame_index: int = Field(
        0, ge=0, le=10_000_000, description="the frame single_frame mode and previews use"
    )
    keep_intermediates: bool = Field(
        False,
        description="also keep the raw masks ({job_id}_masks.zip, one PNG a frame) and the "
        "edited frames before blending ({job_id}_edited_frames.mkv)",
    )
    gpus: int | None = Field(
        None,
        ge=1,
        le=MAX_GPUS,
        description="GPUs InstructPix2Pix is spread over (device_map='balanced'), at most those "
        "this process sees; empty: all of them. In the studio: the GPUs of one machine the job "
        "waits for and gets (empty: one)",
    )
    extra: VideoEditExtra = Field(default_factory=lambda: VideoEditExtra.model_validate({}))

    @model_validator(mode="after")
    def _bounded_work(self) -> VideoEditOptions:
        if self.mode == "video" and self.max_frames is not None:
            work = self.max_frames * self.num_inference_steps
            if work > MAX_FRAME_STEPS:
                raise ValueError(
                    f"max_frames × num_inference_steps = {work} is more than {MAX_FRAME_STEPS}; "
                    "edit fewer frames or use fewer steps"
                )
        return self

    def check_work(self, clip_frames: int) -> None:
        """BadInput when editing ``clip_frames`` frames (the clip's) would pass the bound."""
        frames = (
            1 if self.mode == "single_frame" else min(clip_frames, self.max_frames or clip_frames)
        )
        if frames * self.num_inference_steps > MAX_FRAME_STEPS:
            raise BadInput(
                f"The clip's {frames} frames × {self.num_inference_steps} steps = "
                f"{frames * self.num_inference_steps} is more than {MAX_FRAME_STEPS} frame-steps: "
                "set max_frames, lower num_inference_steps, or cut the clip."
            )


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


class VideoEditRequest(VideoEditOptions):
    """One video edit: seed 003's ``VideoEditRequest``."""

    job_id: JobId = Field(
        default_factory=new_job_id,
        description="unique id; names the output files ({job_id}_output.mp4, ...)",
    )
    input_video_path: Path = Field(description="the clip to edit")
    output_dir: Path | None = Field(
        None,
        description="where the outputs go (default: UR_EDIT_OUTPUT_DIR/"
        "<job_id>, else ./outputs/<job_id>)",
    )
    mask_prompt: MaskPrompt = Field(
        description="what to mask, e.g. 'hair', 'person', 'the red car'"
    )
    edit_prompt: EditPrompt = Field(description="what to do with it, e.g. 'make the hair red'")

    def resolved_output_dir(self) -> Path:
        return Path(self.output_dir) if self.output_dir else default_output_dir(self.job_id)

    def options(self) -> VideoEditOptions:
        return VideoEditOptions.model_validate(
            self.model_dump(include=set(VideoEditOptions.model_fields))
        )


def default_output_dir(job_id: str) -> Path:
    """``$UR_EDIT_OUTPUT_DIR/<job_id>``, else ``./outputs/<job_id>``."""
    base = os.environ.get(OUTPUT_DIR_ENV, "").strip()
    return Path(base or "outputs") / job_id


def option_defaults() -> dict[str, Any]:
    """Every option's default, ``extra`` flattened (what the tab and the CLI start from)."""
    values = VideoEditOptions.model_validate({}).model_dump()
    values.update(values.pop("extra"))
    return values


def option_fields() -> dict[str, Any]:
    """name -> pydantic FieldInfo for every option, ``extra`` flattened."""
    fields = {k: v for k, v in VideoEditOptions.model_fields.items() if k != "extra"}
    fields.update(VideoEditExtra.model_fields)
    return fields


def nest_extra(flat: dict[str, Any]) -> dict[str, Any]:
    """Flat option values (as the CLI and the tab hold them) -> VideoEditOptions' shape."""
    top = {k: v for k, v in flat.items() if k in VideoEditOptions.model_fields and k != "extra"}
    extra = {k: v for k, v in flat.items() if k in VideoEditExtra.model_fields}
    if extra:
        top["extra"] = extra
    return top
