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

import base64
import http
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pipelines.progress import NullProgress, Progress, wait

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

log = logging.getLogger(__name__)

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


# --------------------------------------------------------------------------- none


class NoCaptioner:
    """Trigger word (and prefix) only: no generated text."""

    name = "none"

    def describe(self, images, instruction):
        return ["" for _ in images]

    def chat(self, text, instruction):
        raise CaptionError("Caption provider 'none' cannot rewrite text: choose provider 'api'.")


# --------------------------------------------------------------------------- local


class LocalCaptioner:
    """A transformers vision-language model, loaded once.

    Florence-2 takes a task token instead of a free instruction (``<MORE_DETAILED_CAPTION>``);
    BLIP takes no instruction; chat-template models (Qwen2.5-VL, ...) get the instruction
    as the user message with the image.
    """

    name = "local"

    def __init__(self, model, processor, model_type: str, device: str, options: CaptionOptions):
        self.model, self.processor, self.model_type = model, processor, model_type
        self.device, self.options = device, options

    def describe(self, images, instruction):
        out: list[str] = []
        size = max(1, int(self.options.batch_size))
        for start in range(0, len(images), size):
            out.extend(
                self._describe_batch(
                    [im.convert("RGB") for im in images[start : start + size]], instruction
                )
            )
        return out

    def _describe_batch(self, images, instruction):
        import torch

        processor, model = self.processor, self.model
        if self.model_type == "florence2":
            # A Florence task token given as the instruction (e.g. "<GENERATE_TAGS>"
            # of a caption preset) is used as is; else the style picks the task.
            if instruction.strip().startswith("<") and instruction.strip().endswith(">"):
                task = instruction.strip()
            else:
                task = (
                    "<MORE_DETAILED_CAPTION>"
                    if self.options.style == "sentence"
                    else "<DETAILED_CAPTION>"
                )
            inputs = processor(text=[task] * len(images), images=images, return_tensors="pt")
        elif self.model_type in ("blip",):
            inputs = processor(images=images, return_tensors="pt")
        else:
            messages = [
                {
                    "role": "user",
                    "content": [{"type": "image"}, {"type": "text", "text": instruction}],
                }
            ]
            prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
            tok = getattr(processor, "tokenizer", None)
            if tok is not None:
                tok.padding_side = "left"
            inputs = processor(
                text=[prompt] * len(images), images=images, return_tensors="pt", padding=True
            )
        inputs = inputs.to(self.device)
        dtype = next(model.parameters()).dtype
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
        with torch.inference_mode():
            generated = model.generate(
                **inputs, max_new_tokens=self.options.max_new_tokens, do_sample=False
            )
        if self.model_type not in ("florence2", "blip") and "input_ids" in inputs:
            generated = generated[:, inputs["input_ids"].shape[1] :]
        texts = processor.batch_decode(generated, skip_special_tokens=True)
        return [t.strip() for t in texts]

    def chat(self, text, instruction):
        raise CaptionError(
            "The local caption model cannot rewrite text: choose provider 'api' for the rewrite."
        )


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise CaptionError(
            "Caption device 'cuda' was asked for but no CUDA GPU is available: use 'auto' or 'cpu'."
        )
    return device


def _load_processor(name: str, model_type: str):
    """``AutoProcessor`` for ``name``; without torchvision, the processor minus its video part.

    Processors of video-capable VLMs (Qwen2-VL, Qwen2.5-VL, ...) also load a video
    processor, and in transformers 5.x those exist only with torchvision. Captions only
    need images, so when that is the one missing piece the same processor class is
    loaded without its ``video_processor`` (its image path is unchanged).
    """
    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(name)
    except (ImportError, ValueError) as exc:
        if "torchvision" not in str(exc).lower():
            raise
        import transformers
        from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

        cls = getattr(transformers, PROCESSOR_MAPPING_NAMES.get(model_type) or "", None)
        if cls is None or "video_processor" not in cls.get_attributes():
            raise ImportError(f"{exc} (install torchvision: `pip install torchvision`)") from None
        attributes = [a for a in cls.get_attributes() if a != "video_processor"]
        image_only: Any = type(
            cls.__name__, (cls,), {"get_attributes": classmethod(lambda c: list(attributes))}
        )
        return image_only.from_pretrained(name)


