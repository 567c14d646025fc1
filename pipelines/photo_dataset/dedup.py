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


def _small32(path: Path) -> np.ndarray:
    """The 32x32 grey copy pHash and :func:`detail_of` work on (imagehash's resize), as float64."""
    grey = load_image(path, max_side=HASH_SIDE, mode="L")
    return np.asarray(grey.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)


def hashes_and_details(paths: list[Path], workers: int = 2) -> tuple[list[int], list[float]]:
    """:func:`hash_and_detail` of many files: the same pHash bits and detail, faster.

    Each file is decoded once at 1/8 scale and shrunk to 32x32 by ``workers`` threads
    (Pillow's decoder and resize release the GIL: both cores); the DCTs of all the
    copies are then a few batched matrix products instead of two SciPy calls per image."""
    if not paths:
        return [], []
    stack = np.stack(_in_threads(_small32, paths, workers))
    # pHash: SciPy's unnormalised DCT-II (imagehash), its 8x8 low band against its median.
    low = _PHASH_DCT8 @ stack @ _PHASH_DCT8.T
    flat = low.reshape(len(paths), 64)
    bits = flat > np.median(flat, axis=1, keepdims=True)
    packed = np.packbits(bits, axis=1)  # 8 bytes per image, first bit highest as in phash_of
    hashes = [int(v) for v in packed.view(">u8").ravel()]
    # detail: the orthonormal 32x32 DCT's energy outside the 8x8 band, DC left out (detail_of).
    energy = (_DCT32 @ stack @ _DCT32.T) ** 2
    energy[:, 0, 0] = 0.0
    total = energy.sum(axis=(1, 2))
    fine = energy[:, 8:, :].sum(axis=(1, 2)) + energy[:, :8, 8:].sum(axis=(1, 2))
    details = np.where(total > 1e-9, fine / np.maximum(total, 1e-300), 0.0)
    return hashes, [float(v) for v in details]


def hamming_matrix(hashes: list[int] | np.ndarray) -> np.ndarray:
    """All-pairs Hamming distances (uint8, n x n) of 64-bit hashes, vectorised."""
    h = np.asarray([int(x) for x in hashes], dtype=np.uint64)
    out = np.empty((len(h), len(h)), dtype=np.uint8)
    for start in range(0, len(h), 1024):  # row blocks bound the temporary memory
        out[start : start + 1024] = np.bitwise_count(h[start : start + 1024, None] ^ h[None, :])
    return out


