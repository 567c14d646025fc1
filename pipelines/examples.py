"""The example media every tab opens with, made from what ships offline.

scikit-image's photos (the astronaut has a face and a pose MediaPipe finds) and
drawn frames encoded with PyAV (H.264), written once into ``<home>/examples/``:
a file already there is kept, a new one is written beside and renamed into place,
so two processes starting at once never see half a file. Each tab asks for its
own examples when it is built (:func:`photos`, :func:`videos`, :func:`recording`,
:func:`video_edit`, :func:`dance`); all of them together take about a second.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

FOLDER = "examples"
PHOTO_SIDE = 640  # the photo tool's default minimum is 512 px on the shorter side


def folder(home: str | Path) -> Path:
    return Path(home) / FOLDER


def _made(path: Path, write: Callable[[Path], object]) -> Path:
    """``path``, written by ``write(temporary path)`` unless it is already there."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.stem}.{os.getpid()}.part{path.suffix}")
    try:
        write(part)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return path


def _photo(name: str) -> np.ndarray:
    """A scikit-image photo as RGB, scaled so its shorter side is ``PHOTO_SIDE``."""
    import cv2
    from skimage import data

    image = np.asarray(getattr(data, name)())
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=2)
    image = np.ascontiguousarray(image[:, :, :3])
    h, w = image.shape[:2]
    scale = PHOTO_SIDE / min(h, w)
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)


def _save(image: Callable[[], np.ndarray], quality: int = 90) -> Callable[[Path], object]:
    """A writer of ``image()`` as a JPEG: the image is made only when the file is missing
    (a studio starting on a home that has its examples imports neither OpenCV nor
    scikit-image)."""

    def write(path: Path) -> None:
        from PIL import Image

        Image.fromarray(image()).save(path, format="JPEG", quality=quality)

    return write


def _blurred(image: Callable[[], np.ndarray]) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(image(), (0, 0), 9)


def photos(home: str | Path) -> list[Path]:
    """Five photos: the astronaut, a near-duplicate of it (recompressed), a blurry copy
    of it, the coffee cup and the cat: the build keeps three and says why for the rest."""
    d = folder(home) / "photos"
    astronaut = functools.cache(lambda: _photo("astronaut"))
    return [
        _made(d / "astronaut.jpg", _save(astronaut)),
        _made(d / "astronaut_again.jpg", _save(astronaut, quality=45)),
        _made(d / "astronaut_blurry.jpg", _save(lambda: _blurred(astronaut))),
        _made(d / "coffee.jpg", _save(lambda: _photo("coffee"))),
        _made(d / "chelsea.jpg", _save(lambda: _photo("chelsea"))),
    ]


def _walking(path: Path) -> object:
    from pipelines.dance.synthetic import dancing_clip

    return dancing_clip(path, frames=33, step=4)


def walking(home: str | Path) -> Path:
    """A person (the astronaut) walking across the picture: 2 s, 384×320, 16 fps."""
    return _made(folder(home) / "person_walking.mp4", _walking)


def _pan(path: Path, frames: int = 32, width: int = 384, height: int = 256) -> None:
    """A slow pan over the coffee cup."""
    from pipelines.dance.video import VideoWriter

    image = _photo("coffee")
    travel = image.shape[1] - width
    with VideoWriter(path, 16, width, height) as writer:
        for k in range(frames):
            x = travel * k // max(1, frames - 1)
            writer.write(image[:height, x : x + width])


def videos(home: str | Path) -> list[Path]:
    """Two short clips: the person walking and a pan over a coffee cup."""
    return [walking(home), _made(folder(home) / "coffee_pan.mp4", _pan)]


def _launch(path: Path) -> object:
    from pipelines.frames.synthetic import make_recording

    return make_recording(path, width=360, height=800, fps=30, seed=1)


def recording(home: str | Path) -> Path:
    """A phone screen recording of an app launch (tap → splash → page), about 5 s."""
    return _made(folder(home) / "app_launch.mp4", _launch)


VIDEO_EDIT_PROMPTS = ("person", "make it look like a bronze statue")


def video_edit(home: str | Path) -> tuple[Path, str, str]:
    """The walking person, what to mask and what to do."""
    return (walking(home), *VIDEO_EDIT_PROMPTS)


def dance(home: str | Path) -> tuple[Path, Path]:
    """A reference photo of a person and a short driving dance."""
    from pipelines.dance.synthetic import write_reference

    reference = _made(folder(home) / "dance_reference.png", write_reference)
    return reference, walking(home)
