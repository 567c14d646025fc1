"""Packaging: caption files, manifest.json, trainer configs and the ZIP.

The output folder holds ``NNNN.jpg|png`` + ``NNNN.txt`` pairs, ``manifest.json``
(one entry per source file: kept or dropped and why, crop box, caption, warnings),
``dataset.toml`` for diffusion-pipe and ``dataset_config.toml`` for kohya sd-scripts,
and ``dataset.zip`` with all of them.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

MANIFEST = "manifest.json"
ZIP_NAME = "dataset.zip"
DIFFUSION_PIPE_CONFIG = "dataset.toml"
KOHYA_CONFIG = "dataset_config.toml"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _toml_table(values: dict) -> str:
    return "".join(f"{key} = {_toml_value(value)}\n" for key, value in values.items())


RELATIVE_NOTE = (
    "# The path is relative to this file's folder (where the ZIP was unpacked): run the trainer\n"
    "# from this folder, or write the folder's absolute path here.\n"
)


def diffusion_pipe_toml(
    folder: Path | str, resolution: int, buckets: bool, repeats: int, relative: bool = False
) -> str:
    """diffusion-pipe's dataset config (see its examples/dataset.toml); ``relative``:
    the path is ``folder`` as given, relative to the config's own folder (the ZIP's copy)."""
    head = {"resolutions": [resolution], "enable_ar_bucket": buckets}
    if buckets:
        head |= {"min_ar": 0.5, "max_ar": 2.0, "num_ar_buckets": 7}
    head["frame_buckets"] = [1]
    path = str(folder) if relative else str(Path(folder).resolve())
    return (
        "# diffusion-pipe dataset config, written by Studio\n"
        + (RELATIVE_NOTE if relative else "")
        + _toml_table(head)
        + "\n[[directory]]\n"
        + _toml_table({"path": path, "num_repeats": repeats})
    )


def kohya_toml(
    folder: Path | str,
    resolution: int,
    buckets: bool,
    repeats: int,
    trigger: str,
    relative: bool = False,
) -> str:
    """kohya sd-scripts' dataset config (docs/config_README-en.md); ``relative`` as for
    :func:`diffusion_pipe_toml`."""
    subset = {
        "image_dir": str(folder) if relative else str(Path(folder).resolve()),
        "num_repeats": repeats,
        "caption_extension": ".txt",
    }
    if trigger:
        subset["keep_tokens"] = 1
    return (
        "# kohya sd-scripts dataset config, written by Studio\n"
        + (RELATIVE_NOTE if relative else "")
        + "[general]\n"
        + _toml_table(
            {
                "shuffle_caption": False,
                "caption_extension": ".txt",
                "keep_tokens": 1 if trigger else 0,
            }
        )
        + "\n[[datasets]]\n"
        + _toml_table(
            {
                "resolution": resolution,
                "batch_size": 1,
                "enable_bucket": buckets,
                "min_bucket_reso": 256,
                "max_bucket_reso": 2048,
                "bucket_reso_steps": 64,
                "bucket_no_upscale": True,
            }
        )
        + "\n  [[datasets.subsets]]\n"
        + "".join("  " + line for line in _toml_table(subset).splitlines(True))
    )


def write_manifest(folder: Path, manifest: dict) -> Path:
    path = Path(folder) / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    tmp.replace(path)  # never a half-written manifest
    return path


def write_zip(folder: Path, names: list[str], texts: dict[str, str] | None = None) -> Path:
    """``dataset.zip`` of ``names`` in ``folder``, plus ``texts`` (name -> content: the
    trainer configs with relative paths) written in place of files of that name."""
    folder = Path(folder)
    texts = texts or {}
    path = folder / ZIP_NAME
    tmp = folder / (ZIP_NAME + ".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name, text in texts.items():
            archive.writestr(name, text, compress_type=zipfile.ZIP_DEFLATED)
        for name in names:
            src = folder / name
            if name not in texts and src.exists():
                # images are already compressed: store them; text compresses
                kind = (
                    zipfile.ZIP_STORED
                    if src.suffix.lower() in (".jpg", ".png")
                    else zipfile.ZIP_DEFLATED
                )
                archive.write(src, name, compress_type=kind)
    tmp.replace(path)
    return path
