"""Frames to caption: the first frame, or a few evenly spaced ones (PyAV).

Frames stay in memory as PIL images; nothing is written to disk, so there is
nothing to clean up when a job stops.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.video_probe import open_video


def sample_indices(total: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over ``total`` frames, first frame included."""
    if total <= 0 or count <= 0:
        return []
    if count == 1 or total == 1:
        return [0]
    count = min(count, total)
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def extract_frames(
    path: str | Path, count: int = 1, total: int | None = None, max_side: int = 1024
) -> list:
    """Decode ``count`` evenly spaced frames of ``path`` as RGB PIL images.

    ``count == 1`` is the first frame (seed 000's method). ``total`` is the
    clip's frame count when the caller knows it. Images are shrunk so their
    longest side is at most ``max_side`` (captioners do not need more).
    """

    with open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        total = total or int(stream.frames or 0) or 1
        wanted = set(sample_indices(total, count))
        last = max(wanted)
        images = []
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                images.append(_shrink(frame.to_image(), max_side))
            if i >= last:
                break
    return images


def _shrink(image, max_side: int):
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side))
    return image
