"""SteadyDancer's input folder, made from a reference image and a driving video.

The folder ("pair dir") that ``generate_dancer.py`` reads::

    ref_image.png        the reference person (RGB PNG)
    driving_video.mp4    the dance
    prompt.txt           the text prompt
    positive/0000.jpg …  driving poses aligned to the reference (the condition)
    negative/0000.jpg …  the same poses augmented (the negative condition)
    face/0000.jpg …      the dancer's face, 512×512 (the studio's addition, for Wan-Animate)

Steps, as the job shows them: reference (its pose must be found) → poses (every
``frame_stride``-th frame of the driving video, at its own rate, up to
``frame_num``) → align (scale and offset from the reference and the first
driving skeleton) → draw (positive and negative frames at the config's size)
→ preview (the detected skeleton over the driving video beside the aligned
skeleton over the reference). Frames without a person take the nearest
detected pose and are counted; if most frames have none, it is an error. A
video shorter than ``frame_num`` holds its last pose (with a warning).
Nothing holds the whole video in memory: the video is decoded twice, frame by
frame.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.dance.config import DEFAULT_PROMPT, DanceConfig, frame_size
from pipelines.dance.poses import DETECT_SIDE
from pipelines.errors import BadInput
from pipelines.progress import NullProgress, Progress

FACE_SIDE = 512
PREVIEW_HEIGHT = 384
JPEG_QUALITY = 95
REQUIRED = ("ref_image.png", "positive", "negative")


class PrepareError(BadInput):
    """The inputs cannot make a pair folder (no person, unreadable file …)."""


@dataclass
class PrepareResult:
    input_dir: str
    frames: int  # frames written to positive/ and negative/
    width: int
    height: int
    fps: float  # of the pose frames (the video's rate / stride)
    frame_stride: int
    video_frames_used: int  # frames taken from the driving video
    frames_without_person: int
    missing_frames: list[int] = field(default_factory=list)
    padded_frames: int = 0
    warnings: list[str] = field(default_factory=list)
    alignment: dict = field(default_factory=dict)
    preview: str | None = None
    seconds: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def frame_name(index: int) -> str:
    return f"{index:04d}.jpg"


def load_reference(path: str | Path) -> np.ndarray:
    """The reference image as RGB (EXIF rotation applied)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            im = ImageOps.exif_transpose(opened)
            if im.mode in ("RGBA", "LA", "P"):
                rgba = im.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im = Image.alpha_composite(background, rgba)
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise PrepareError(f"{Path(path).name} is not a readable image ({exc}).") from None


