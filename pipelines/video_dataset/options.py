"""The video dataset's options, defined once.

:class:`VideoOptions` is what a user sets (the REST ``options`` object, the tab's
controls, the command line's flags): each field's default, limits and help text
are written here and nowhere else. The REST schema is this model; the tab reads
its defaults and help from :func:`field_help` / :data:`DEFAULTS`; the CLI's
flags are made from it (:func:`add_cli_flags`). :meth:`VideoOptions.plan` turns
it into the pipeline's resolved :class:`~pipelines.video_dataset.build_options.VideoDatasetOptions`
(presets filled in, captions checked).

The API key is never one of these options: it travels beside them (a 0600 file
for a job) so it is never stored with the options.
"""

from __future__ import annotations

import argparse
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipelines.errors import BadInput
from pipelines.names import LINE_MAX, NO_CONTROL, ShortText, line, text_field
from pipelines.video_dataset.captioning import (
    CAPTION_PRESETS,
    DEFAULT_CAPTION_METHOD,
    DEFAULT_CAPTION_PREFIX,
    REWRITE_INSTRUCTION,
)

Preset = Literal["wan", "hunyuan", "ltx", "custom"]
CaptionMethod = Literal["tags", "simple", "detailed", "extra", "mixed", "extra_mixed", "analyze"]
assert set(CaptionMethod.__args__) == set(CAPTION_PRESETS)  # type: ignore[attr-defined]


class OptionsError(BadInput):
    """Options that cannot be used; the message names the option (HTTP 422)."""


class VideoOptions(BaseModel):
    """How to build a video dataset. Every field is optional."""

    model_config = ConfigDict(extra="forbid")

    preset: Preset = Field(
        default="wan",
        description="trainer preset: wan (16 fps), hunyuan (24 fps), ltx (25 fps) or "
        "custom (set fps)",
    )
    fps: float | None = Field(
        default=None, gt=0, le=240, description="output frame rate (custom preset, or an override)"
    )
    max_side: int | None = Field(
        default=None, ge=16, le=8192, description="longest side at most N pixels (empty: keep)"
    )
    resolution: tuple[int, int] | None = Field(
        default=None,
        description="[width, height] bucket: scale to cover, centre crop (each 16-8192)",
    )
    split: Literal["none", "fixed", "scenes"] = Field(
        default="none", description="split long videos: none, fixed-length clips, or at scene cuts"
    )
    clip_seconds: float | None = Field(
        default=None, gt=0, le=3600, description="fixed clip length; the longest scene for 'scenes'"
    )
    frame_policy: Literal["warn", "trim", "drop"] = Field(
        default="warn",
        description="trainer frame buckets: warn per clip, trim to 4k+1 frames, drop too-short clips",
    )
    caption_provider: Literal["none", "local", "api"] = Field(
        default="none",
        description="none: prefix and trigger only; local: a vision-language model in the GPU worker; "
        "api: an OpenAI-compatible server",
    )
    local_model: str = line(
        LINE_MAX,
        "Hugging Face model id or local folder (empty: the caption method's Florence-2)",
        default="",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="where the local model runs"
    )
    max_new_tokens: int = Field(
        default=96, ge=1, le=1024, description="caption length limit of the local model"
    )
    api_endpoint: str = line(
        100,
        "OpenAI-compatible API by name, as the studio lists them (STUDIO_API_ENDPOINTS; "
        "'openai' built in); bring your key as api_key",
        default="",
        examples=["openai"],
    )
    api_base_url: str = line(
        LINE_MAX,
        "OpenAI-compatible base URL: admins only (others pick api_endpoint; the URL of a "
        "configured endpoint is taken as that endpoint)",
        default="",
        examples=["https://dashscope.aliyuncs.com/compatible-mode/v1"],
    )
    api_models: list[ShortText] = Field(
        default_factory=list, max_length=16, description="API models in priority order (fallbacks)"
    )
    api_retries: int = Field(default=2, ge=0, le=10, description="retries per API model")
    caption_method: CaptionMethod = Field(
        default=DEFAULT_CAPTION_METHOD,
        description="seed 000's caption methods: tags, simple, detailed, extra, mixed, "
        "extra_mixed, analyze",
    )
    caption_frames: int = Field(
        default=1, ge=1, le=16, description="1: the first frame; N: N sampled frames merged"
    )
    rewrite: bool = Field(
        default=False,
        description="LLM rewrite of each caption through the API (seed 000's Qwen "
        "optimize); without an API it is left out, and the result says so",
    )
    rewrite_instruction: str = text_field(
        4000, "instruction of the rewrite (empty: the default)", multiline=True, default=""
    )
    prefix: str = line(
        LINE_MAX, "text at the start of every caption", default=DEFAULT_CAPTION_PREFIX
    )
    trigger: str = line(100, "trigger word put first in every caption", default="")
    make_zip: bool = Field(default=True, description="also write the dataset as a ZIP")

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and not all(16 <= v <= 8192 for v in value):
            raise ValueError("resolution must be [width, height], each 16-8192 pixels")
        return value

    @field_validator("api_models", mode="before")
    @classmethod
    def _models(cls, value: Any) -> Any:
        if isinstance(value, str):  # "a, b" or one per line, as a tab or a form sends them
            return [m.strip() for m in value.replace("\n", ",").split(",") if m.strip()]
        return value

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> VideoOptions:
        """From user JSON; :class:`OptionsError` naming every bad option."""
        if data is not None and not isinstance(data, dict):
            raise OptionsError('options must be a JSON object such as {"preset": "wan"}')
        data = {k: v for k, v in (data or {}).items() if v is not None}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise OptionsError(explain(exc)) from None

    def plan(self, api_key: str = "", has_rewrite_api: bool | None = None):
        """The pipeline's resolved options (``VideoDatasetOptions``); OptionsError for what cannot work.

        ``rewrite`` without an API base URL and model is turned off here (seed
        000: the build runs without it); :func:`rewrite_skipped` says so.
        """
        from pipelines.captions import CaptionError, CaptionOptions
        from pipelines.video_dataset.build_options import VideoDatasetOptions

        caption = CaptionOptions(
            provider=self.caption_provider,
            trigger=self.trigger.strip(),
            prefix=self.prefix,
            device=self.device,
            api_endpoint=self.api_endpoint.strip(),
            api_base_url=self.api_base_url.strip(),
            api_key=api_key or "",
            api_models=list(self.api_models),
            api_retries=self.api_retries,
            max_new_tokens=self.max_new_tokens,
        )
        if self.local_model.strip():
            caption.local_model = self.local_model.strip()
        opts = VideoDatasetOptions(
            preset=None if self.preset == "custom" else self.preset,
            fps=self.fps,
            max_side=self.max_side,
            resolution=self.resolution,
            split=self.split,
            clip_seconds=self.clip_seconds,
            frame_policy=self.frame_policy,
            caption=caption,
            caption_method=self.caption_method,
            caption_frames=self.caption_frames,
            rewrite=self.rewrite and not self.rewrite_skipped(),
            rewrite_instruction=self.rewrite_instruction or REWRITE_INSTRUCTION,
            make_zip=False,
        )
        try:
            resolved = opts.resolved()
            resolved.caption_options().check()
        except CaptionError as exc:
            raise OptionsError(str(exc)) from None
        return resolved

    def rewrite_skipped(self) -> str:
        """Why the asked-for rewrite is left out ("" when it runs or was not asked for)."""
        if self.rewrite and not (
            (self.api_endpoint.strip() or self.api_base_url.strip()) and self.api_models
        ):
            return (
                "the caption rewrite (use_qwen_optimize) needs an OpenAI-compatible API (base URL and a "
                "model); none is set, so the captions are not rewritten"
            )
        return ""

    def stored(self) -> dict[str, Any]:
        """JSON for a job's params and the dataset's record (no key: it is never an option)."""
        return self.model_dump(mode="json")


