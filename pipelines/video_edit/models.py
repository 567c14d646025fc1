"""Where the models are, and which mask backend a request gets.

Nothing here imports torch: the web app uses it to tell a user, before a job
is queued, that a model is missing and how to get it.

SAM3 also takes the official release's checkpoint file (``SAM3_MODEL_PATH=/path/to/sam3.pt``):
its location is the folder it is converted into (in the models folder), made on first use
(:mod:`pipelines.video_edit.sam3_checkpoint`).

Lookup order for each model: the request's ``extra`` path → the environment
variable (``INSTRUCT_PIX2PIX_MODEL_PATH``, ``SAM3_MODEL_PATH``,
``CLIPSEG_MODEL_PATH``) → a folder of that name in ``search_dirs`` (the
studio's ``STUDIO_MODELS_DIR``) → the hub id in the Hugging Face cache. A
value is a local folder or a hub id (``owner/name``); hub ids are never
downloaded here (the worker runs offline), only looked up in the cache.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.errors import BadInput
from pipelines.video_edit.sam3_checkpoint import (
    converted_folder,
    is_checkpoint_file,
    is_converted,
)

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ModelSpec:
    key: str  # ip2p | sam3 | clipseg
    title: str
    env: str
    hub_id: str
    marker: str  # the file that says "this folder is the model"
    folder_names: tuple[str, ...]
    field: str  # the request's extra field

    def how_to_get(self) -> str:
        return (
            f"download it with `hf download {self.hub_id}` (or `huggingface-cli download {self.hub_id}`) "
            f"on a machine with internet, then set {self.env} to the downloaded folder (or extra."
            f"{self.field} / --{self.field.replace('_', '-')} for one job)"
        )


IP2P = ModelSpec(
    "ip2p",
    "InstructPix2Pix",
    "INSTRUCT_PIX2PIX_MODEL_PATH",
    "timbrooks/instruct-pix2pix",
    "model_index.json",
    ("instruct-pix2pix", "instruct_pix2pix"),
    "model_path",
)
SAM3 = ModelSpec(
    "sam3", "SAM3", "SAM3_MODEL_PATH", "facebook/sam3", "config.json", ("sam3",), "sam_path"
)
CLIPSEG = ModelSpec(
    "clipseg",
    "CLIPSeg",
    "CLIPSEG_MODEL_PATH",
    "CIDAS/clipseg-rd64-refined",
    "config.json",
    ("clipseg-rd64-refined", "clipseg"),
    "clipseg_path",
)
SPECS = {spec.key: spec for spec in (IP2P, SAM3, CLIPSEG)}


class ModelMissing(BadInput):
    """A model the job needs is not on this machine; the message says how to get it."""


@dataclass(frozen=True)
class ModelLocation:
    spec: ModelSpec
    folder: Path  # the local folder the loader reads (a cache snapshot for hub ids)
    source: str  # what the user named: a path or a hub id
    origin: str  # "request", the environment variable, "models folder" or "HF cache"
    checkpoint: Path | None = None  # SAM3's official .pt, converted into ``folder`` on first use

    @property
    def key(self) -> str:
        return f"{self.spec.key}:{self.folder}"


def _has_weights(folder: Path, spec: ModelSpec) -> bool:
    if not (folder / spec.marker).is_file():
        return False
    if spec is IP2P:  # a diffusers pipeline: the UNet's weights must be there
        unet = folder / "unet"
        return unet.is_dir() and any(unet.glob("*.safetensors"))
    return any(folder.glob("*.safetensors"))


def _cached_snapshot(hub_id: str, spec: ModelSpec) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return None
    found = try_to_load_from_cache(hub_id, spec.marker)
    if isinstance(found, str):
        folder = Path(found).parent
        if _has_weights(folder, spec):
            return folder
    return None


def _resolve(
    value: str, spec: ModelSpec, origin: str, search_dirs: Sequence[Path]
) -> ModelLocation:
    """A user-named location -> a ModelLocation, or ModelMissing saying what to do."""
    named = f"{origin} ({value})" if origin != "request" else f"extra.{spec.field} ({value})"
    path = Path(value).expanduser()
    if spec is SAM3 and is_checkpoint_file(path):  # the official release's sam3.pt
        checkpoint = path.resolve()
        base = Path(search_dirs[0]) if search_dirs else checkpoint.parent
        return ModelLocation(spec, converted_folder(checkpoint, base), value, origin, checkpoint)
    if path.is_file():
        kinds = "the official sam3.pt or a transformers folder" if spec is SAM3 else "a folder"
        raise ModelMissing(f"{spec.title}: {named} is a file; give {kinds}; {spec.how_to_get()}.")
    if path.is_dir():
        if not _has_weights(path, spec):
            raise ModelMissing(
                f"{spec.title}: {named} is a folder but holds no {spec.title} weights "
                f"({spec.marker} and .safetensors files expected); {spec.how_to_get()}."
            )
        return ModelLocation(spec, path.resolve(), value, origin)
    for base in search_dirs:  # a bare folder name inside the models folder
        candidate = Path(base) / value
        if "/" not in value and candidate.is_dir() and _has_weights(candidate, spec):
            return ModelLocation(spec, candidate.resolve(), value, origin)
    if HUB_ID.match(value) and not value.startswith((".", "/", "~")):
        folder = _cached_snapshot(value, spec)
        if folder is not None:
            return ModelLocation(spec, folder, value, "HF cache")
        raise ModelMissing(
            f"{spec.title}: {named} is not in the Hugging Face cache of this machine; "
            f"{spec.how_to_get()}."
        )
    raise ModelMissing(f"{spec.title}: {named} does not exist; {spec.how_to_get()}.")


def locate(
    spec: ModelSpec,
    requested: str | None = None,
    search_dirs: Sequence[Path] = (),
    required: bool = True,
) -> ModelLocation | None:
    """Find ``spec``'s weights (see the module docstring for the order).

    A location that is *named* (request or environment variable) but missing is
    always an error; with nothing named, a missing model is an error only when
    ``required``.
    """
    if requested:
        return _resolve(requested, spec, "request", search_dirs)
    env = os.environ.get(spec.env, "").strip()
    if env:
        return _resolve(env, spec, spec.env, search_dirs)
    for base in search_dirs:
        for name in spec.folder_names:
            folder = Path(base) / name
            if folder.is_dir() and _has_weights(folder, spec):
                return ModelLocation(spec, folder.resolve(), str(folder), "models folder")
    cached = _cached_snapshot(spec.hub_id, spec)
    if cached is not None:
        return ModelLocation(spec, cached, spec.hub_id, "HF cache")
    if required:
        raise ModelMissing(f"{spec.title} is not on this machine: {spec.how_to_get()}.")
    return None


@dataclass(frozen=True)
class MaskChoice:
    backend: str  # sam3 | clipseg | mediapipe
    location: ModelLocation | None  # None for MediaPipe (inside the mediapipe wheel)


def choose_mask_backend(
    mask_prompt: str, extra: Any, search_dirs: Sequence[Path] = ()
) -> MaskChoice:
    """The mask backend for ``mask_prompt``: the one asked for, or (``auto``)
    SAM3 if its weights are here, else CLIPSeg if here, else MediaPipe selfie
    segmentation for person prompts; otherwise a BadInput naming what to install."""
    from pipelines.video_edit.masking import PERSON_WORDS, is_person_prompt

    wanted = getattr(extra, "mask_backend", "auto")
    if wanted == "mediapipe":
        if not is_person_prompt(mask_prompt):
            raise BadInput(
                f"MediaPipe masks people only; {mask_prompt!r} is not a person prompt (use one of: "
                f"{', '.join(sorted(PERSON_WORDS))}), or choose SAM3 or CLIPSeg."
            )
        return MaskChoice("mediapipe", None)
    if wanted in ("sam3", "clipseg"):
        spec = SAM3 if wanted == "sam3" else CLIPSEG
        return MaskChoice(
            wanted, locate(spec, getattr(extra, spec.field, None), search_dirs, required=True)
        )
    sam = locate(SAM3, getattr(extra, "sam_path", None), search_dirs, required=False)
    if sam is not None:
        return MaskChoice("sam3", sam)
    clipseg = locate(CLIPSEG, getattr(extra, "clipseg_path", None), search_dirs, required=False)
    if clipseg is not None:
        return MaskChoice("clipseg", clipseg)
    if is_person_prompt(mask_prompt):
        return MaskChoice("mediapipe", None)
    raise BadInput(
        f"No text segmenter for {mask_prompt!r} on this machine. The built-in MediaPipe mask covers people only "
        f"({', '.join(sorted(PERSON_WORDS))}). For other things install a text segmenter: SAM3 "
        f"({SAM3.how_to_get()}), or the lighter CLIPSeg ({CLIPSEG.how_to_get()})."
    )


def available_models(search_dirs: Sequence[Path] = ()) -> list[dict[str, Any]]:
    """What this machine has, for the tab and ``GET /video/edit/models``."""
    rows: list[dict[str, Any]] = []
    for spec in (IP2P, SAM3, CLIPSEG):
        try:
            location = locate(spec, None, search_dirs, required=True)
            assert location is not None
            rows.append(
                {
                    "model": spec.title,
                    "role": "edit" if spec is IP2P else "mask",
                    "available": True,
                    "where": str(location.folder),
                    "from": location.origin
                    + (
                        f" (official checkpoint {location.checkpoint}, converted on first use)"
                        if location.checkpoint and not is_converted(location.folder)
                        else ""
                    ),
                    "how_to_get": None,
                }
            )
        except ModelMissing as exc:
            rows.append(
                {
                    "model": spec.title,
                    "role": "edit" if spec is IP2P else "mask",
                    "available": False,
                    "where": None,
                    "from": None,
                    "how_to_get": str(exc),
                }
            )
    rows.append(
        {
            "model": "MediaPipe selfie segmentation",
            "role": "mask (people)",
            "available": _has_mediapipe(),
            "where": "built into the mediapipe package",
            "from": "mediapipe",
            "how_to_get": None if _has_mediapipe() else "pip install mediapipe==0.10.14",
        }
    )
    return rows


def _has_mediapipe() -> bool:
    import importlib.util

    return importlib.util.find_spec("mediapipe") is not None
