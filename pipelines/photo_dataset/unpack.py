"""Gathering input photos: a ZIP, a folder (walked recursively) or a list of files.

ZIPs are unpacked safely: no entry may leave the target folder (``../``, absolute
names, drive letters), symlink entries are refused, and the number of entries, the
total unpacked size and each entry's compression ratio are limited (zip bombs).
A refused entry is listed with its reason; the rest is unpacked. Non-image files
are listed as skipped with the reason.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipelines.progress import NullProgress, Progress

from .images import HEIF, IMAGE_SUFFIXES


@dataclass
class UnpackLimits:
    max_entries: int = 20_000
    max_total_bytes: int = 20 * 1024**3  # 20 GB unpacked
    max_entry_bytes: int = 1 * 1024**3  # 1 GB per file
    max_ratio: float = 200.0  # uncompressed / compressed, per entry


@dataclass
class SourceFile:
    name: str  # unique, relative, "/"-separated: how the user recognises the file
    path: Path  # where it is on disk now


@dataclass
class Skipped:
    name: str
    reason: str


@dataclass
class Gathered:
    files: list[SourceFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _skip_reason_for_suffix(name: str) -> str | None:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return None
    if suffix in (".heic", ".heif") and not HEIF:
        return (
            "HEIC photo but pillow-heif is not installed: install it or convert the photo to JPEG"
        )
    if not suffix:
        return "no file extension: not recognised as an image"
    return f"not an image ({suffix} files are not used)"


def _ignored(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p.startswith(".") or p == "__MACOSX" for p in parts) or PurePosixPath(name).name in (
        "Thumbs.db",
        "desktop.ini",
    )


def safe_unpack_zip(
    zip_path: Path,
    target: Path,
    limits: UnpackLimits = UnpackLimits(),
    progress: Progress = NullProgress(),
    skip_reason: Callable[[str], str | None] | None = None,
) -> Gathered:
    """Unpack the images of ``zip_path`` under ``target``; refused entries listed with the reason.

    ``skip_reason(name)`` decides which entries are wanted (default: images);
    it returns why an entry is skipped, or None to unpack it."""
    skip_reason = skip_reason or _skip_reason_for_suffix
    zip_path, target = Path(zip_path), Path(target)
    out = Gathered()
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        out.skipped.append(
            Skipped(zip_path.name, f"not a readable ZIP file ({exc}); create it again")
        )
        return out
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    total = 0
    with archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        if len(entries) > limits.max_entries:
            out.skipped.append(
                Skipped(
                    zip_path.name,
                    f"{len(entries)} entries: over the limit of {limits.max_entries}; "
                    f"only the first {limits.max_entries} are read",
                )
            )
            entries = entries[: limits.max_entries]
        for index, entry in enumerate(entries):
            name = entry.filename.replace("\\", "/")
            label = f"{zip_path.name}:{name}"
            progress.update(item=name, fraction=index / max(len(entries), 1))
            pure = PurePosixPath(name)
            if (
                name.startswith("/")
                or pure.is_absolute()
                or ":" in pure.parts[0]
                or ".." in pure.parts
            ):
                out.skipped.append(Skipped(label, "unsafe path (leaves the folder): entry refused"))
                continue
            if _ignored(name):
                continue
            if stat.S_ISLNK(entry.external_attr >> 16):
                out.skipped.append(Skipped(label, "symbolic link: entry refused"))
                continue
            reason = skip_reason(name)
            if reason:
                out.skipped.append(Skipped(label, reason))
                continue
            if entry.file_size > limits.max_entry_bytes:
                out.skipped.append(
                    Skipped(
                        label, f"{entry.file_size / 1e6:.0f} MB unpacked: over the per-file limit"
                    )
                )
                continue
            ratio = entry.file_size / max(entry.compress_size, 1)
            if ratio > limits.max_ratio:
                out.skipped.append(
                    Skipped(
                        label,
                        f"compression ratio {ratio:.0f}:1 is over {limits.max_ratio:.0f}:1 "
                        "(possible zip bomb): entry refused",
                    )
                )
                continue
            if total + entry.file_size > limits.max_total_bytes:
                out.skipped.append(
                    Skipped(label, "total unpacked size limit reached: entry refused")
                )
                continue
            dest = (target / pure).resolve()
            if root not in dest.parents:
                out.skipped.append(Skipped(label, "unsafe path (leaves the folder): entry refused"))
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with archive.open(entry) as src, open(dest, "wb") as dst:
                    # never trust the header's size: count what is really written
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > entry.file_size or total + written > limits.max_total_bytes:
                            raise ValueError(
                                "entry is larger than its header says (possible zip bomb)"
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
                dest.unlink(missing_ok=True)
                out.skipped.append(Skipped(label, f"cannot unpack ({exc})"))
                continue
            total += written
            out.files.append(SourceFile(name, dest))
    return out


def gather_inputs(
    inputs,
    work_dir: Path,
    limits: UnpackLimits = UnpackLimits(),
    progress: Progress = NullProgress(),
) -> Gathered:
    """Image files from ZIPs, folders (recursive) and single files, with unique names.

    ZIPs are unpacked under ``work_dir``; folders and files are read in place.
    ``SourceFile`` items are files the caller already found (a server folder read
    through the studio's path check), ``Skipped`` items files it refused.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    out = Gathered()
    multi = len([i for i in inputs if not isinstance(i, (SourceFile, Skipped))]) > 1
    for given in inputs:
        if isinstance(given, Skipped):  # refused by the caller (a link leaving the allowed folders)
            out.skipped.append(given)
            continue
        if isinstance(given, SourceFile):  # a file the caller found and checked, with its name
            if _ignored(given.name):
                continue
            reason = _skip_reason_for_suffix(given.name)
            if reason:
                out.skipped.append(Skipped(given.name, reason))
            else:
                out.files.append(SourceFile(given.name, Path(given.path)))
            continue
        item = Path(given)
        if not item.exists():
            out.skipped.append(Skipped(str(item), "not found: check the path"))
        elif item.is_dir():
            for path in sorted(p for p in item.rglob("*") if p.is_file() or p.is_symlink()):
                rel = path.relative_to(item).as_posix()
                name = f"{item.name}/{rel}" if multi else rel
                if _ignored(rel):
                    continue
                if path.is_symlink() and item.resolve() not in path.resolve().parents:
                    out.skipped.append(
                        Skipped(name, "symbolic link pointing outside the folder: skipped")
                    )
                    continue
                reason = _skip_reason_for_suffix(rel)
                if reason:
                    out.skipped.append(Skipped(name, reason))
                else:
                    out.files.append(SourceFile(name, path))
        elif item.suffix.lower() == ".zip":
            dest = Path(work_dir) / f"unpacked_{item.stem}"
            if dest.exists():
                shutil.rmtree(dest)
            got = safe_unpack_zip(item, dest, limits, progress)
            prefix = f"{item.name}/" if multi else ""
            out.files += [SourceFile(prefix + f.name, f.path) for f in got.files]
            out.skipped += got.skipped
        else:
            reason = _skip_reason_for_suffix(item.name)
            if reason:
                out.skipped.append(Skipped(item.name, reason))
            else:
                out.files.append(SourceFile(item.name, item))
    # names must be unique (two folders may both hold IMG_0001.JPG)
    seen: dict[str, int] = {}
    for f in out.files:
        if f.name in seen:
            seen[f.name] += 1
            stem, dot, suffix = f.name.rpartition(".")
            f.name = f"{stem}~{seen[f.name]}.{suffix}" if dot else f"{f.name}~{seen[f.name]}"
        else:
            seen[f.name] = 0
    return out
