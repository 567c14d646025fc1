"""Quality filter: too small, too blurry, too dark, too bright.

Measured on a small grey copy of the photo (long side ``ANALYSIS_SIDE``), so the
numbers do not depend on the camera's resolution. Every rejection has a reason a
user can read, and the thresholds are options.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

ANALYSIS_SIDE = 512


@dataclass
class QualityOptions:
    min_side: int = 512  # shorter side of the original photo, pixels
    min_sharpness: float = 60.0  # variance of the Laplacian at 512 px long side
    min_brightness: float = 35.0  # mean grey level 0..255
    max_brightness: float = 225.0


@dataclass
class QualityMetrics:
    sharpness: float
    brightness: float


def measure(grey: Image.Image) -> QualityMetrics:
    """Sharpness (variance of the Laplacian) and mean brightness of a grey image."""
    import cv2

    if max(grey.size) != ANALYSIS_SIDE:
        scale = ANALYSIS_SIDE / max(grey.size)
        grey = grey.resize(
            (max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
            Image.Resampling.BILINEAR,
        )
    a = np.asarray(grey, dtype=np.uint8)
    return QualityMetrics(
        sharpness=float(cv2.Laplacian(a, cv2.CV_64F).var()), brightness=float(a.mean())
    )


def rejection_reasons(
    width: int, height: int, metrics: QualityMetrics, options: QualityOptions
) -> list[str]:
    reasons = []
    if min(width, height) < options.min_side:
        reasons.append(f"too small: {width}x{height}, shorter side under {options.min_side} px")
    if metrics.sharpness < options.min_sharpness:
        reasons.append(
            f"too blurry: sharpness {metrics.sharpness:.0f} < {options.min_sharpness:.0f}"
        )
    if metrics.brightness < options.min_brightness:
        reasons.append(
            f"too dark: brightness {metrics.brightness:.0f} < {options.min_brightness:.0f}"
        )
    if metrics.brightness > options.max_brightness:
        reasons.append(
            f"too bright: brightness {metrics.brightness:.0f} > {options.max_brightness:.0f}"
        )
    return reasons