def prepare_input(
    reference: str | Path,
    driving: str | Path,
    out_dir: str | Path,
    config: DanceConfig,
    prompt: str | None = None,
    progress: Progress | None = None,
    preview: str | Path | None = None,
    faces: bool = True,
    detector_complexity: int = 1,
) -> PrepareResult:
    """Write SteadyDancer's pair folder into ``out_dir`` (created; should be new)."""
    import cv2

    from pipelines.dance.align import apply_alignment, augment_negative, fit_alignment
    from pipelines.dance.draw import render_pose
    from pipelines.dance.poses import PoseDetector, face_box, shrink
    from pipelines.dance.video import probe_video, read_frames

    progress = progress or NullProgress()
    out = Path(out_dir)
    times: dict[str, float] = {}
    t0 = time.perf_counter()

    # 1. reference
    progress.update(stage="reference", fraction=0.0, item=Path(reference).name)
    ref_rgb = load_reference(reference)
    ref_h, ref_w = ref_rgb.shape[:2]
    for sub in ("positive", "negative", *(("face",) if faces else ())):
        (out / sub).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / "ref_image.png"), ref_rgb[:, :, ::-1])
    with PoseDetector(video=False, model_complexity=detector_complexity) as still:
        ref_pose = still.detect(ref_rgb)
    if ref_pose is None:
        raise PrepareError(
            f"No person found in the reference image {Path(reference).name}: use a photo where "
            "one person is seen from the head to at least the hips."
        )
    width, height = frame_size(config, ref_w, ref_h)
    info = probe_video(driving)
    fps = info.fps / config.frame_stride
    (out / "prompt.txt").write_text((prompt or "").strip() or DEFAULT_PROMPT, encoding="utf-8")
    _copy_driving_video(Path(driving), out / "driving_video.mp4", info.fps)
    times["reference"] = time.perf_counter() - t0

    # 2. one pass over the driving video: pose, alignment (from the first skeleton found),
    # positive and negative frames, face crop, preview; the JPEGs are written by threads
    t1 = time.perf_counter()
    wanted = config.frame_num
    video_ratio = info.width / max(info.height, 1)
    writer = _PreviewWriter(preview, ref_rgb, info, fps) if preview else None
    files = _FileWriter()
    alignment = None
    last: np.ndarray | None = None  # the aligned pose held for frames without a person
    waiting: list[int] = []  # leading frames without a person: they take the first pose found
    missing: list[int] = []
    faces_found: list[bool] = []

    def emit(index: int, aligned: np.ndarray) -> None:
        files.jpeg(out / "positive" / frame_name(index), render_pose(aligned, width, height))
        rng = np.random.default_rng([max(config.base_seed, 0), index])
        files.jpeg(
            out / "negative" / frame_name(index),
            render_pose(augment_negative(aligned, rng), width, height),
        )

    used = 0
    try:
        with PoseDetector(video=True, model_complexity=detector_complexity) as detector:
            for index, rgb in enumerate(
                read_frames(driving, stride=config.frame_stride, limit=wanted)
            ):
                progress.update(
                    stage="poses",
                    fraction=0.05 + 0.9 * index / wanted,
                    item=f"frame {index + 1}/{wanted}",
                )
                used = index + 1
                small = shrink(rgb, DETECT_SIDE)  # detection and the preview's left panel
                kps = detector.detect(small)
                box = (
                    face_box(kps, rgb.shape[1], rgb.shape[0])
                    if (faces and kps is not None)
                    else None
                )
                faces_found.append(box is not None)
                if box is not None:
                    files.jpeg(out / "face" / frame_name(index), _crop(rgb, box)[:, :, ::-1])
                if kps is None:
                    missing.append(index)
                else:
                    if alignment is None:
                        alignment = fit_alignment(ref_pose, kps, ref_w / ref_h, video_ratio)
                    last = apply_alignment(kps, alignment)
                    for earlier in waiting:
                        emit(earlier, last)
                    waiting = []
                if last is None:
                    waiting.append(index)
                else:
                    emit(index, last)
                if writer is not None:
                    writer.add(small, kps, last)
            if used == 0:
                raise PrepareError(f"{Path(driving).name} has no frames to read.")
            if len(missing) * 2 > used or last is None:
                raise PrepareError(
                    f"No person found in {len(missing)} of {used} frames of {Path(driving).name}: use a "
                    "driving video where one dancer is seen in most frames."
                )
            # 3. a video shorter than frame_num holds its last pose
            for index in range(used, wanted):
                progress.update(stage="draw", fraction=0.95, item=f"frame {index + 1}/{wanted}")
                emit(index, last)
                if writer is not None:
                    writer.add(None, None, last)
    finally:
        files.close()
        if writer is not None:
            writer.close()
    warnings = []
    if missing:
        warnings.append(
            f"No person in {len(missing)} of {used} frames ({_ranges(missing)}); they hold the "
            "nearest detected pose."
        )
    padded = max(0, wanted - used)
    if padded:
        warnings.append(
            f"The driving video gives {used} frames at stride {config.frame_stride}; the last pose is "
            f"held for {padded} more to reach frame_num {wanted}."
        )
    if faces:
        _fill_faces(out / "face", faces_found, wanted)
    times["poses"] = time.perf_counter() - t1
    progress.update(stage="done", fraction=1.0, item=f"{wanted} frames")
    return PrepareResult(
        input_dir=str(out),
        frames=wanted,
        width=width,
        height=height,
        fps=round(fps, 3),
        frame_stride=config.frame_stride,
        video_frames_used=used,
        frames_without_person=len(missing),
        missing_frames=missing,
        padded_frames=padded,
        warnings=warnings,
        alignment=alignment.to_dict() if alignment else {},
        preview=str(preview) if preview else None,
        seconds={k: round(v, 3) for k, v in times.items()},
    )


