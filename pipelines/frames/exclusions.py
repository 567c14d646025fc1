"""Exclusion regions of the first/last frame detection: the status-bar band and user
rectangles (normalised ``x, y, w, h``) remove the cells of the thumbnail grid they touch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from .video import FrameReviewError

DEFAULT_STATUS_BAR = 0.05  # top share of the screen excluded by default (status-bar clock, icons)


@dataclass(frozen=True)
class Rect:
    """An exclusion rectangle in normalised coordinates (0..1 of the displayed width/height)."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self):
        vals = (self.x, self.y, self.w, self.h)
        if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in vals):
            raise FrameReviewError(f"exclusion {vals}: x, y, w, h must be numbers between 0 and 1.")
        if (
            min(vals) < 0
            or self.x + self.w > 1 + 1e-6
            or self.y + self.h > 1 + 1e-6
            or self.w <= 0
            or self.h <= 0
        ):
            raise FrameReviewError(
                f"exclusion x={self.x}, y={self.y}, w={self.w}, h={self.h} is outside the frame: "
                "use fractions of the frame (0..1), with w, h > 0 and x+w, y+h ≤ 1."
            )

    def to_dict(self) -> dict:
        return asdict(self)


def parse_exclusions(exclusions: Iterable | None) -> list[Rect]:
    """Rectangles from ``Rect``, ``{"x":..,"y":..,"w":..,"h":..}``, ``(x, y, w, h)`` or ``"x,y,w,h"``."""
    rects = []
    for e in exclusions or []:
        if isinstance(e, Rect):
            rects.append(e)
        elif isinstance(e, dict):
            try:
                rects.append(Rect(float(e["x"]), float(e["y"]), float(e["w"]), float(e["h"])))
            except KeyError as exc:
                raise FrameReviewError(
                    f"exclusion {e}: needs keys x, y, w, h (fractions 0..1)."
                ) from exc
        else:
            parts = e.split(",") if isinstance(e, str) else list(e)
            if len(parts) != 4:
                raise FrameReviewError(
                    f"exclusion {e!r}: give four numbers x, y, w, h (fractions 0..1)."
                )
            try:
                rects.append(Rect(*(float(p) for p in parts)))
            except (TypeError, ValueError) as exc:
                raise FrameReviewError(
                    f"exclusion {e!r}: x, y, w, h must be numbers between 0 and 1."
                ) from exc
    return rects


def cell_mask(
    shape: tuple[int, int], rects: list[Rect], status_bar: float = DEFAULT_STATUS_BAR
) -> np.ndarray:
    """Bool ``[rows, cols]``: True for cells used by the detection (not touched by any exclusion)."""
    if not 0 <= status_bar < 1:
        raise FrameReviewError(
            f"status_bar={status_bar}: give the excluded top share of the screen, 0 (none) to <1."
        )
    rows, cols = shape
    used = np.ones(shape, bool)
    eps = 1e-9
    all_rects = list(rects) + ([Rect(0.0, 0.0, 1.0, status_bar)] if status_bar > 0 else [])
    for r in all_rects:
        c0, c1 = int(np.floor(r.x * cols + eps)), int(np.ceil((r.x + r.w) * cols - eps))
        r0, r1 = int(np.floor(r.y * rows + eps)), int(np.ceil((r.y + r.h) * rows - eps))
        used[r0 : max(r1, r0 + 1), c0 : max(c1, c0 + 1)] = False
    return used
