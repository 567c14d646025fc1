"""Duplicate and burst-shot clustering, with seed 002's parameters.

Two photos are linked when either
- their perceptual hashes (pHash, 64 bits) differ in at most ``phash_max_distance``
  bits: a copy, recompressed, resized or brightened; or
- they are a burst of one person: face boxes at the same place and size
  (``bbox_tol_c``, ``bbox_tol_wh``), the same pose (``pose_sim_th``) and
  * a strong face match (``face_sim_th2``) with similar face crops (SSIM >= ``face_ssim_th1``), or
  * a weaker face match (``face_sim_th1``) with near-identical face crops (SSIM >= ``face_ssim_th2``).
Face similarity is InsightFace's identity cosine when configured, else the
correlation of the face crops. Links become clusters with DBSCAN on the
precomputed 0/1 distance (eps 0.5, min_samples 1); each cluster keeps
``keep_per_cluster`` photos: the sharpest first, then the most different ones.

Hashing is the fast path for large sets: JPEGs decoded at 1/8 scale (draft) and all
pairs compared at once with numpy bit operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .images import load_image
from .subjects import Subject, boxes_close, face_similarity, face_ssim, pose_similarity

HASH_SIDE = 64  # decode size for hashing; pHash itself works on 32x32


@dataclass
class DedupOptions:
    face_sim_th1: float = 0.75
    face_sim_th2: float = 0.85
    pose_sim_th: float = 0.7
    face_ssim_th1: float = 0.8
    face_ssim_th2: float = 0.9
    bbox_tol_c: float = 0.1
    bbox_tol_wh: float = 0.1
    keep_per_cluster: int = 2
    phash_max_distance: int = 10  # of 64 bits
    use_faces: bool = True  # MediaPipe face + pose burst detection
    insightface_model_dir: str = ""  # "" = STUDIO_INSIGHTFACE_DIR or not used


# --------------------------------------------------------------------------- perceptual hashes


def phash_of(image: Image.Image) -> int:
    """64-bit pHash (imagehash) as an int."""
    import imagehash

    bits = imagehash.phash(image).hash.ravel().astype(bool)
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hash_file(path: Path) -> int:
    """pHash of a file, decoded at 1/8 scale when it is a JPEG."""
    return phash_of(load_image(path, max_side=HASH_SIDE, mode="L"))


def hamming_matrix(hashes: list[int] | np.ndarray) -> np.ndarray:
    """All-pairs Hamming distances (uint8, n x n) of 64-bit hashes, vectorised."""
    h = np.asarray([int(x) for x in hashes], dtype=np.uint64)
    out = np.empty((len(h), len(h)), dtype=np.uint8)
    for start in range(0, len(h), 1024):  # row blocks bound the temporary memory
        out[start : start + 1024] = np.bitwise_count(h[start : start + 1024, None] ^ h[None, :])
    return out


def near_duplicate_pairs(hashes: list[int], max_distance: int) -> list[tuple[int, int]]:
    d = hamming_matrix(hashes)
    i, j = np.nonzero(np.triu(d <= max_distance, k=1))
    return list(zip(i.tolist(), j.tolist(), strict=True))


# --------------------------------------------------------------------------- bursts


def is_burst(a: Subject, b: Subject, o: DedupOptions) -> bool:
    """Same person, same place, same pose: seed 002's rule (see the module text)."""
    if (
        a.face is None
        or b.face is None
        or not boxes_close(a.face, b.face, o.bbox_tol_c, o.bbox_tol_wh)
    ):
        return False
    pose = pose_similarity(a, b)
    if pose is not None and pose < o.pose_sim_th:
        return False
    sim, ssim = face_similarity(a, b), face_ssim(a, b)
    if sim is None or ssim is None:
        return False
    return (sim >= o.face_sim_th2 and ssim >= o.face_ssim_th1) or (
        sim >= o.face_sim_th1 and ssim >= o.face_ssim_th2
    )