def _fill_faces(folder: Path, found: list[bool], wanted: int) -> None:
    """Frames without a face crop get the nearest earlier one (the first one for leading frames)."""
    have = [i for i, ok in enumerate(found) if ok]
    if not have:
        shutil.rmtree(folder, ignore_errors=True)
        return
    source = have[0]
    for index in range(wanted):
        if index < len(found) and found[index]:
            source = index
            continue
        shutil.copyfile(folder / frame_name(source), folder / frame_name(index))


class _FileWriter:
    """JPEGs written by two threads (OpenCV's encoder releases the GIL) while
    the next frame is decoded and detected; at most a few frames wait."""

    def __init__(self, threads: int = 2, pending: int = 8):
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dance-jpeg")
        self._pending: list = []
        self._limit = pending

    def jpeg(self, path: Path, bgr: np.ndarray) -> None:
        import cv2

        def write() -> None:
            if not cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
                raise PrepareError(f"Could not write {path}.")

        self._pending.append(self._pool.submit(write))
        while len(self._pending) > self._limit:
            self._pending.pop(0).result()

    def close(self) -> None:
        try:
            for future in self._pending:
                future.result()
        finally:
            self._pending = []
            self._pool.shutdown(wait=True)


def _crop(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    import cv2

    x, y, w, h = box
    height, width = rgb.shape[:2]
    canvas = np.zeros((h, w, 3), dtype=np.uint8)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 > x0 and y1 > y0:
        canvas[y0 - y : y1 - y, x0 - x : x1 - x] = rgb[y0:y1, x0:x1]
    return cv2.resize(
        canvas,
        (FACE_SIDE, FACE_SIDE),
        interpolation=cv2.INTER_AREA if w > FACE_SIDE else cv2.INTER_CUBIC,
    )


def _ranges(indices: list[int]) -> str:
    parts, start = [], indices[0]
    for prev, cur in zip(indices, [*indices[1:], None], strict=True):
        if cur != prev + 1:
            parts.append(f"{start}" if start == prev else f"{start}–{prev}")
            if cur is not None:
                start = cur
    text = ", ".join(parts[:8])
    return text + (" …" if len(parts) > 8 else "")


def _copy_driving_video(source: Path, target: Path, fps: float) -> None:
    """driving_video.mp4: the file itself when it is an MP4, else re-encoded."""
    from pipelines.dance.video import VideoWriter, probe_video, read_frames

    if source.suffix.lower() == ".mp4":
        shutil.copyfile(source, target)
        return
    info = probe_video(source)
    with VideoWriter(target, fps, info.width, info.height) as writer:
        for rgb in read_frames(source):
            writer.write(rgb)


def _preview_size(width: int, height: int) -> tuple[int, int]:
    """The preview's left panel: the driving frame at detection size (even sides)."""
    scale = min(1.0, DETECT_SIDE / max(width, height, 1))
    return max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2)


