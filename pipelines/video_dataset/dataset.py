"""The dataset on disk: ``N.mp4`` + ``N.txt``, ``dataset.toml``, preview grid, ZIP,
names and summaries (for the "list datasets" view)."""

from __future__ import annotations

import re
import textwrap
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.names import DatasetNameError, validate_dataset_name  # noqa: F401 (re-exported)
from pipelines.video_probe import VideoProbeError, open_video

DATASET_TOML = "dataset.toml"
PREVIEW_NAME = "preview.jpg"
_CLIP_RE = re.compile(r"^(\d+)\.mp4$")


def dataset_exists(root: str | Path, name: str) -> bool:
    """True when ``root/name`` already exists (the caller answers 409)."""
    return (Path(root) / validate_dataset_name(name)).exists()


def clip_numbers(directory: str | Path) -> list[int]:
    """Numbers ``N`` of the ``N.mp4`` files in ``directory``, sorted."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(int(m.group(1)) for p in directory.iterdir() if (m := _CLIP_RE.match(p.name)))


@dataclass
class DatasetSummary:
    name: str
    path: Path
    clips: int  # N.mp4 files
    captions: int  # of them with a non-empty N.txt
    total_duration: float  # seconds
    total_frames: int
    fps: list[float] = field(default_factory=list)  # distinct frame rates
    size_bytes: int = 0
    unreadable: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "clips": self.clips,
            "captions": self.captions,
            "total_duration": round(self.total_duration, 3),
            "total_frames": self.total_frames,
            "fps": self.fps,
            "size_bytes": self.size_bytes,
            "unreadable": self.unreadable,
        }


def summarize_dataset(directory: str | Path) -> DatasetSummary:
    """Count clips and captions and add up durations by reading the folder (headers only)."""
    import av

    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"dataset folder {directory} does not exist")
    clips = captions = frames = size = 0
    duration = 0.0
    rates: set[float] = set()
    unreadable: list[str] = []
    for n in clip_numbers(directory):
        mp4, txt = directory / f"{n}.mp4", directory / f"{n}.txt"
        clips += 1
        size += mp4.stat().st_size
        if txt.is_file():
            size += txt.stat().st_size
            if txt.read_text(encoding="utf-8", errors="replace").strip():
                captions += 1
        try:
            with open_video(mp4) as c:
                s = c.streams.video[0]
                duration += (
                    float(s.duration * s.time_base)
                    if s.duration and s.time_base
                    else (c.duration or 0) / 1e6
                )
                frames += int(s.frames or 0)
                if s.average_rate:
                    rates.add(round(float(s.average_rate), 3))
        except (av.FFmpegError, IndexError, VideoProbeError):
            unreadable.append(mp4.name)
    return DatasetSummary(
        name=directory.name,
        path=directory,
        clips=clips,
        captions=captions,
        total_duration=duration,
        total_frames=frames,
        fps=sorted(rates),
        size_bytes=size,
        unreadable=unreadable,
    )


def list_datasets(root: str | Path) -> list[DatasetSummary]:
    """Summaries of every dataset folder (one with ``N.mp4`` files) under ``root``."""
    root = Path(root)
    if not root.is_dir():
        return []
    return [summarize_dataset(p) for p in sorted(root.iterdir()) if p.is_dir() and clip_numbers(p)]


def write_dataset_toml(
    directory: str | Path,
    frame_buckets: tuple[int, ...] | list[int],
    resolutions: tuple[int, ...] | list[int],
    num_repeats: int = 1,
) -> Path:
    """diffusion-pipe's dataset config for this folder; returns its path."""
    directory = Path(directory).resolve()
    out = directory / DATASET_TOML
    out.write_text(
        dataset_toml_text(directory.as_posix(), frame_buckets, resolutions, num_repeats),
        encoding="utf-8",
    )
    return out


def dataset_toml_text(path: str, frame_buckets, resolutions, num_repeats: int = 1) -> str:
    """The text of diffusion-pipe's dataset config; ``path`` "." is the config's own
    folder (the ZIP's copy), else an absolute folder."""
    res = ", ".join(str(r) if isinstance(r, int) else f"[{r[0]}, {r[1]}]" for r in resolutions)
    where = (
        "# 'path' is relative to this file's folder (where the ZIP was unpacked): run the trainer\n"
        "# from this folder, or write the folder's absolute path here.\n"
        if path == "."
        else "# Point 'path' at this folder on the training machine if you move it.\n"
    )
    return (
        "# diffusion-pipe dataset config, written by Studio's video dataset builder.\n"
        + where
        + f"resolutions = [{res}]\n"
        "enable_ar_bucket = true\n"
        "min_ar = 0.5\n"
        "max_ar = 2.0\n"
        "num_ar_buckets = 7\n"
        f"frame_buckets = [{', '.join(str(int(b)) for b in frame_buckets)}]\n"
        "\n"
        "[[directory]]\n"
        f"path = '{path}'\n"
        f"num_repeats = {int(num_repeats)}\n"
    )


