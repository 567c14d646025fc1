"""Small test media for dance generation: a person moving over a background,
made from scikit-image's astronaut photo (a real person, so MediaPipe finds
real poses), and a minimal pair folder. Used by the tests and the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.dance.prepare import frame_name
from pipelines.dance.video import VideoWriter

BACKGROUND = (60, 90, 120)


@dataclass
class Clip:
    path: Path
    frames: int
    width: int
    height: int
    fps: float
    boxes: list[tuple[int, int, int, int] | None]  # where the person is in each frame (x, y, w, h)


def astronaut(side: int | None = None) -> np.ndarray:
    """scikit-image's astronaut (RGB, 512×512), optionally resized."""
    import cv2
    from skimage import data

    image = np.ascontiguousarray(data.astronaut())
    if side and side != image.shape[0]:
        image = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
    return image


def write_reference(path: str | Path, side: int = 512) -> Path:
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(astronaut(side)).save(path)
    return path


def dancing_clip(
    path: str | Path,
    frames: int = 17,
    width: int = 384,
    height: int = 320,
    person: int = 240,
    step: int = 7,
    fps: float = 16.0,
    empty: set[int] | frozenset[int] = frozenset(),
) -> Clip:
    """The astronaut sliding right by ``step`` px a frame over a plain background;
    frames in ``empty`` show the background only."""
    sprite = astronaut(person)
    boxes: list[tuple[int, int, int, int] | None] = []
    y = (height - person) // 2 + 20
    with VideoWriter(path, fps, width, height) as writer:
        for k in range(frames):
            frame = np.empty((height, width, 3), dtype=np.uint8)
            frame[:] = BACKGROUND
            if k in empty:
                boxes.append(None)
            else:
                x = min(10 + k * step, width - person)
                frame[y : y + person, x : x + person] = sprite[: height - y, :]
                boxes.append((x, y, person, min(person, height - y)))
            writer.write(frame)
    return Clip(Path(path), frames, width, height, fps, boxes)


def pair_dir(folder: str | Path, frames: int = 17, side: int = 32, faces: bool = True) -> Path:
    """A minimal pair folder (no poses detected: plain drawn frames) for generator tests."""
    import cv2

    folder = Path(folder)
    for sub in ("positive", "negative", *(("face",) if faces else ())):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / "ref_image.png"), astronaut(side)[:, :, ::-1])
    for k in range(frames):
        canvas = np.zeros((side, side, 3), dtype=np.uint8)
        cv2.circle(
            canvas, (side // 4 + k % (side // 2), side // 2), max(2, side // 8), (0, 0, 255), -1
        )
        cv2.imwrite(str(folder / "positive" / frame_name(k)), canvas)
        cv2.imwrite(str(folder / "negative" / frame_name(k)), canvas[:, ::-1])
        if faces:
            cv2.imwrite(str(folder / "face" / frame_name(k)), astronaut(64)[:, :, ::-1])
    (folder / "prompt.txt").write_text("an astronaut dancing", encoding="utf-8")
    return folder
