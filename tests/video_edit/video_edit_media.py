"""Small clips for the video edit tests, written with PyAV.

``astronaut_clip``: scikit-image's astronaut (head and shoulders) moving
across a textured background, optionally with a tone as audio; the person box
of every frame is known. ``empty_clip``: the background alone (no person).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

PERSON = 96  # the astronaut's side in pixels


def background(width: int, height: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack(
        [40 + 60 * x / width, 110 + 50 * y / height, 70 + 30 * np.sin(x / 9.0) * np.cos(y / 7.0)],
        axis=2,
    )
    return np.clip(img, 0, 255).astype(np.uint8)


def astronaut(side: int = PERSON) -> np.ndarray:
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut()[:400, 40:440], (side, side), interpolation=cv2.INTER_AREA)


def person_boxes(
    frames: int, width: int, height: int, side: int = PERSON
) -> list[tuple[int, int, int, int]]:
    """x0, y0, x1, y1 of the astronaut in each frame (it moves right)."""
    y0 = height - side
    travel = max(0, width - side - 8)
    return [
        (
            4 + (travel * i) // max(1, frames - 1),
            y0,
            4 + (travel * i) // max(1, frames - 1) + side,
            height,
        )
        for i in range(frames)
    ]


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 12, audio: bool = False) -> Path:
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.options = {"crf": "12"}
        sound = None
        if audio:
            sound = out.add_stream("aac", rate=44100)
            sound.layout = "mono"
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            seconds = len(frames) / fps
            samples = int(44100 * seconds)
            t = np.arange(samples) / 44100
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[start : start + 1024]
                frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                frame.sample_rate = 44100
                frame.pts = start
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return path


def astronaut_frames(frames: int = 10, width: int = 192, height: int = 128) -> list[np.ndarray]:
    bg = background(width, height)
    person = astronaut()
    out = []
    for x0, y0, x1, y1 in person_boxes(frames, width, height):
        img = bg.copy()
        img[y0:y1, x0:x1] = person
        out.append(img)
    return out


def astronaut_clip(
    path: Path,
    frames: int = 10,
    width: int = 192,
    height: int = 128,
    fps: int = 12,
    audio: bool = True,
) -> Path:
    return write_clip(path, astronaut_frames(frames, width, height), fps=fps, audio=audio)


def empty_clip(
    path: Path, frames: int = 6, width: int = 192, height: int = 128, fps: int = 12
) -> Path:
    return write_clip(path, [background(width, height)] * frames, fps=fps)
