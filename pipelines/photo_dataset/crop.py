"""Focus and crop: where the subject is, and the square or bucket crop around it.

The subject box comes from the face (grown to the whole head) and the body pose;
without a person, from a saliency map (OpenCV's spectral-residual saliency from
opencv-contrib, else an edge-energy map), and finally the centre. The crop is the
largest window of the target shape that contains the head with a margin; it is
never upscaled silently: a crop smaller than the target is saved at its own size
and flagged (or upscaled, flagged, when ``upscale_small`` is on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .subjects import Subject

Box = tuple[float, float, float, float]


@dataclass
class CropOptions:
    mode: str = (
        "square"  # "square" | "buckets" (aspect-ratio buckets, kohya / diffusion-pipe style)
    )
    size: int = 1024  # square side, or the bucket resolution (area ~ size x size)
    head_margin: float = 0.15  # fraction of the head size kept free around it
    bucket_step: int = 64
    min_bucket_side: int = 256
    max_bucket_side: int = 2048
    upscale_small: bool = False  # upscale a crop smaller than the target (always flagged)
    image_format: str = "jpg"  # "jpg" | "png"
    jpeg_quality: int = 95


def buckets(
    resolution: int, step: int = 64, min_side: int = 512, max_side: int = 2048
) -> list[tuple[int, int]]:
    """Aspect-ratio buckets with area <= resolution^2 and sides multiples of ``step`` (kohya's scheme)."""
    area = resolution * resolution
    out = set()
    w = min_side
    while w <= max_side:
        h = min(max_side, (area // w) // step * step)
        if h >= min_side:
            out.add((w, h))
            out.add((h, w))
        w += step
    return sorted(out)


def nearest_bucket(width: int, height: int, options: CropOptions) -> tuple[int, int]:
    ratio = np.log(width / height)
    return min(
        buckets(
            options.size, options.bucket_step, options.min_bucket_side, options.max_bucket_side
        ),
        key=lambda b: (abs(np.log(b[0] / b[1]) - ratio), -b[0] * b[1]),
    )


def saliency_box(image: Image.Image) -> Box | None:
    """The region holding the top saliency (normalised), or None on a flat image."""
    import cv2

    small = image.convert("RGB")
    small.thumbnail((256, 256))
    a = np.asarray(small)
    saliency = None
    if hasattr(cv2, "saliency"):
        ok, saliency = cv2.saliency.StaticSaliencySpectralResidual_create().computeSaliency(  # type: ignore[attr-defined]  # opencv-contrib module, not in cv2's stubs
            a[:, :, ::-1].copy()
        )
        if not ok:
            saliency = None
    if saliency is None:  # edge energy
        grey = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
        saliency = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        saliency = cv2.GaussianBlur(saliency, (0, 0), 5)
    saliency = np.asarray(saliency, dtype=np.float32)
    if float(saliency.max()) <= 1e-6:
        return None
    mask = saliency >= np.quantile(saliency, 0.9)
    ys, xs = np.nonzero(mask)
    h, w = saliency.shape
    # a robust box: 5th..95th percentile of the salient pixels
    return (
        float(np.quantile(xs, 0.05)) / w,
        float(np.quantile(ys, 0.05)) / h,
        float(np.quantile(xs, 0.95) + 1) / w,
        float(np.quantile(ys, 0.95) + 1) / h,
    )


def focus(
    subject: Subject | None, image_for_saliency: Image.Image | None
) -> tuple[Box, Box | None, str]:
    """(subject box, head box or None, source) in normalised coordinates."""
    head = subject.head_box() if subject else None
    body = subject.body_box() if subject else None
    if head is not None and body is not None:
        return _union(head, body), head, "face+pose"
    if head is not None:
        return head, head, "face"
    if body is not None:
        return body, None, "pose"
    if image_for_saliency is not None:
        box = saliency_box(image_for_saliency)
        if box is not None:
            return box, None, "saliency"
    return (0.25, 0.25, 0.75, 0.75), None, "centre"


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _place(
    length: float, total: float, lo: float, hi: float, must_lo: float | None, must_hi: float | None
) -> float:
    """Start of a window of ``length`` in [0, total], centred on [lo, hi], containing [must_lo, must_hi]."""
    start = (lo + hi) / 2 - length / 2
    if must_lo is not None and must_hi is not None:
        start = min(start, must_lo)  # window starts before the head
        start = max(start, must_hi - length)  # and ends after it
    return float(min(max(start, 0.0), total - length))


def crop_box(
    width: int,
    height: int,
    subject_box: Box,
    head_box: Box | None,
    aspect: float,
    head_margin: float = 0.15,
) -> tuple[tuple[int, int, int, int], list[str]]:
    """The largest window of ``aspect`` (w/h) in the photo around the subject, head kept whole.

    Returns the box in pixels (x0, y0, x1, y1) and warnings."""
    warnings = []
    cw, ch = (width, width / aspect) if width / aspect <= height else (height * aspect, height)
    sx0, sy0, sx1, sy1 = (
        subject_box[0] * width,
        subject_box[1] * height,
        subject_box[2] * width,
        subject_box[3] * height,
    )
    must = None
    if head_box is not None:
        hx0, hy0, hx1, hy1 = (
            head_box[0] * width,
            head_box[1] * height,
            head_box[2] * width,
            head_box[3] * height,
        )
        mx, my = head_margin * (hx1 - hx0), head_margin * (hy1 - hy0)
        must = (max(0.0, hx0 - mx), max(0.0, hy0 - my), min(width, hx1 + mx), min(height, hy1 + my))
        if must[2] - must[0] > cw or must[3] - must[1] > ch:
            warnings.append("the head with its margin does not fit in the crop")
            must = None
        # with a tall subject (whole body), centre between the head and the subject
    x0 = _place(cw, width, sx0, sx1, must and must[0], must and must[2])
    y0 = _place(ch, height, sy0, sy1, must and must[1], must and must[3])
    box = (round(x0), round(y0), round(x0 + cw), round(y0 + ch))
    box = (max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3]))
    return box, warnings


def output_size(
    box: tuple[int, int, int, int], target: tuple[int, int], upscale: bool
) -> tuple[tuple[int, int], list[str]]:
    """Final pixel size: the target, or the crop's own size when smaller (flagged)."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    if bw >= target[0] and bh >= target[1]:
        return target, []
    if upscale:
        return target, [
            f"upscaled: crop {bw}x{bh} is smaller than the target {target[0]}x{target[1]}"
        ]
    scale = min(bw / target[0], bh / target[1])
    size = (max(1, int(target[0] * scale)), max(1, int(target[1] * scale)))
    return size, [
        f"below target size: saved at {size[0]}x{size[1]} instead of {target[0]}x{target[1]} (not upscaled)"
    ]
