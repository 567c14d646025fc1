"""The pictures of a one-frame edit or mask preview: the mask tinted over the frame, and
frames side by side."""

from __future__ import annotations

import numpy as np


def mask_overlay(
    frame: np.ndarray, soft: np.ndarray, color: tuple[int, int, int] = (255, 40, 40)
) -> np.ndarray:
    """The frame with the mask tinted and its edge drawn."""
    import cv2

    m = soft[:, :, None] * 0.55
    out = frame.astype(np.float32) * (1 - m) + np.asarray(color, np.float32) * m
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    contours, _ = cv2.findContours(
        (soft > 0.5).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    cv2.drawContours(out, contours, -1, (255, 255, 0), max(1, min(frame.shape[:2]) // 200))
    return out


def side_by_side(images: list[np.ndarray], gap: int = 8) -> np.ndarray:
    h = max(i.shape[0] for i in images)
    w = sum(i.shape[1] for i in images) + gap * (len(images) - 1)
    canvas = np.full((h, w, 3), 255, np.uint8)
    x = 0
    for img in images:
        canvas[: img.shape[0], x : x + img.shape[1]] = img
        x += img.shape[1] + gap
    return canvas