def near_duplicate_pairs(
    hashes: list[int], max_distance: int, distances: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """Pairs within ``max_distance`` bits (``distances``: their :func:`hamming_matrix` if known)."""
    d = hamming_matrix(hashes) if distances is None else distances
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
# Cost (issue 25): keypoints once per image, only for detailed images in such pairs; each
# pair first on the 200 strongest keypoints of each side (a tenth of the matching), where
# distinct pages give no small-rotation fit at all; files, keypoints and pairs are shared
# by two threads (both cores), and pairs already joined are not checked again. The same
# check reaches small pages (150-400 px on the long side, brought up to ALIGN_SIDE).

NEAR_DISTANCE = 34  # pHash distances (of 64) up to this go to the second comparison (rotated copies: up to 34 seen)
MIN_DETAIL = 0.3  # share of the 32x32 AC energy outside pHash's 8x8 band: detailed images
# long side of the copy the keypoints are found on (512: 1.7x the cost, the same pairs found)
ALIGN_SIDE = 384
MIN_INLIERS = 15  # matched points that agree on the transform
ORB_FEATURES = 600
# pyramid levels: both copies are brought to ALIGN_SIDE, so scale ~1 (8 levels: 1.2x the cost)
ORB_LEVELS = 3
MIN_INLIER_SHARE = 0.15  # of the good matches (distinct pages: a few stray points)
MAX_ROTATION_DEG = 5.0
MAX_SCALE_CHANGE = 0.15  # both copies are brought to ALIGN_SIDE: same content, scale ~1
# strongest keypoints of each image matched first (128: half the cost, but some small rotated
# copies keep only 4-5 inliers there and RANSAC fits a wrong transform: missed)
FIRST_LOOK = 200
FIRST_LOOK_INLIERS = 4  # inliers of a plausible fit there for the full comparison to run


def _dct_matrix(n: int = 32) -> np.ndarray:
    k, x = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


_DCT32 = _dct_matrix()
# imagehash's pHash DCT (scipy.fftpack.dct, type II, no normalisation), the 8 low rows.
_PHASH_DCT8 = 2.0 * np.cos(
    np.pi * (2 * np.arange(32)[None, :] + 1) * np.arange(8)[:, None] / (2 * 32)
)


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
    orb = cv2.ORB_create(nfeatures=ORB_FEATURES, fastThreshold=10, nlevels=ORB_LEVELS)  # type: ignore[attr-defined]  # missing from cv2 stubs
    points, descriptors = orb.detectAndCompute(grey, None)
    if descriptors is None or len(points) < MIN_INLIERS:
        return None
    strongest = np.argsort([-p.response for p in points], kind="stable")
    xy = np.asarray(cv2.KeyPoint_convert(points), dtype=np.float32)  # type: ignore[attr-defined]
    return xy[strongest], descriptors[strongest]


def _fit(a, b, strongest: int | None = None) -> tuple[int, int, float, float]:
    """(ratio-tested matches, RANSAC inliers, rotation in degrees, scale) of the similarity
    transform from keypoints ``a`` to ``b``; ``strongest``: only that many of each side's
    strongest keypoints (they come sorted by response)."""
    import cv2

    pa, da = a if strongest is None else (a[0][:strongest], a[1][:strongest])
    pb, db = b if strongest is None else (b[0][:strongest], b[1][:strongest])
    # The two nearest descriptors of b for each of a, as arrays (no match objects).
    dist, nearest = cv2.batchDistance(da, db, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=2)
    good = dist[:, 0] < 0.8 * dist[:, 1]
    n_good = int(np.count_nonzero(good))
    if n_good < 3:
        return n_good, 0, 0.0, 0.0
    transform, inliers = cv2.estimateAffinePartial2D(
        pa[good],
        pb[nearest[good, 0]],
        method=cv2.RANSAC,
        ransacReprojThreshold=3.0,
        maxIters=500,
        confidence=0.99,
    )
    if transform is None or inliers is None:
        return n_good, 0, 0.0, 0.0
    scale = float(np.hypot(transform[0, 0], transform[1, 0]))
    rotation = float(np.degrees(np.arctan2(transform[1, 0], transform[0, 0])))
    return n_good, int(inliers.sum()), rotation, scale


def _plausible(rotation: float, scale: float) -> bool:
    return abs(rotation) <= MAX_ROTATION_DEG and abs(scale - 1.0) <= MAX_SCALE_CHANGE


def same_under_alignment(a, b) -> bool:
    """Do keypoint sets ``a`` and ``b`` (from :func:`_keypoints`) show one image, rotated
    by a few degrees, shifted and rescaled? (ratio-tested matches, RANSAC similarity fit).

    First on the ``FIRST_LOOK`` strongest keypoints of each (a tenth of the matching
    work): a pair whose fit there is no small rotation with a few inliers is two images
    (distinct pages match at random: the fit turns and scales anyhow); the others are
    decided on all the keypoints."""
    if a is None or b is None:
        return False
    _, inliers, rotation, scale = _fit(a, b, FIRST_LOOK)
    if inliers < FIRST_LOOK_INLIERS or not _plausible(rotation, scale):
        return False
    n_good, inliers, rotation, scale = _fit(a, b)
    return (
        inliers >= MIN_INLIERS
        and inliers >= MIN_INLIER_SHARE * n_good
        and _plausible(rotation, scale)
    )


def hash_and_detail(path: Path) -> tuple[int, float]:
    """pHash and :func:`detail_of` from one small decode (1/8 scale for a JPEG)."""
    grey = load_image(path, max_side=HASH_SIDE, mode="L")
    return phash_of(grey), detail_of(grey)


def _in_threads(fn, items: list, workers: int) -> list:
    """``[fn(x) for x in items]``, by ``workers`` threads when there is enough to share
    (Pillow's decoder and OpenCV release the GIL: both cores)."""
    from concurrent.futures import ThreadPoolExecutor

    if workers <= 1 or len(items) < 4:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="dedup") as pool:
        return list(pool.map(fn, items))


def _detail_or_zero(path: Path) -> float:
    try:
        return detail_of(load_image(path, max_side=HASH_SIDE, mode="L"))
    except Exception:  # unreadable here: the filter step has reported it
        return 0.0


def _keypoints_or_none(path: Path):
    try:
        return _keypoints(path)
    except Exception:
        return None