DEFAULTS: dict[str, Any] = VideoOptions().model_dump(mode="json")


def field_help(name: str) -> str:
    return VideoOptions.model_fields[name].description or ""


def explain(exc: ValidationError) -> str:
    """Pydantic's errors in one line a user reads: ``option fps: Input should be greater than 0``."""
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e["loc"]) or "options"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = f"unknown option; options are {', '.join(VideoOptions.model_fields)}"
        elif e["type"] == "string_pattern_mismatch":
            msg = "holds a control character (a NUL, or a line break where one line is asked for)"
        parts.append(f"option {where}: {msg}")
    return "bad options: " + "; ".join(parts)


# ---------------------------------------------------------------- the command line, from the same fields

_CLI_NAMES = {
    "caption_provider": "caption",
    "caption_method": "method",
    "local_model": "model",
    "api_base_url": "api-base",
    "api_endpoint": "api-endpoint",
    "api_models": "api-model",
    "frame_policy": "frames",
    "make_zip": "zip",
}


def add_cli_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per option, with the model's help, choices and default."""
    for name, info in VideoOptions.model_fields.items():
        flag = "--" + _CLI_NAMES.get(name, name).replace("_", "-")
        default = DEFAULTS[name]
        help_text = (info.description or "") + (
            f" (default {default!r})" if default not in (None, [], "") else ""
        )
        help_text = help_text.replace("%", "%%")
        annotation = info.annotation
        choices = (
            getattr(annotation, "__args__", None)
            if getattr(annotation, "__origin__", None) is Literal
            else None
        )
        if name == "make_zip":
            parser.add_argument(flag, dest=name, action="store_true", help="also write DIR.zip")
        elif isinstance(default, bool):
            parser.add_argument(flag, dest=name, action="store_true", help=help_text)
        elif name == "api_models":
            parser.add_argument(flag, dest=name, action="append", default=[], help=help_text)
        elif name == "resolution":
            parser.add_argument(
                flag, dest=name, help="WxH: scale to cover and centre-crop, e.g. 832x480"
            )
        elif choices:
            parser.add_argument(
                flag, dest=name, choices=list(choices), default=default, help=help_text
            )
        else:
            kind = {int: int, float: float}.get(type(default)) if default is not None else None
            if kind is None and name in ("fps", "clip_seconds"):
                kind = float
            if kind is None and name == "max_side":
                kind = int
            parser.add_argument(flag, dest=name, type=kind or str, default=default, help=help_text)


def from_cli(args: argparse.Namespace) -> VideoOptions:
    data = {name: getattr(args, name) for name in VideoOptions.model_fields if hasattr(args, name)}
    if data.get("resolution"):
        try:
            w, h = (int(x) for x in str(data["resolution"]).lower().split("x"))
        except ValueError:
            raise OptionsError(
                f"resolution {data['resolution']!r} must look like 832x480"
            ) from None
        data["resolution"] = (w, h)
    if data.get("make_zip") is False:
        data["make_zip"] = False
    return VideoOptions.parse(data)


__all__ = [
    "DEFAULTS",
    "NO_CONTROL",
    "OptionsError",
    "VideoOptions",
    "add_cli_flags",
    "explain",
    "field_help",
    "from_cli",
]
