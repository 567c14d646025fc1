"""Caption providers shared by the photo and video dataset pipelines.

Three providers behind one small interface (:class:`Captioner`):

- ``none``: no generated text; the caption is the trigger word and prefix only.
- ``local``: a vision-language model loaded through transformers
  (Florence-2, BLIP, Qwen2.5-VL or any ``AutoModelForImageTextToText`` model),
  by Hugging Face id or local folder. Loaded once by :func:`load_captioner`;
  the worker keeps the returned object and passes it to every job.
- ``api``: an OpenAI-compatible chat-completions server, models tried in
  priority order, each retried with exponential backoff, then the next one.

The API key never appears in a log line, a ``repr`` or an exception text.

Example::

    options = CaptionOptions(provider="api", api_base_url="http://host/v1",
                             api_key="sk-...", api_models=["qwen-vl-max", "gpt-4o-mini"],
                             trigger="ohwx")
    captioner = load_captioner(options)
    raw = captioner.describe([image], default_instruction(options))[0]
    caption = compose_caption(raw, options)        # "ohwx, a woman smiling ..."
    warnings = check_caption(caption, options)
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.captions.api import ApiCaptioner, redact, short_error
from pipelines.captions.local import LocalCaptioner
from pipelines.captions.options import (
    DEFAULT_INSTRUCTIONS,
    LIMITS,
    PROVIDERS,
    STYLES,
    Captioner,
    CaptionError,
    CaptionOptions,
    default_instruction,
)
from pipelines.captions.text import check_caption, compose_caption
from pipelines.progress import Progress

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "LIMITS",
    "PROVIDERS",
    "STYLES",
    "ApiCaptioner",
    "CaptionError",
    "CaptionOptions",
    "Captioner",
    "LocalCaptioner",
    "NoCaptioner",
    "check_caption",
    "compose_caption",
    "default_instruction",
    "load_captioner",
    "redact",
    "short_error",
]


class NoCaptioner:
    """Trigger word (and prefix) only: no generated text."""

    name = "none"

    def describe(self, images, instruction):
        return ["" for _ in images]

    def chat(self, text, instruction):
        raise CaptionError("Caption provider 'none' cannot rewrite text: choose provider 'api'.")


def load_captioner(
    options: CaptionOptions,
    log: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> Captioner:
    """The captioner for ``options.provider``; a local model is loaded here, once.
    ``progress``: an API captioner's waits between retries end when it is cancelled."""
    options.check()
    if options.provider == "none":
        return NoCaptioner()
    if options.provider == "api":
        return ApiCaptioner(options, log=log, progress=progress)
    from pipelines.captions.local import load_local

    return load_local(options)
