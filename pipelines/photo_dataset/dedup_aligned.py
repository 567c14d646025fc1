"""Rotated / shifted copies of detailed images: the dedup step's geometric comparison.

pHash sees a photo at 32x32. For a detailed, high-frequency image (a scanned text page,
a texture) that small copy is almost all fine detail, and a rotation of 1-2 degrees or a
shift of a few pixels flips many of its bits: the copies land beyond the threshold. Such
pairs (near the threshold, both images detailed) get a second, geometric comparison:
ORB keypoints at ``ALIGN_SIDE`` px, matched and fitted with one rotation + shift + scale
(RANSAC). Copies agree on one transform with many matched points; distinct pages share
letters but not their positions, so their matches do not agree.

Cost (issue 25): pHash cannot tell text pages apart (at 2,000 photos, 2,488 of the 3,160
pairs of detailed images lie within ``NEAR_DISTANCE``), so almost every pair of detailed
images is compared. Each pair first gets a cheap test on the ``GATE_POINTS`` strongest
keypoints of each side: ratio-tested matches, and how many of them agree pairwise with
one small rotation + shift (:func:`agreeing_matches`; no RANSAC). Distinct pages give
at most 2 agreeing matches there, copies 4 or more. Only the pairs that pass are fitted,
first on the ``FIRST_LOOK`` strongest keypoints (decided there when the fit is already
clear), then on all of them. Keypoints are found once per image, only for detailed
images in such pairs, on one pyramid level (both copies are brought to ``ALIGN_SIDE``,
so the scale is ~1). Small pages (150-400 px on the long side) are brought up to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .images import decode_jpeg_grey, fit_within, is_jpeg, jpeg_scale, load_image, probe_image

NEAR_DISTANCE = 34  # pHash distances (of 64) up to this go to the second comparison (rotated copies: up to 34 seen)
MIN_DETAIL = 0.3  # share of the 32x32 AC energy outside pHash's 8x8 band: detailed images
# long side of the copy the keypoints are found on (512: 1.7x the cost, the same pairs found)
ALIGN_SIDE = 384
ORB_FEATURES = 600
FAST_THRESHOLD = 20  # corner contrast (10: 12 % more CPU on text pages, the same pairs found)
# pyramid levels: both copies are brought to ALIGN_SIDE, so scale ~1 (3 levels: 1.6x the cost)
ORB_LEVELS = 1
MIN_INLIERS = 15  # matched points that agree on the transform
MIN_INLIER_SHARE = 0.15  # of the good matches (distinct pages: a few stray points)
MAX_ROTATION_DEG = 5.0
MAX_SCALE_CHANGE = 0.15  # both copies are brought to ALIGN_SIDE: same content, scale ~1
# The cheap test: the strongest keypoints of each side, and the matches among them that
# agree pairwise (distances between matched points kept within GATE_TOLERANCE_PX +
# GATE_TOLERANCE_SHARE of their length: a rotation <= 5 deg, a scale change <= 10 %).
GATE_POINTS = 128
GATE_AGREEING = 3  # itself and 2 others (distinct pages: <= 2; copies: >= 4)
GATE_TOLERANCE_PX = 6.0
GATE_TOLERANCE_SHARE = 0.12
# strongest keypoints of each image fitted first (128: some small rotated copies keep only
# 4-5 inliers there and RANSAC fits a wrong transform)
FIRST_LOOK = 300
FIRST_LOOK_INLIERS = 4  # inliers of a plausible fit there for the full comparison to run

# positions (n x 2, float32) and ORB descriptors, strongest first
Keypoints = tuple[np.ndarray, np.ndarray]


def aligned_grey(path: Path, data: bytes | None = None, long_side: int = 0) -> np.ndarray:
    """The grey copy (uint8) keypoints are found on: the image upright, brought to
    ``ALIGN_SIDE`` on its long side. A JPEG (file bytes ``data``, read when not given) is
    decoded by OpenCV at the largest reduction that keeps ``ALIGN_SIDE`` (its long side
    ``long_side`` when the caller knows it, else from the header, with the pixel limit
    checked before any pixel is decoded) and reduced as :func:`.images.load_image`
    reduces (the same pixels as Pillow's draft decode, at about half its CPU); anything
    else by Pillow."""
    import cv2

    if data is None:
        data = Path(path).read_bytes()
    grey = None
    if is_jpeg(data):
        if not long_side:
            info = probe_image(path)
            long_side = max(info.width, info.height)
        grey = decode_jpeg_grey(data, jpeg_scale(long_side, ALIGN_SIDE))
        if grey is not None and max(grey.shape) > ALIGN_SIDE:  # Pillow's resampling, as below
            grey = np.asarray(fit_within(Image.fromarray(grey), ALIGN_SIDE), dtype=np.uint8)
    if grey is None:
        grey = np.asarray(load_image(path, max_side=ALIGN_SIDE, mode="L"), dtype=np.uint8)
    scale = ALIGN_SIDE / max(grey.shape)
    if (
        abs(scale - 1.0) > 1e-3
    ):  # every image at the same long side: a copy's transform has scale ~1
        grey = cv2.resize(
            grey,
            (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))),
            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        )
    return grey


def keypoints(path: Path, data: bytes | None = None, long_side: int = 0) -> Keypoints | None:
    """ORB keypoints of the image brought to ``ALIGN_SIDE`` on its long side
    (:func:`aligned_grey`), strongest first; None when it has too few to be compared."""
    import cv2

    grey = aligned_grey(path, data, long_side)
    orb = cv2.ORB_create(  # type: ignore[attr-defined]  # missing from cv2 stubs
        nfeatures=ORB_FEATURES,
        fastThreshold=FAST_THRESHOLD,
        nlevels=ORB_LEVELS,
        scoreType=cv2.ORB_FAST_SCORE,
    )
    points, descriptors = orb.detectAndCompute(grey, None)
    if descriptors is None or len(points) < MIN_INLIERS:
        return None
    strongest = np.argsort([-p.response for p in points], kind="stable")
    xy = np.asarray(cv2.KeyPoint_convert(points), dtype=np.float32)  # type: ignore[attr-defined]
    return xy[strongest], descriptors[strongest]


def keypoints_or_none(
    path: Path, data: bytes | None = None, long_side: int = 0
) -> Keypoints | None:
    try:
        return keypoints(path, data, long_side)
    except Exception:  # unreadable here: the filter step has reported it
        return None


def _matches(a: Keypoints, b: Keypoints, strongest: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Ratio-tested matches from ``a`` to ``b`` (their positions, paired), on the
    ``strongest`` keypoints of each side (all when None)."""
    import cv2

    pa, da = a if strongest is None else (a[0][:strongest], a[1][:strongest])
    pb, db = b if strongest is None else (b[0][:strongest], b[1][:strongest])
    # The two nearest descriptors of b for each of a, as arrays (no match objects).
    dist, nearest = cv2.batchDistance(da, db, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=2)
    good = dist[:, 0] < 0.8 * dist[:, 1]
    return pa[good], pb[nearest[good, 0]]


def agreeing_matches(a: Keypoints, b: Keypoints, strongest: int = GATE_POINTS) -> int:
    """The cheap test: the largest number of ratio-tested matches (among the ``strongest``
    keypoints of each side) that agree with one of them on a small rotation + shift: the
    vector between two matched points of ``a`` is kept, within tolerance, between their
    matches in ``b``. Copies: 4 or more; distinct pages match letters at random: <= 2."""
    pa, pb = _matches(a, b, strongest)
    if len(pa) < 2:
        return len(pa)
    u = pa[:, None, :] - pa[None, :, :]
    v = pb[:, None, :] - pb[None, :, :]
    length = np.sqrt((u * u).sum(axis=2))
    off = np.sqrt(((v - u) ** 2).sum(axis=2))
    agree = off <= GATE_TOLERANCE_PX * (ALIGN_SIDE / 384) + GATE_TOLERANCE_SHARE * length
    return int(agree.sum(axis=1).max())


def _fit(a: Keypoints, b: Keypoints, strongest: int | None = None) -> tuple[int, int, float, float]:
    """(ratio-tested matches, RANSAC inliers, rotation in degrees, scale) of the similarity
    transform from keypoints ``a`` to ``b``; ``strongest``: only that many of each side's
    strongest keypoints."""
    import cv2

    pa, pb = _matches(a, b, strongest)
    if len(pa) < 3:
        return len(pa), 0, 0.0, 0.0
    transform, inliers = cv2.estimateAffinePartial2D(
        pa, pb, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=500, confidence=0.99
    )
    if transform is None or inliers is None:
        return len(pa), 0, 0.0, 0.0
    scale = float(np.hypot(transform[0, 0], transform[1, 0]))
    rotation = float(np.degrees(np.arctan2(transform[1, 0], transform[0, 0])))
    return len(pa), int(inliers.sum()), rotation, scale


def _plausible(rotation: float, scale: float) -> bool:
    return abs(rotation) <= MAX_ROTATION_DEG and abs(scale - 1.0) <= MAX_SCALE_CHANGE


def _a_copy(n_good: int, inliers: int, rotation: float, scale: float) -> bool:
    return (
        inliers >= MIN_INLIERS
        and inliers >= MIN_INLIER_SHARE * n_good
        and _plausible(rotation, scale)
    )


def same_under_alignment(a: Keypoints | None, b: Keypoints | None) -> bool:
    """Do keypoint sets ``a`` and ``b`` (from :func:`keypoints`) show one image, rotated
    by a few degrees, shifted and rescaled? The cheap test (:func:`agreeing_matches`),
    then :func:`fits_one_transform`."""
    if a is None or b is None or agreeing_matches(a, b) < GATE_AGREEING:
        return False
    return fits_one_transform(a, b)


def fits_one_transform(a: Keypoints, b: Keypoints) -> bool:
    """The RANSAC similarity fit of ``a``'s matches in ``b``: >= ``MIN_INLIERS`` agreeing
    points (and ``MIN_INLIER_SHARE`` of the matches), rotation <= ``MAX_ROTATION_DEG``,
    scale ~1. First on the ``FIRST_LOOK`` strongest keypoints of each side, which decides
    when it already shows a copy or no small-rotation fit at all (distinct pages match at
    random: the fit turns and scales anyhow); the others on all the keypoints."""
    first = _fit(a, b, FIRST_LOOK)
    if first[1] < FIRST_LOOK_INLIERS or not _plausible(first[2], first[3]):
        return False
    return _a_copy(*first) or _a_copy(*_fit(a, b))