def aligned_duplicate_pairs(
    paths: list[Path],
    hashes: list[int],
    max_distance: int,
    near_distance: int = NEAR_DISTANCE,
    min_detail: float = MIN_DETAIL,
    distances: np.ndarray | None = None,
    detail: list[float] | None = None,
    workers: int = 2,
) -> list[tuple[int, int]]:
    """Pairs beyond the pHash threshold but within ``near_distance`` whose images are both
    detailed and match under a small rotation + shift (see the section above).

    ``detail``: each image's :func:`detail_of` when known (else read from a small copy,
    only for the images in such pairs). Keypoints are found once per image, only for
    detailed images in such pairs; images and pairs are shared by ``workers`` threads.
    A pair whose images are already joined (by pHash or by pairs checked before) is
    not checked again: the returned pairs join the same groups."""
    d = hamming_matrix(hashes) if distances is None else distances
    return _checked_pairs(paths, d, max_distance, near_distance, min_detail, detail, workers)[1]


def duplicate_pairs(
    paths: list[Path],
    hashes: list[int],
    max_distance: int,
    near_distance: int = NEAR_DISTANCE,
    min_detail: float = MIN_DETAIL,
    distances: np.ndarray | None = None,
    detail: list[float] | None = None,
    workers: int = 2,
) -> list[tuple[int, int]]:
    """All copy links: the pHash pairs within ``max_distance`` and the aligned pairs beyond
    it (:func:`aligned_duplicate_pairs`). A pHash pair of two detailed images counts only
    when they match under alignment too: pHash holds little of such an image, and two
    distinct text pages, blurred by a coarse recompression, can land within the threshold."""
    d = hamming_matrix(hashes) if distances is None else distances
    trusted, confirmed = _checked_pairs(
        paths, d, max_distance, near_distance, min_detail, detail, workers, verify_close=True
    )
    return trusted + confirmed


def _checked_pairs(
    paths: list[Path],
    d: np.ndarray,
    max_distance: int,
    near_distance: int,
    min_detail: float,
    detail: list[float] | None,
    workers: int,
    verify_close: bool = False,
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(pHash pairs taken as they are, pairs confirmed under alignment). Without
    ``verify_close`` every pHash pair is taken and only the near ones are checked."""
    close = np.triu(d <= max_distance, k=1)
    if len(paths) < 2:
        return [], []
    near = (d <= near_distance) if verify_close else (d > max_distance) & (d <= near_distance)
    involved = np.flatnonzero(near.any(axis=1) | near.any(axis=0))
    if detail is not None:
        details = np.asarray(detail, dtype=np.float64)
    else:
        details = np.zeros(len(paths))
        details[involved] = _in_threads(_detail_or_zero, [paths[k] for k in involved], workers)
    is_rich = details >= min_detail
    rich = np.flatnonzero(is_rich)
    if verify_close:  # a pHash pair of two detailed images is checked like a near one
        close &= ~(is_rich[:, None] & is_rich[None, :])
    trusted = [(int(x), int(y)) for x, y in zip(*np.nonzero(close), strict=True)]
    ia, ib = np.nonzero(np.triu(near[np.ix_(rich, rich)], k=1))
    if not len(ia):
        return trusted, []
    a_idx, b_idx = rich[ia], rich[ib]
    order = np.argsort(d[a_idx, b_idx], kind="stable")  # the likeliest copies first
    candidates = list(zip(a_idx[order].tolist(), b_idx[order].tolist(), strict=True))
    wanted = sorted({k for pair in candidates for k in pair})
    points = dict(
        zip(
            wanted,
            _in_threads(_keypoints_or_none, [paths[k] for k in wanted], workers),
            strict=True,
        )
    )
    # Groups so far: the trusted pHash links, then each pair found (union-find).
    parent = list(range(len(paths)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for x, y in trusted:
        parent[root(x)] = root(y)
    pairs = []
    batch = 8 * max(1, workers)
    for start in range(0, len(candidates), batch):
        todo = [(a, b) for a, b in candidates[start : start + batch] if root(a) != root(b)]
        found = _in_threads(
            lambda p: same_under_alignment(points[p[0]], points[p[1]]), todo, workers
        )
        for (a, b), same in zip(todo, found, strict=True):
            if same:
                pairs.append((a, b))
                parent[root(a)] = root(b)
    return trusted, pairs
