"""The caption options (one place for their rules: :meth:`CaptionOptions.check`),
the providers' interface (:class:`Captioner`) and the default instructions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

PROVIDERS = ("none", "local", "api")
STYLES = ("sentence", "tags")

DEFAULT_INSTRUCTIONS = {
    "sentence": (
        "Describe this image in one or two plain sentences for a training caption: "
        "the subject, clothing, pose, expression, setting and lighting. "
        "Do not name the person. Do not start with 'This image shows'."
    ),
    "tags": (
        "List comma-separated short tags describing this image for a training caption: "
        "subject, clothing, pose, expression, setting, lighting, shot type. "
        "Do not name the person. Output only the tags."
    ),
}


class CaptionError(RuntimeError):
    """A caption provider could not produce captions; the message says why and what to do."""


# Upper bounds of the numbers a user sends (one place: CaptionOptions.check).
LIMITS: dict[str, tuple[float, float]] = {
    "batch_size": (1, 64),
    "max_new_tokens": (1, 1024),
    "api_retries": (0, 10),
    "api_timeout": (1, 600),  # seconds per request
    "api_backoff": (0, 60),  # seconds before the first retry (doubled per retry)
}


@dataclass
class CaptionOptions:
    provider: str = "none"  # "none" | "local" | "api"
    trigger: str = ""  # trigger word, put first in every caption
    prefix: str = ""  # fixed text after the trigger, before the generated text
    style: str = "sentence"  # "sentence" | "tags"
    instruction: str = ""  # prompt for the VLM / API; "" = default for the style
    local_model: str = "florence-community/Florence-2-base"  # HF id or local path
    device: str = "auto"  # auto | cpu | cuda
    batch_size: int = 4
    max_new_tokens: int = 96
    api_endpoint: str = ""  # a configured endpoint's name (STUDIO_API_ENDPOINTS)
    api_base_url: str = ""  # the URL called: the endpoint's, or an admin's typed one
    api_key: str = field(default="", repr=False)  # never logged, never in a manifest
    api_models: list[str] = field(default_factory=list)  # priority order
    api_retries: int = 2  # retries per model after the first try
    api_timeout: float = 60.0
    api_backoff: float = 1.0  # seconds before the first retry, doubled each retry
    identity_words: list[str] = field(default_factory=list)  # must not appear -> warning

    def check(self) -> None:
        """Raise :class:`CaptionError` naming the first invalid option."""
        if self.provider not in PROVIDERS:
            raise CaptionError(
                f"Unknown caption provider {self.provider!r}: use one of {', '.join(PROVIDERS)}."
            )
        if self.style not in STYLES:
            raise CaptionError(f"Unknown caption style {self.style!r}: use 'sentence' or 'tags'.")
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise CaptionError(f"Caption option {name} = {value}: use {low:g} to {high:g}.")
        if self.provider == "api":
            if not (self.api_endpoint or self.api_base_url):
                raise CaptionError(
                    "Caption provider 'api' needs an API endpoint (api_endpoint: a name the "
                    "studio lists, e.g. 'openai'; admins may give an API base URL instead)."
                )
            if not self.api_models:
                raise CaptionError("Caption provider 'api' needs at least one model name.")
        if self.provider == "local" and not self.local_model:
            raise CaptionError("Caption provider 'local' needs a model id or a local model folder.")

    def public_dict(self) -> dict:
        """The options for a manifest or job record: everything but the API key."""
        return {
            "provider": self.provider,
            "trigger": self.trigger,
            "prefix": self.prefix,
            "style": self.style,
            "instruction": self.instruction,
            "local_model": self.local_model if self.provider == "local" else "",
            "api_endpoint": self.api_endpoint if self.provider == "api" else "",
            "api_base_url": self.api_base_url if self.provider == "api" else "",
            "api_models": list(self.api_models) if self.provider == "api" else [],
        }


class Captioner(Protocol):
    def describe(self, images: list[Image.Image], instruction: str) -> list[str]:
        """One raw description per image (batched where the provider can)."""

    def chat(self, text: str, instruction: str) -> str:
        """Text-only rewrite (e.g. an LLM "optimize" of a caption)."""


def default_instruction(options: CaptionOptions) -> str:
    return options.instruction or DEFAULT_INSTRUCTIONS.get(
        options.style, DEFAULT_INSTRUCTIONS["sentence"]
    )