# --------------------------------------------------------------------------- clusters


def cluster_labels(n: int, links: list[tuple[int, int]]) -> np.ndarray:
    """DBSCAN on the precomputed distance (0 = linked, 1 = not): one label per photo."""
    from sklearn.cluster import DBSCAN

    if n == 0:
        return np.zeros(0, dtype=int)
    distance = np.ones((n, n), dtype=np.float32)
    np.fill_diagonal(distance, 0.0)
    for i, j in links:
        distance[i, j] = distance[j, i] = 0.0
    return DBSCAN(eps=0.5, min_samples=1, metric="precomputed").fit_predict(distance)


def choose_keepers(
    members: list[int],
    sharpness: list[float],
    hashes: list[int],
    keep: int,
    copy_distance: int = 10,
    pixels: list[int] | None = None,
) -> list[int]:
    """The largest then sharpest member, then repeatedly the one that is sharp and most unlike those kept.

    A copy of a kept photo (pHash distance <= ``copy_distance``) is never kept as "variety"."""
    if len(members) == 1:
        return list(members)
    sharp = np.array([sharpness[m] for m in members], dtype=np.float64)
    sharp_n = sharp / max(sharp.max(), 1e-9)
    d = hamming_matrix([hashes[m] for m in members]).astype(np.float64) / 32.0
    size = np.array([pixels[m] if pixels else 0 for m in members], dtype=np.float64)
    chosen = [int(np.lexsort((sharp, size))[-1])]  # most pixels, then sharpest
    while len(chosen) < keep:
        nearest = d[:, chosen].min(axis=1)
        score = 0.5 * sharp_n + 0.5 * np.minimum(nearest, 1.0)
        score[
            nearest * 32.0 <= copy_distance
        ] = -np.inf  # copies of a kept photo (and the kept ones)
        if not np.isfinite(score.max()):
            break
        chosen.append(int(np.argmax(score)))
    return [members[c] for c in chosen]


# --------------------------------------------------------------------------- rotated / shifted copies of detailed images
#
# pHash sees a photo at 32x32. For a detailed, high-frequency image (a scanned text page,
# a texture) that small copy is almost all fine detail, and a rotation of 1-2 degrees or a
# shift of a few pixels flips many of its bits: the copies land beyond the threshold. Such
# pairs (near the threshold, both images detailed) get a second, geometric comparison:
# ORB keypoints at ALIGN_SIDE px, matched and fitted with one rotation + shift + scale
# (RANSAC). Copies agree on one transform with many matched points; distinct pages share
# letters but not their positions, so their matches do not agree.

NEAR_DISTANCE = 28  # pHash distances (of 64) up to this go to the second comparison
MIN_DETAIL = 0.3  # share of the 32x32 AC energy outside pHash's 8x8 band: detailed images
ALIGN_SIDE = 512  # long side of the copy the keypoints are found on
MIN_INLIERS = 15  # matched points that agree on the transform
ORB_FEATURES = 600
MIN_INLIER_SHARE = 0.2  # of the good matches (distinct pages: a few stray points)
MAX_ROTATION_DEG = 5.0
MAX_SCALE_CHANGE = 0.15  # both copies are brought to ALIGN_SIDE: same content, scale ~1


def _dct_matrix(n: int = 32) -> np.ndarray:
    k, x = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


_DCT32 = _dct_matrix()


def detail_of(grey: Image.Image) -> float:
    """How much of the image's 32x32 structure is fine detail that pHash's 8x8 band does not hold (0-1)."""
    small = np.asarray(
        grey.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64
    )
    energy = (_DCT32 @ small @ _DCT32.T) ** 2
    energy[0, 0] = 0.0
    total = float(energy.sum())
    return float(energy[8:, :].sum() + energy[:8, 8:].sum()) / total if total > 1e-9 else 0.0