class _PreviewWriter:
    """Preview video: the detected skeleton over the driving frame | the aligned
    skeleton over the (dimmed) reference."""

    def __init__(self, path: str | Path, ref_rgb: np.ndarray, info: Any, fps: float):
        import cv2

        from pipelines.dance.video import VideoWriter

        self.left_w, self.h = _preview_size(info.width, info.height)
        ref_h, ref_w = ref_rgb.shape[:2]
        self.right_w = max(2, round(ref_w * self.h / ref_h) // 2 * 2)
        small = cv2.resize(ref_rgb, (self.right_w, self.h), interpolation=cv2.INTER_AREA)
        self.ref = (small * 0.45).astype(np.uint8)
        self.writer = VideoWriter(path, fps, self.left_w + self.right_w, self.h, preset="ultrafast")
        self.last_left = np.zeros((self.h, self.left_w, 3), dtype=np.uint8)

    def add(
        self,
        driving_rgb: np.ndarray | None,
        detected: np.ndarray | None,
        aligned: np.ndarray | None,
    ) -> None:
        import cv2

        from pipelines.dance.draw import overlay

        if driving_rgb is not None:
            if driving_rgb.shape[:2] != (self.h, self.left_w):
                driving_rgb = cv2.resize(
                    driving_rgb, (self.left_w, self.h), interpolation=cv2.INTER_LINEAR
                )
            self.last_left = overlay(driving_rgb, detected)
        right = overlay(self.ref, aligned)
        self.writer.write(np.concatenate([self.last_left, right], axis=1))

    def close(self) -> None:
        self.writer.close()


# -- a pair folder made elsewhere ------------------------------------------------


def check_pair_dir(path: str | Path) -> dict:
    """Check that ``path`` is a pair folder SteadyDancer can read; returns what it
    holds (frame counts, files). Raises BadInput naming what is missing."""
    folder = Path(path)
    if not folder.is_dir():
        raise BadInput(f"{path} is not a folder; give a pair folder with {', '.join(REQUIRED)}.")
    missing = [name for name in REQUIRED if not (folder / name).exists()]
    if missing:
        raise BadInput(
            f"{path} is not a SteadyDancer pair folder: {', '.join(missing)} missing (it needs "
            "ref_image.png, positive/ and negative/ with 0000.jpg, 0001.jpg …; prompt.txt and "
            "driving_video.mp4 are copied when present)."
        )
    counts = {sub: _count_frames(folder / sub) for sub in ("positive", "negative")}
    if not counts["positive"] or not counts["negative"]:
        raise BadInput(f"{path}: positive/ and negative/ need frames named 0000.jpg, 0001.jpg, …")
    return {
        "frames": min(counts.values()),
        "positive": counts["positive"],
        "negative": counts["negative"],
        "prompt": (folder / "prompt.txt").is_file(),
        "driving_video": (folder / "driving_video.mp4").is_file(),
        "face": _count_frames(folder / "face"),
    }


def _count_frames(folder: Path) -> int:
    """Consecutive frames 0000.jpg, 0001.jpg, … from the start."""
    n = 0
    while (folder / frame_name(n)).is_file():
        n += 1
    return n


def copy_pair_dir(
    source: str | Path,
    target: str | Path,
    preview: str | Path | None = None,
    progress: Progress | None = None,
) -> dict:
    """Copy a pair folder made elsewhere into ``target`` (checked first); with
    ``preview``, also a video of its positive | negative frames."""
    progress = progress or NullProgress()
    info = check_pair_dir(source)
    progress.update(stage="copy", fraction=0.1, item=str(source))
    shutil.copytree(source, target, symlinks=False, dirs_exist_ok=False)
    if not (Path(target) / "prompt.txt").is_file():
        (Path(target) / "prompt.txt").write_text(DEFAULT_PROMPT, encoding="utf-8")
    if preview:
        progress.update(stage="preview", fraction=0.6)
        pair_preview(target, preview, info["frames"])
    progress.update(stage="done", fraction=1.0)
    return info


def pair_preview(folder: str | Path, preview: str | Path, frames: int, fps: float = 16.0) -> None:
    """A video of the positive | negative frames side by side."""
    import cv2

    from pipelines.dance.video import VideoWriter

    folder = Path(folder)

    def read(path: Path) -> np.ndarray:
        image = cv2.imread(str(path))
        if image is None:
            raise PrepareError(f"{path} is not a readable JPEG.")
        return image

    h, w = read(folder / "positive" / frame_name(0)).shape[:2]
    scale = min(1.0, PREVIEW_HEIGHT / h)
    size = (max(2, round(w * scale) // 2 * 2), max(2, round(h * scale) // 2 * 2))
    with VideoWriter(preview, fps, size[0] * 2, size[1]) as writer:
        for index in range(frames):
            pair = [
                cv2.resize(
                    read(folder / sub / frame_name(index)),
                    size,
                    interpolation=cv2.INTER_AREA,
                )
                for sub in ("positive", "negative")
            ]
            writer.write(np.concatenate(pair, axis=1)[:, :, ::-1])
