"""The ``api`` provider: an OpenAI-compatible chat-completions server, models in
priority order, each retried with exponential backoff. The API key never appears
in a log line, a ``repr`` or an exception text."""

from __future__ import annotations

import base64
import http
import io
import logging
from collections.abc import Callable

from pipelines.captions.options import CaptionError, CaptionOptions
from pipelines.progress import NullProgress, Progress, wait

log = logging.getLogger(__name__)


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