def _keypoints(path: Path):
    import cv2

    grey: np.ndarray = np.asarray(load_image(path, max_side=ALIGN_SIDE, mode="L"), dtype=np.uint8)
    scale = ALIGN_SIDE / max(grey.shape)
    if (
        abs(scale - 1.0) > 1e-3
    ):  # every image at the same long side: a copy's transform has scale ~1
        grey = cv2.resize(
            grey,
            (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))),
            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        )
    orb = cv2.ORB_create(nfeatures=ORB_FEATURES, fastThreshold=10)  # type: ignore[attr-defined]  # missing from cv2 stubs
    points, descriptors = orb.detectAndCompute(grey, None)
    if descriptors is None or len(points) < MIN_INLIERS:
        return None
    return np.asarray([p.pt for p in points], dtype=np.float32), descriptors


def same_under_alignment(a, b) -> bool:
    """Do keypoint sets ``a`` and ``b`` (from :func:`_keypoints`) show one image, rotated
    by a few degrees, shifted and rescaled? (ratio-tested matches, RANSAC similarity fit)."""
    import cv2

    if a is None or b is None:
        return False
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    good = [
        m[0]
        for m in matcher.knnMatch(a[1], b[1], k=2)
        if len(m) == 2 and m[0].distance < 0.8 * m[1].distance
    ]
    if len(good) < MIN_INLIERS:
        return False
    src = a[0][[m.queryIdx for m in good]]
    dst = b[0][[m.trainIdx for m in good]]
    transform, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=500, confidence=0.99
    )
    if transform is None or inliers is None:
        return False
    count = int(inliers.sum())
    scale = float(np.hypot(transform[0, 0], transform[1, 0]))
    rotation = float(np.degrees(np.arctan2(transform[1, 0], transform[0, 0])))
    return (
        count >= MIN_INLIERS
        and count >= MIN_INLIER_SHARE * len(good)
        and abs(rotation) <= MAX_ROTATION_DEG
        and abs(scale - 1.0) <= MAX_SCALE_CHANGE
    )


def hash_and_detail(path: Path) -> tuple[int, float]:
    """pHash and :func:`detail_of` from one small decode (1/8 scale for a JPEG)."""
    grey = load_image(path, max_side=HASH_SIDE, mode="L")
    return phash_of(grey), detail_of(grey)


def aligned_duplicate_pairs(
    paths: list[Path],
    hashes: list[int],
    max_distance: int,
    near_distance: int = NEAR_DISTANCE,
    min_detail: float = MIN_DETAIL,
    distances: np.ndarray | None = None,
    detail: list[float] | None = None,
) -> list[tuple[int, int]]:
    """Pairs beyond the pHash threshold but within ``near_distance`` whose images are both
    detailed and match under a small rotation + shift (see the section above).

    ``detail``: each image's :func:`detail_of` when known (else read from a small copy,
    only for the images in such pairs)."""
    if len(paths) < 2:
        return []
    d = hamming_matrix(hashes) if distances is None else distances
    i, j = np.nonzero(np.triu((d > max_distance) & (d <= near_distance), k=1))
    if not len(i):
        return []
    details: dict[int, float] = dict(enumerate(detail)) if detail is not None else {}

    def detailed(k: int) -> bool:
        if k not in details:
            try:
                details[k] = detail_of(load_image(paths[k], max_side=HASH_SIDE, mode="L"))
            except Exception:  # unreadable here: the filter step has reported it
                details[k] = 0.0
        return details[k] >= min_detail

    candidates = [
        (a, b) for a, b in zip(i.tolist(), j.tolist(), strict=True) if detailed(a) and detailed(b)
    ]
    points: dict[int, object] = {}
    pairs = []
    for a, b in sorted(candidates, key=lambda p: d[p[0], p[1]]):
        for k in (a, b):
            if k not in points:
                try:
                    points[k] = _keypoints(paths[k])
                except Exception:
                    points[k] = None
        if same_under_alignment(points[a], points[b]):
            pairs.append((a, b))
    return pairs