def _load_local(options: CaptionOptions) -> LocalCaptioner:
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    name = options.local_model
    how = (
        f"download it first (`hf download {name}`) on a machine with internet access, "
        f"into a folder named {name.split('/')[-1]!r} in the studio's models folder (STUDIO_MODELS_DIR), "
        "or set the caption model to a local folder that holds config.json and the weights"
    )
    try:
        config = AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as exc:
        raise CaptionError(
            f"Caption model {name!r} is not available: {how}. ({type(exc).__name__})"
        ) from None
    device = _pick_device(options.device)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        processor = _load_processor(name, config.model_type)
        model = AutoModelForImageTextToText.from_pretrained(name, dtype=dtype)
    except (OSError, ValueError, ImportError) as exc:
        raise CaptionError(
            f"Caption model {name!r} could not be loaded: {exc}. Check the folder or {how}."
        ) from None
    model.to(device).eval()  # type: ignore[arg-type]  # transformers types .to through a decorator mypy misreads
    return LocalCaptioner(model, processor, config.model_type, device, options)


# --------------------------------------------------------------------------- api


def redact(text: str, secret: str) -> str:
    """``text`` with every occurrence of ``secret`` (and its tail) replaced by ``***``."""
    if secret:
        text = text.replace(secret, "***")
        if len(secret) > 8:
            text = text.replace(secret[-8:], "***")
    return text


class EmptyAnswer(ValueError):
    """The server answered without text."""


