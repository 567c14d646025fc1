"""Masks and edited pixels made steady over time.

Mask, per frame: probability → blended with the mean of its time window
(``smoothing_window`` frames, weight ``smoothing_alpha``) → threshold →
erode by ``erode_kernel`` pixels → feathered edge (Gaussian, ``feather``
pixels). Edited pixels: inside the frame's mask, the composite is blended with
the mean composite of its window (same window and weight); outside the mask
nothing changes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np


def window_range(t: int, n: int, window: int) -> tuple[int, int]:
    """Frames [lo, hi) of the window centred on ``t`` (clamped to the clip)."""
    before, after = (window - 1) // 2, window // 2
    return max(0, t - before), min(n, t + after + 1)


def blend_in_time(current: np.ndarray, window_mean: np.ndarray, alpha: float) -> np.ndarray:
    return (1.0 - alpha) * current + alpha * window_mean


@dataclass
class MaskShape:
    threshold: float = 0.5
    erode_kernel: int = 10
    feather: int = 6


Box = tuple[int, int, int, int]  # x0, y0, x1, y1


@dataclass
class FrameMask:
    soft: np.ndarray  # float32 HxW, 0..1: the weight of the edit at each pixel
    box: Box | None  # the eroded mask's box; None when empty
    region: Box | None = None  # where ``soft`` is above 0 (the box and its feathered edge)

    @property
    def empty(self) -> bool:
        return self.box is None


def shape_mask(prob: np.ndarray, width: int, height: int, shape: MaskShape) -> FrameMask:
    """A (temporally blended) probability map at any size -> the final mask at the frame's size."""
    import cv2

    prob = prob.astype(np.float32)
    if prob.shape[:2] != (height, width):
        prob = cv2.resize(prob, (width, height), interpolation=cv2.INTER_LINEAR)
    binary: np.ndarray = (prob > shape.threshold).astype(np.uint8)
    if shape.erode_kernel > 1 and binary.any():
        kernel = cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (shape.erode_kernel, shape.erode_kernel)
        )
        binary = np.asarray(cv2.erode(binary, kernel))
    if not binary.any():
        return FrameMask(np.zeros((height, width), np.float32), None)
    box = _box(binary)
    soft = np.zeros((height, width), np.float32)
    if shape.feather > 0:  # blur only around the mask: OpenCV's kernel reaches 4 sigma
        region = expand_box(box, width, height, int(np.ceil(4 * shape.feather)) + 1)
        x0, y0, x1, y1 = region
        part = cv2.GaussianBlur(
            binary[y0:y1, x0:x1].astype(np.float32),
            (0, 0),
            sigmaX=float(shape.feather),
            sigmaY=float(shape.feather),
            borderType=cv2.BORDER_CONSTANT,
        )
        soft[y0:y1, x0:x1] = np.clip(part, 0.0, 1.0)
    else:
        region = box
        soft[binary > 0] = 1.0
    return FrameMask(soft, box, region)


def _box(binary: np.ndarray) -> Box:
    rows, cols = np.flatnonzero(binary.any(axis=1)), np.flatnonzero(binary.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def expand_box(box: Box, width: int, height: int, margin: int) -> Box:
    x0, y0, x1, y1 = box
    return (
        max(0, x0 - margin),
        max(0, y0 - margin),
        min(width, x1 + margin),
        min(height, y1 + margin),
    )


def region_of(soft: np.ndarray) -> Box | None:
    """The box where ``soft`` is above 0 (None: nowhere)."""
    above = soft > 0
    if not above.any():
        return None
    return _box(above)


def union_box(boxes: Iterable[Box | None]) -> Box | None:
    real = [b for b in boxes if b is not None]
    if not real:
        return None
    return (
        min(b[0] for b in real),
        min(b[1] for b in real),
        max(b[2] for b in real),
        max(b[3] for b in real),
    )


def composite(
    original: np.ndarray, edited: np.ndarray, soft: np.ndarray, region: Box | None = None
) -> np.ndarray:
    """``original`` outside the mask, ``edited`` inside, blended along the feathered edge.

    Pixels where the mask is 0 are the original's, bit for bit. ``region``: where
    the mask is above 0, if known."""
    out = original.copy()
    region = region or region_of(soft)
    if region is None:
        return out
    x0, y0, x1, y1 = region
    m = soft[y0:y1, x0:x1, None]
    region = (
        original[y0:y1, x0:x1].astype(np.float32) * (1.0 - m)
        + edited[y0:y1, x0:x1].astype(np.float32) * m
    )
    out[y0:y1, x0:x1] = np.clip(np.rint(region), 0, 255).astype(np.uint8)
    return out


class PixelSmoother:
    """Centred temporal smoothing of composites inside each frame's mask.

    Feed frames in order with :meth:`push` (composite, soft mask); it yields
    each frame once its window is complete (``window // 2`` frames later);
    :meth:`finish` yields the rest. Holds only ``window`` frames.
    """

    def __init__(self, window: int, alpha: float):
        self.before, self.after = (window - 1) // 2, window // 2
        self.alpha = alpha
        self._frames: deque[np.ndarray] = deque()
        self._masks: deque[tuple[np.ndarray, Box | None]] = deque()
        self._first = 0  # clip index of self._frames[0]
        self._next = 0  # next clip index to emit
        self._count = 0  # frames pushed

    def push(
        self, frame: np.ndarray, soft: np.ndarray, region: Box | None = None
    ) -> Iterator[np.ndarray]:
        self._frames.append(frame)
        self._masks.append((soft, region if region is not None else region_of(soft)))
        self._count += 1
        while self._next + self.after < self._count:
            yield self._emit()

    def finish(self) -> Iterator[np.ndarray]:
        while self._next < self._count:
            yield self._emit()

    def _emit(self) -> np.ndarray:
        t = self._next
        lo, hi = max(0, t - self.before), min(self._count, t + self.after + 1)
        frame = self._frames[t - self._first]
        soft, region = self._masks[t - self._first]
        out = frame
        if self.alpha > 0 and hi - lo > 1 and region is not None:
            x0, y0, x1, y1 = region
            mean = np.zeros((y1 - y0, x1 - x0, frame.shape[2]), np.float32)
            for k in range(lo, hi):
                mean += self._frames[k - self._first][y0:y1, x0:x1]
            mean /= hi - lo
            cur = frame[y0:y1, x0:x1].astype(np.float32)
            m = soft[y0:y1, x0:x1, None] * self.alpha
            out = frame.copy()
            out[y0:y1, x0:x1] = np.clip(np.rint(cur + m * (mean - cur)), 0, 255).astype(np.uint8)
        self._next += 1
        while self._first < self._next - self.before:  # frames no window needs any more
            self._frames.popleft()
            self._masks.popleft()
            self._first += 1
        return out
