"""The experiment config of a dance generation: one schema for everything.

:class:`DanceConfig` holds seed 004's default config (``size``, ``frame_num``,
``sample_guide_scale``, ``condition_guide_scale``, ``end_cond_cfg``,
``base_seed``, ``cuda_visible_devices``) plus the options of the studio's own
steps (backend, pose stride and fit, sampling steps, memory switches). The REST
schemas, the tab's form defaults, the preprocessing and both backends' arguments
all derive from it; :class:`ConfigOverrides` is the same fields, all optional,
for a job that changes a few of them.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from pipelines.errors import BadInput

BACKENDS = ("steadydancer", "wan-animate")
# Sizes SteadyDancer's generate_dancer.py accepts for --task i2v-14B (wan/configs).
STEADYDANCER_SIZES = (
    "1024*576",
    "576*1024",
    "832*480",
    "480*832",
    "1280*720",
    "720*1280",
    "1024*800",
)
DEFAULT_PROMPT = (
    "A person dancing, full body, smooth natural motion, consistent identity and clothing, "
    "high quality video."
)


class DanceConfig(BaseModel):
    """An experiment's generation config (seed 004's ``config``) with its defaults."""

    model_config = ConfigDict(extra="forbid")

    size: str = Field(
        "1024*576",
        pattern=r"^\d{2,4}\*\d{2,4}$",
        description="Area of the video as width*height. The frames keep the reference's aspect at "
        "this area (SteadyDancer accepts " + ", ".join(STEADYDANCER_SIZES) + ").",
    )
    frame_num: int = Field(
        81,
        ge=5,
        le=1001,
        description="Frames to generate, of the form 4n+1 (SteadyDancer's official code "
        "handles 81).",
    )
    sample_guide_scale: float = Field(
        5.0, ge=0, le=30, description="Classifier-free guidance scale."
    )
    condition_guide_scale: float = Field(
        1.0, ge=0, le=30, description="Guidance scale of the pose condition (SteadyDancer)."
    )
    end_cond_cfg: float = Field(
        0.4,
        ge=0,
        le=1,
        description="Share of the sampling steps that use the negative (augmented) "
        "poses (SteadyDancer).",
    )
    base_seed: int = Field(106060, ge=-1, le=2**63 - 1, description="Random seed; -1 picks one.")
    cuda_visible_devices: str | None = Field(
        None,
        pattern=r"^\d{1,2}(,\d{1,2}){0,15}$",
        description='GPUs for the generator, e.g. "0" or "0,1"; empty: the worker\'s.',
    )
    backend: Literal["auto", "steadydancer", "wan-animate"] = Field(
        "auto",
        description="Generator: the official SteadyDancer code (child process) or diffusers "
        "Wan-Animate (in the GPU worker); auto picks the one installed.",
    )
    sample_steps: int | None = Field(
        None,
        ge=1,
        le=200,
        description="Sampling steps (empty: the generator's default, 40 for "
        "SteadyDancer, 20 for Wan-Animate).",
    )
    offload_model: bool | None = Field(
        None,
        description="Keep model parts on the CPU between uses: SteadyDancer's --offload_model "
        "(empty: its default), Wan-Animate's model CPU offload.",
    )
    t5_cpu: bool = Field(
        False, description="SteadyDancer --t5_cpu: keep the text encoder on the CPU."
    )
    frame_stride: int = Field(
        1,
        ge=1,
        le=16,
        description="Take every n-th frame of the driving video (1: every frame, at the "
        "video's own rate).",
    )
    pose_fit: Literal["area", "exact"] = Field(
        "area",
        description="Pose frame size: the config's area at the reference's aspect (as SteadyDancer "
        "does), or exactly width*height.",
    )

    @field_validator("cuda_visible_devices", mode="before")
    @classmethod
    def _devices_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("frame_num")
    @classmethod
    def _four_n_plus_one(cls, value: int) -> int:
        if (value - 1) % 4:
            raise ValueError(
                f"frame_num must be 4n+1 (e.g. {value - (value - 1) % 4} or "
                f"{value - (value - 1) % 4 + 4}); SteadyDancer's official code handles 81"
            )
        return value

    @field_validator("size")
    @classmethod
    def _size_bounds(cls, value: str) -> str:
        width, height = (int(v) for v in value.split("*"))
        if not (16 <= width <= 4096 and 16 <= height <= 4096):
            raise ValueError("size: width and height must be 16..4096 pixels, e.g. 1024*576")
        return value

    @property
    def width_height(self) -> tuple[int, int]:
        width, height = (int(v) for v in self.size.split("*"))
        return width, height


def _optional_fields(model: type[BaseModel]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        optional = copy.copy(info)
        optional.default = None
        fields[name] = (Optional[info.annotation], optional)  # noqa: UP045 (a runtime type)
    return fields


ConfigOverrides: type[BaseModel] = create_model(
    "ConfigOverrides",
    __config__=ConfigDict(extra="forbid"),
    __doc__=(
        "Fields of the experiment config to change for one job; empty fields keep the experiment's value."
    ),
    **_optional_fields(DanceConfig),
)


def config_error(exc: ValidationError) -> BadInput:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "config"
        parts.append(f"{where}: {err['msg']}")
    return BadInput("Bad config — " + "; ".join(parts) + ".")


def make_config(
    base: DanceConfig | dict[str, Any] | None = None,
    overrides: dict[str, Any] | BaseModel | None = None,
) -> DanceConfig:
    """``base`` (an experiment's config, or the defaults) with the non-empty
    fields of ``overrides`` on top. Raises BadInput naming the bad fields."""
    values = base.model_dump() if isinstance(base, DanceConfig) else dict(base or {})
    if isinstance(overrides, BaseModel):
        overrides = overrides.model_dump(exclude_none=True)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return DanceConfig(**values)
    except ValidationError as exc:
        raise config_error(exc) from None


def frame_size(config: DanceConfig, ref_width: int, ref_height: int) -> tuple[int, int]:
    """(width, height) of the pose frames and the video: the config's area at the
    reference's aspect, in multiples of 16 (SteadyDancer's rule), or the exact size."""
    width, height = config.width_height
    if config.pose_fit == "exact":
        return width, height
    area = width * height
    aspect = ref_height / max(ref_width, 1)
    lat_h = max(1, round(math.sqrt(area * aspect) // 16))
    lat_w = max(1, round(math.sqrt(area / aspect) // 16))
    return lat_w * 16, lat_h * 16
