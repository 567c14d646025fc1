"""Which models a user may name: the one model-reference rule of every tool.

A model a user names (video edit's ``extra.model_path`` / ``sam_path`` /
``clipseg_path``, the caption ``local_model`` of photo and video datasets, the
photo dedup's ``insightface_model_dir``) must be one of:

- a folder in the models folder (``STUDIO_MODELS_DIR``), by its name (``sam3``);
- a folder inside the models folder or ``STUDIO_ALLOWED_ROOTS``, by its path
  (links resolved);
- a Hugging Face id (``owner/name``) already on this machine: a folder ``name``
  (or ``owner/name``) in the models folder, or the id in the local Hugging Face
  cache. Nothing is ever downloaded for a user.

:func:`model_ref` is checked when a job is submitted and again in the job. It
looks at a handful of paths only: no folder is walked (a tool that must search a
model folder does so in its job).
"""

from __future__ import annotations

from pathlib import Path

from jobs.inputs import InputError
from jobs.settings import get_settings

CONFIG = "config.json"  # the file that makes a folder a transformers model


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _cached(hub_id: str, marker: str) -> Path | None:
    """The Hugging Face cache's snapshot folder of ``hub_id`` when it holds ``marker``."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(hub_id, marker)
    except ValueError:  # not a valid repository id (e.g. "a/b..c"): not in the cache either
        return None
    return Path(found).parent if isinstance(found, str) else None


def model_ref(value: str | None, field: str, marker: str | None = CONFIG) -> str | None:
    """The local folder of the model a user named as ``field`` (None when empty).

    ``marker`` is the file that says "this folder is the model" for a Hub id
    (None: the field takes folders only). InputError (422) naming the field and
    what to do, for anything else."""
    from pipelines.video_edit.models import HUB_ID

    text = (value or "").strip()
    if not text:
        return None
    settings = get_settings()
    models = settings.models_path
    if "\x00" in text:
        raise InputError(f"{field}: the model name holds a NUL character.")
    if text.startswith(("/", "~", ".")):
        path = Path(text).expanduser().resolve()
        if not _inside(path, [models.resolve(), *settings.roots]):
            raise InputError(
                f"{field}: {text} is outside the models folder ({models}) and the allowed "
                "server folders (STUDIO_ALLOWED_ROOTS); put the model there."
            )
        if not path.is_dir():
            raise InputError(f"{field}: {text} is not a folder; name the model's folder.")
        return str(path)
    if "/" not in text:
        folder = models / text
        if not folder.is_dir():
            raise InputError(
                f"{field}: no folder {text!r} in the models folder ({models}, STUDIO_MODELS_DIR)."
            )
        return str(folder.resolve())
    if marker and HUB_ID.match(text):
        for candidate in (models / text.split("/")[-1], models / text):
            if (candidate / marker).is_file():
                return str(candidate.resolve())
        cached = _cached(text, marker)
        if cached is not None:
            return str(cached)
        raise InputError(
            f"{field}: {text} is not in the Hugging Face cache of this machine, nor a folder "
            f"{text.split('/')[-1]!r} in the models folder ({models}); the studio downloads "
            f"nothing for a user. Ask an admin to run `hf download {text} --local-dir "
            f"{models / text.split('/')[-1]}`."
        )
    what = "a hub id (owner/name) or a folder" if marker else "a folder"
    raise InputError(f"{field}: {text[:200]!r} is not {what}.")


def caption_model(value: str | None, field: str = "local_model") -> str | None:
    """A caption model (transformers, ``config.json``) by the one rule."""
    return model_ref(value, field, CONFIG)


def model_folder(value: str | None, field: str) -> str | None:
    """A model given as a folder only (e.g. InsightFace's ``buffalo_l``), by the one rule."""
    return model_ref(value, field, None)
