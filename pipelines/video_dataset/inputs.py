"""Collect the videos of a build's input: folders searched recursively, ZIPs unpacked
safely, obvious non-videos left out with the reason."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.video_dataset.results import SkippedFile

NOT_VIDEO_EXTENSIONS = {
    ".jpg",
    ".jpeg",
    ".png",
    ".webp",
    ".bmp",
    ".tif",
    ".tiff",
    ".heic",
    ".heif",
    ".txt",
    ".json",
    ".toml",
    ".yaml",
    ".yml",
    ".csv",
    ".md",
    ".pdf",
    ".doc",
    ".docx",
    ".py",
    ".sh",
    ".html",
    ".xml",
    ".mp3",
    ".wav",
    ".flac",
    ".aac",
    ".m4a",
    ".ogg",
    ".srt",
    ".vtt",
    ".ds_store",
}


def collect_inputs(
    inputs, unpack_dir: Path, skipped: list[SkippedFile] | None = None
) -> list[Path]:
    """Files to probe, in a stable order: folders searched recursively, ZIPs unpacked
    safely into ``unpack_dir``. Obvious non-videos (images, text) are added to
    ``skipped``; everything else is probed."""
    skipped = skipped if skipped is not None else []
    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    files: list[Path] = []
    for n, item in enumerate(items):
        path = Path(item)
        if path.is_dir():
            candidates = sorted(
                p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path))
            )
        elif path.is_file() and path.suffix.lower() == ".zip":
            try:
                candidates = _unpack_zip(path, unpack_dir / f"{n}-{path.stem}", skipped)
            except ValueError as exc:
                skipped.append(SkippedFile(path, str(exc)))
                continue
        elif path.is_file():
            candidates = [path]
        else:
            skipped.append(SkippedFile(path, f"{path}: not found; check the path"))
            continue
        for p in candidates:
            ext = p.suffix.lower()
            if ext in NOT_VIDEO_EXTENSIONS or (ext == ".zip" and p != path):
                skipped.append(
                    SkippedFile(
                        p,
                        f"{p.name}: not a video ({ext or 'no extension'}); only video files are used",
                    )
                )
            else:
                files.append(p)
    return files


def _unpack_zip(path: Path, dest: Path, skipped: list[SkippedFile]) -> list[Path]:
    """Unpack with the photo pipeline's safe unpack (unsafe paths, links, zip bombs
    refused), keeping video entries; refused entries are reported as skipped files."""
    from pipelines.photo_dataset import unpack

    got = unpack.safe_unpack_zip(path, dest, skip_reason=_video_skip_reason)
    skipped.extend(SkippedFile(Path(s.name), f"{s.name}: {s.reason}") for s in got.skipped)
    return [f.path for f in got.files]


def _video_skip_reason(name: str) -> str | None:
    ext = Path(name).suffix.lower()
    if ext in NOT_VIDEO_EXTENSIONS:
        return f"not a video ({ext}); only video files are used"
    return None


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in rel.parts)