def preview_beside(directory: str | Path) -> Path:
    """Where the preview of a dataset folder goes by default: ``DIR.preview.jpg`` next to it."""
    directory = Path(directory)
    return directory.with_name(f"{directory.name}.preview.jpg")


def preview_grid(
    directory: str | Path,
    out: str | Path | None = None,
    columns: int = 4,
    cell: int = 256,
    caption_lines: int = 4,
    limit: int = 64,
):
    """A JPEG contact sheet: each clip's first frame with its number and caption.

    Returns the path written to (``out``; ``DIR.preview.jpg`` beside the folder when
    ``out`` is ``True``), or the PIL image when ``out`` is None. Never inside the
    training folder: a trainer would take it for a sample.
    """
    from PIL import Image, ImageDraw, ImageFont

    from pipelines.video_dataset.frames import extract_frames

    directory = Path(directory)
    numbers = clip_numbers(directory)[:limit]
    font = ImageFont.load_default(size=13)
    line_h = 16
    chars = max(cell // 7, 10)
    cell_h = cell + line_h * (caption_lines + 1) + 8
    rows = max((len(numbers) + columns - 1) // columns, 1)
    sheet = Image.new("RGB", (columns * cell, rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, n in enumerate(numbers):
        x, y = (i % columns) * cell, (i // columns) * cell_h
        try:
            thumb = extract_frames(directory / f"{n}.mp4", 1, max_side=cell)[0]
            sheet.paste(thumb, (x + (cell - thumb.width) // 2, y + (cell - thumb.height) // 2))
        except Exception:  # an unreadable clip shows as a grey cell
            draw.rectangle([x + 4, y + 4, x + cell - 4, y + cell - 4], fill="#ccc")
        txt = directory / f"{n}.txt"
        caption = txt.read_text(encoding="utf-8", errors="replace").strip() if txt.is_file() else ""
        lines = [f"{n}.mp4", *textwrap.wrap(caption, chars)[:caption_lines]]
        for j, line in enumerate(lines):
            draw.text((x + 4, y + cell + 4 + j * line_h), line, fill="black", font=font)
    if not out:
        return sheet
    path = preview_beside(directory) if out is True else Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, "JPEG", quality=85)
    return path


def zip_dataset(directory: str | Path, zip_path: str | Path | None = None) -> Path:
    """ZIP the dataset (``N.mp4``, ``N.txt``, ``dataset.toml``) under the
    dataset's name; returns the ZIP's path (default: next to the folder)."""
    directory = Path(directory)
    zip_path = Path(zip_path) if zip_path else directory.with_suffix(".zip")
    tmp = zip_path.with_name(f".{zip_path.name}.partial")
    names = []
    for n in clip_numbers(directory):
        names += [f"{n}.mp4"] + ([f"{n}.txt"] if (directory / f"{n}.txt").is_file() else [])
    names += [DATASET_TOML] if (directory / DATASET_TOML).is_file() else []
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in names:
            arcname = f"{directory.name}/{name}"
            if (
                name == DATASET_TOML
            ):  # the ZIP's copy names its own folder: ".", not this server's path
                zf.writestr(
                    arcname,
                    _relative_toml((directory / name).read_text(encoding="utf-8")),
                    compress_type=zipfile.ZIP_DEFLATED,
                )
                continue
            kind = zipfile.ZIP_STORED if name.endswith((".mp4", ".jpg")) else zipfile.ZIP_DEFLATED
            zf.write(directory / name, arcname, compress_type=kind)
    tmp.replace(zip_path)
    return zip_path


def _relative_toml(text: str) -> str:
    """A dataset.toml with its directory path(s) replaced by "." and the note on relative paths."""
    import tomllib

    config = tomllib.loads(text)
    resolutions = config.get("resolutions", [512])
    repeats = (config.get("directory") or [{}])[0].get("num_repeats", 1)
    return dataset_toml_text(".", config.get("frame_buckets", [1]), resolutions, repeats)
