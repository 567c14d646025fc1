"""Which models a user may name: the one model-reference rule of every tool.

A model a user names (video edit's ``extra.model_path`` / ``sam_path`` /
``clipseg_path``, the caption ``local_model`` of photo and video datasets, the
photo dedup's ``insightface_model_dir``) must be one of:

- a folder in the models folder (``STUDIO_MODELS_DIR``), by its name (``sam3``);
- a folder inside the models folder or ``STUDIO_ALLOWED_ROOTS``, by its path
  (links resolved);
- a Hugging Face id (``owner/name``) already on this machine: a folder ``name``
  (or ``owner/name``) in the models folder, or the id in the local Hugging Face
  cache. Nothing a user names is downloaded: only the models the tools declare
  (``jobs.registry.Model``), by an admin (``POST /api/v1/models/{id}/fetch``) or,
  with ``STUDIO_FETCH_MODELS=auto``, by the job that first needs one.

:func:`model_ref` is checked when a job is submitted and again in the job. It
looks at a handful of paths only: no folder is walked (a tool that must search a
model folder does so in its job).

The declared models (:func:`declared`) are listed with where each was found
(:func:`find`, by the same rule) and fetched by :func:`fetch` into
``STUDIO_MODELS_DIR/<folder>`` (``huggingface_hub.snapshot_download``, which
resumes the files a stopped download left).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.inputs import InputError
from jobs.registry import Model
from jobs.settings import get_settings
from pipelines.errors import NotFound
from pipelines.model_download import partial_bytes, size_text
from pipelines.progress import Progress

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


def _hub_folder(hub_id: str, marker: str) -> str | None:
    """The folder of a Hub id on this machine: a complete folder ``name`` (or
    ``owner/name``) in the models folder, or the id in the Hugging Face cache."""
    models = get_settings().models_path
    for candidate in (models / hub_id.split("/")[-1], models / hub_id):
        if (candidate / marker).is_file() and not partial_bytes(candidate):
            return str(candidate.resolve())
    cached = _cached(hub_id, marker)
    return str(cached) if cached is not None else None


def model_ref(
    value: str | None,
    field: str,
    marker: str | None = CONFIG,
    progress: Progress | None = None,
) -> str | None:
    """The local folder of the model a user named as ``field`` (None when empty).

    ``marker`` is the file that says "this folder is the model" for a Hub id
    (None: the field takes folders only). InputError (422) naming the field and
    what to do, for anything else.

    A missing Hub id that a tool declares is fetched with ``STUDIO_FETCH_MODELS=auto``
    (and without ``HF_HUB_OFFLINE``): by the job (``progress`` given: the job shows a
    "downloading" stage), so at submit (no ``progress``) the id itself is returned."""
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
        found = _hub_folder(text, marker)
        if found is not None:
            return found
        model = declared_hub_id(text)
        if model is not None:
            if fetch_mode() == "auto" and not offline():
                return text if progress is None else str(fetch(model, progress))
            raise InputError(f"{field}: {missing_message(model)}")
        raise InputError(
            f"{field}: {text} is not in the Hugging Face cache of this machine, nor a folder "
            f"{text.split('/')[-1]!r} in the models folder ({models}); the studio downloads "
            f"nothing for a user. Ask an admin to run `hf download {text} --local-dir "
            f"{models / text.split('/')[-1]}`."
        )
    what = "a hub id (owner/name) or a folder" if marker else "a folder"
    raise InputError(f"{field}: {text[:200]!r} is not {what}.")


def caption_model(
    value: str | None, field: str = "local_model", progress: Progress | None = None
) -> str | None:
    """A caption model (transformers, ``config.json``) by the one rule (in a job, with
    its ``progress``: fetched first when declared, missing and STUDIO_FETCH_MODELS=auto)."""
    return model_ref(value, field, CONFIG, progress)


def model_folder(value: str | None, field: str) -> str | None:
    """A model given as a folder only (e.g. InsightFace's ``buffalo_l``), by the one rule."""
    return model_ref(value, field, None)


# --------------------------------------------------------------------------- declared models


@dataclass(frozen=True)
class Declared:
    """A model a tool declares (``jobs.registry.Tool.models``), with its id in the API."""

    tool: str
    model: Model

    @property
    def id(self) -> str:
        return f"{self.tool}.{self.model.key}"


def declared() -> list[Declared]:
    """Every tool's models, in the registry's order."""
    from jobs.registry import tools

    return [Declared(tool.name, model) for tool in tools() for model in tool.models]


def declared_model(model_id: str) -> Declared:
    for item in declared():
        if item.id == model_id:
            return item
    raise NotFound(f"No model {model_id[:100]!r}. GET /api/v1/models lists the models' ids.")


def declared_hub_id(hub_id: str) -> Model | None:
    """The declared model fetched from ``hub_id`` (the same id may serve several tools)."""
    return next((item.model for item in declared() if item.model.hub_id == hub_id), None)


def fetch_mode() -> str:
    return get_settings().fetch_models


def offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set: nothing is fetched. Read now, by
    huggingface_hub's rule (``constants.HF_HUB_OFFLINE``, which it reads once, at import)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def target(model: Model) -> Path:
    """Where a fetch puts ``model``: ``STUDIO_MODELS_DIR/<folder>``."""
    return get_settings().models_path / model.folder_name


def fetch_command(model: Model) -> str:
    """The command an admin runs to download ``model`` by hand."""
    if not model.hub_id:
        return model.how
    include = "".join(f" --include '{pattern}'" for pattern in model.patterns)
    return f"hf download {model.hub_id}{include} --local-dir {target(model)}"


def missing_message(model: Model) -> str:
    """What a user reads when a declared model is missing: the model, its size, the command."""
    if not model.hub_id:
        return f"{model.title} is not set up: {model.how}."
    size = f", about {size_text(model.size)}" if model.size else ""
    why = (
        "HF_HUB_OFFLINE=1: the studio fetches nothing"
        if offline()
        else "an admin can fetch it in Jobs / Monitor → Models (POST /api/v1/models/"
        "<id>/fetch), or set STUDIO_FETCH_MODELS=auto"
    )
    return (
        f"{model.title} ({model.hub_id}{size}) is not on this machine; {why}. "
        f"To download it by hand: `{fetch_command(model)}`."
    )


def _complete(folder: Path, marker: str) -> bool:
    if not folder.is_dir() or partial_bytes(folder):
        return False
    if marker:
        return (folder / marker).is_file()
    return any(not p.name.startswith(".") for p in folder.iterdir())


def find(model: Model) -> tuple[str | None, str]:
    """(folder, where it was found) of a declared model, or (None, why it is missing).

    The variable ``model.setting`` wins when set (a folder, or a Hub id by
    :func:`model_ref`'s rule); else the folder in the models folder, then
    :func:`model_ref`'s rule for the Hub id (the models folder and the Hub cache)."""
    from pipelines.video_edit.models import HUB_ID

    named = os.environ.get(model.setting, "").strip() if model.setting else ""
    if named:
        if HUB_ID.match(named) and not named.startswith((".", "/", "~")):
            where = _hub_folder(named, model.marker or CONFIG)
        else:
            folder = Path(named).expanduser()
            if not folder.is_absolute():  # a bare name: a folder in the models folder
                folder = get_settings().models_path / named
            where = str(folder.resolve()) if _complete(folder, model.marker) else None
        if where is not None:
            return where, model.setting
        return None, f"{model.setting}={named}: no {model.marker or 'model'} there."
    if not model.folder_name:  # only where its variable says (e.g. a code checkout)
        return None, f"missing: set {model.setting}" if model.setting else "missing"
    folder = target(model)
    if _complete(folder, model.marker):
        return str(folder.resolve()), "models folder"
    if model.hub_id and model.marker:
        where = _hub_folder(model.hub_id, model.marker)
        if where is not None:
            cache = not Path(where).is_relative_to(get_settings().models_path.resolve())
            return where, "Hugging Face cache" if cache else "models folder"
    if partial_bytes(folder):
        return None, f"partly downloaded ({size_text(partial_bytes(folder))} so far)"
    return None, "missing"


def listing(item: Declared) -> dict[str, Any]:
    """One row of ``GET /api/v1/models``."""
    model = item.model
    where, origin = find(model)
    return {
        "id": item.id,
        "tool": item.tool,
        "title": model.title,
        "role": model.role,
        "hub_id": model.hub_id or None,
        "folder": str(target(model)) if model.hub_id else None,
        "size": model.size or None,
        "present": where is not None,
        "where": where,
        "found_by": origin if where else None,
        "problem": None if where else origin,
        "setting": model.setting or None,
        "fetchable": bool(model.hub_id),
        "command": fetch_command(model),
    }


def fetch(model: Model, progress: Progress) -> Path:
    """Download ``model`` into the models folder (resuming what a stopped fetch left);
    the folder. Refused with the command to run by hand when HF_HUB_OFFLINE is set."""
    from pipelines.model_download import download

    if not model.hub_id:
        raise InputError(missing_message(model))
    if offline():
        raise InputError(missing_message(model))
    folder = target(model)
    progress.log(f"fetching {model.hub_id} into {folder}")
    return download(model.hub_id, folder, list(model.patterns) or None, progress)