def short_error(exc: BaseException) -> str:
    """What a user reads about a failed API call: the HTTP status and its reason, or
    the kind of failure; never the server's answer (it goes to the worker's log)."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "error"
        return f"HTTP {status} {reason}"
    name = type(exc).__name__
    return {
        "APITimeoutError": "timed out",
        "APIConnectionError": "could not connect",
    }.get(name, name)


class ApiCaptioner:
    """An OpenAI-compatible chat-completions server, models in priority order.

    Each model is tried ``1 + api_retries`` times with exponential backoff; then the
    next model. A model that failed all its tries is skipped for the rest of this
    captioner's life (the chain starts at the first model that worked). Errors that a
    retry cannot fix (bad key, unknown model, bad request) go to the next model at once.
    The waits between tries end at once when the job is cancelled (``progress``).
    What the server answered to a failed call is never shown to the user (status
    code and reason only): it goes to the worker's log.
    """

    name = "api"

    def __init__(
        self,
        options: CaptionOptions,
        log: Callable[[str], None] | None = None,
        progress: Progress | None = None,
    ):
        import openai

        if not options.api_base_url:
            raise CaptionError(
                "Caption provider 'api' needs the endpoint's base URL (the studio fills it in "
                "from api_endpoint; on the command line give --api-base)."
            )
        self.options = options
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=options.api_base_url,
            api_key=options.api_key or "none",
            timeout=options.api_timeout,
            max_retries=0,
        )
        self._first = 0
        self.log = log or (lambda line: None)
        self._progress = progress or NullProgress()
        self.last_model = ""

    def __repr__(self) -> str:
        return f"ApiCaptioner(base_url={self.options.api_base_url!r}, models={self.options.api_models!r})"

    def describe(self, images, instruction):
        return [self._complete(self._image_messages(im, instruction)) for im in images]

    def chat(self, text, instruction):
        messages = [{"role": "system", "content": instruction}, {"role": "user", "content": text}]
        return self._complete(messages)

    @staticmethod
    def _image_messages(image, instruction):
        image = image.convert("RGB")
        if max(image.size) > 1024:
            image = image.copy()
            image.thumbnail((1024, 1024))
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=90)
        url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        return [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": instruction},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ]

    def _complete(self, messages) -> str:
        o = self.options
        failures: list[str] = []
        fatal = (
            self._openai.AuthenticationError,
            self._openai.PermissionDeniedError,
            self._openai.NotFoundError,
            self._openai.BadRequestError,
        )
        models = o.api_models[self._first :] or o.api_models
        for index, model in enumerate(models):
            error = ""
            for attempt in range(1 + max(0, o.api_retries)):
                if attempt:
                    delay = o.api_backoff * (2 ** (attempt - 1))
                    self.log(
                        f"caption API: retry {attempt} of model {model} in {delay:.1f}s ({error})"
                    )
                    wait(delay, self._progress)
                try:
                    response = self._client.chat.completions.create(model=model, messages=messages)
                    text = (response.choices[0].message.content or "").strip()
                    if not text:
                        raise EmptyAnswer("empty answer")
                    self.last_model = model
                    return text
                except fatal as exc:
                    error = self._failed(model, exc)
                    break
                except Exception as exc:  # network, timeout, 5xx, 429, malformed answer
                    error = self._failed(model, exc)
            failures.append(f"{model}: {error}")
            if index + 1 < len(models):
                self.log(
                    f"caption API: model {model} failed ({error}); falling back to {models[index + 1]}"
                )
                self._first = o.api_models.index(models[index + 1])
        raise CaptionError(
            "Caption API failed for every model ("
            + "; ".join(failures)
            + f"). Check the endpoint {o.api_endpoint or o.api_base_url!r}, the key and the "
            "model names."
        )

    def _failed(self, model: str, exc: Exception) -> str:
        """The short error for the user; the full one (key redacted) for the worker's log."""
        log.warning(
            "caption API %s, model %s: %s",
            self.options.api_endpoint or self.options.api_base_url,
            model,
            redact(f"{type(exc).__name__}: {exc}", self.options.api_key)[:2000],
        )
        if isinstance(exc, EmptyAnswer):
            return "empty answer"
        return short_error(exc)


# --------------------------------------------------------------------------- public


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
    return _load_local(options)


_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    text = _SPACES.sub(" ", text or "").strip()
    for lead in (
        "This image shows ",
        "The image shows ",
        "In this image, ",
        "This is an image of ",
    ):
        if text.lower().startswith(lead.lower()):
            text = text[len(lead) :]
    return text.strip(" ,")


def compose_caption(raw: str, options: CaptionOptions) -> str:
    """``trigger, prefix, text``: the generated text cleaned, as a sentence or as tags."""
    text = _clean(raw)
    trigger = options.trigger.strip()
    if options.style == "tags":
        seen, tags = set(), []
        for tag in re.split(r"[,\n;]+", text):
            tag = tag.strip(" .").lower()
            if tag and tag not in seen and tag != trigger.lower():
                seen.add(tag)
                tags.append(tag)
        text = ", ".join(tags)
    parts = [trigger, options.prefix.strip().strip(","), text]
    return ", ".join(p for p in parts if p)


def check_caption(caption: str, options: CaptionOptions) -> list[str]:
    """Warnings a user should see next to a caption (missing trigger, identity word)."""
    warnings = []
    trigger = options.trigger.strip()
    if trigger and not caption.strip().startswith(trigger):
        warnings.append(f"caption does not start with the trigger word {trigger!r}")
    for word in options.identity_words:
        if word.strip() and re.search(rf"\b{re.escape(word.strip())}\b", caption, re.IGNORECASE):
            warnings.append(
                f"caption contains the identity word {word.strip()!r}: remove it so the LoRA learns the trigger word instead"
            )
    if not caption.strip():
        warnings.append("caption is empty")
    return warnings
