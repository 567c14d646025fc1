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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .dedup_aligned import (  # noqa: F401  (MIN_DETAIL, NEAR_DISTANCE and the check: importable from here)
    GATE_AGREEING,
    MIN_DETAIL,
    NEAR_DISTANCE,
    agreeing_matches,
    fits_one_transform,
    keypoints_or_none,
    same_under_alignment,
)
from .images import check_pixels, load_image
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


def _small32(path: Path) -> np.ndarray:
    """The 32x32 grey copy the hashes and the detail measure work on: one small decode
    (:func:`_small_grey`), averaged down to 32x32 (OpenCV's area resampling), as float64."""
    import cv2

    return cv2.resize(_small_grey(path), (32, 32), interpolation=cv2.INTER_AREA).astype(np.float64)


_JPEG_SCALES = (8, 4, 2, 1)  # the reductions libjpeg decodes directly


def _small_grey(path: Path) -> np.ndarray:
    """The photo upright and grey (uint8), at least ``HASH_SIDE`` px on its long side when
    it has them. A JPEG is decoded by OpenCV at 1/8 scale (at 1/4, 1/2 or full scale when
    that leaves under ``HASH_SIDE``), EXIF orientation applied and the pixel limit of
    :func:`.images.load_image` checked on the decoded size: about half the CPU of
    Pillow's draft decode behind ``load_image``, which reads every other format and any
    JPEG OpenCV cannot."""
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    if data[:3].tobytes() != b"\xff\xd8\xff":
        return np.asarray(load_image(path, max_side=HASH_SIDE, mode="L"), dtype=np.uint8)
    flags = {
        8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
        4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
        2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
        1: cv2.IMREAD_GRAYSCALE,
    }
    factor, grey = 8, cv2.imdecode(data, flags[8])
    if grey is not None and max(grey.shape) < HASH_SIDE:  # a small photo: a larger scale
        long_side = max(grey.shape) * 8
        factor = max(f for f in _JPEG_SCALES if long_side >= HASH_SIDE * f or f == 1)
        grey = cv2.imdecode(data, flags[factor])
    if grey is None:  # not decodable by OpenCV: Pillow, and its message if it cannot either
        return np.asarray(load_image(path, max_side=HASH_SIDE, mode="L"), dtype=np.uint8)
    check_pixels(path, grey.shape[1] * factor, grey.shape[0] * factor)
    return grey


def _small32_or_flat(path: Path) -> np.ndarray:
    try:
        return _small32(path)
    except Exception:  # unreadable here: the filter step has reported it (detail 0)
        return np.zeros((32, 32))


def _hashes_of(stack: np.ndarray) -> tuple[list[int], list[float]]:
    """pHash bits and detail of a stack of 32x32 copies (n x 32 x 32, float64), from one
    orthonormal DCT-II of each (OpenCV)."""
    import cv2

    coeffs = np.stack([cv2.dct(small) for small in stack])
    # pHash: imagehash's DCT (SciPy's, unnormalised) is this one scaled per row and column;
    # its 8x8 low band against its median.
    low = coeffs[:, :8, :8] * _PHASH_SCALE
    flat = low.reshape(len(stack), 64)
    # the median of the 64 values (the mean of the 32nd and 33rd), as np.median computes
    # it; np.median itself imports numpy.ma on its first call (~35 ms in a fresh process)
    middle = np.partition(flat, (31, 32), axis=1)[:, 31:33]
    bits = flat > (middle[:, :1] + middle[:, 1:]) / 2
    packed = np.packbits(bits, axis=1)  # 8 bytes per image, first bit highest as in phash_of
    hashes = [int(v) for v in packed.view(">u8").ravel()]
    # detail: the energy outside the 8x8 band, DC left out.
    energy = coeffs**2
    energy[:, 0, 0] = 0.0
    total = energy.sum(axis=(1, 2))
    fine = total - energy[:, :8, :8].sum(axis=(1, 2))
    details = np.where(total > 1e-9, fine / np.maximum(total, 1e-300), 0.0)
    return hashes, [float(v) for v in details]


def hashes_and_details(paths: list[Path], workers: int = 2) -> tuple[list[int], list[float]]:
    """pHash (64 bits, as an int) and detail (:data:`MIN_DETAIL`) of each file, each from
    one small decode (:func:`_small32`), decoded by ``workers`` threads (Pillow's decoder
    releases the GIL: both cores). The detail is the share of the 32x32 copy's AC energy
    outside pHash's 8x8 band: how much of the image pHash does not see."""
    if not paths:
        return [], []
    return _hashes_of(np.stack(_in_threads(_small32, paths, workers)))


def hash_and_detail(path: Path) -> tuple[int, float]:
    """:func:`hashes_and_details` of one file."""
    hashes, details = _hashes_of(_small32(path)[None])
    return hashes[0], details[0]


def hash_file(path: Path) -> int:
    """pHash of a file, from its small decode (1/8 scale for a JPEG)."""
    return hash_and_detail(path)[0]


def _in_threads(fn, items: list, workers: int) -> list:
    """``[fn(x) for x in items]``, by ``workers`` threads when there is enough to share
    (Pillow's decoder and OpenCV release the GIL: both cores), in a few chunks each."""
    if workers <= 1 or len(items) < 4:
        return [fn(x) for x in items]
    size = -(-len(items) // (4 * workers))
    chunks = [items[k : k + size] for k in range(0, len(items), size)]
    with ThreadPoolExecutor(workers, thread_name_prefix="dedup") as pool:
        return [y for part in pool.map(lambda chunk: [fn(x) for x in chunk], chunks) for y in part]


# SciPy's unnormalised DCT-II of 32 values over the orthonormal one: 2 sqrt(32) for the
# first coefficient, sqrt(2 * 32) for the others; in 2-D the product of the row's and the column's.
_PHASH_ROW = np.array([2.0 * np.sqrt(32.0)] + [np.sqrt(64.0)] * 7)
_PHASH_SCALE = _PHASH_ROW[:, None] * _PHASH_ROW[None, :]


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
    """One label per photo: the connected components of the links (SciPy's csgraph on a
    sparse graph), numbered in the order of each component's first photo."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n == 0:
        return np.zeros(0, dtype=int)
    pairs = np.asarray(links, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), pairs.T), shape=(n, n))
    return connected_components(graph, directed=False)[1]


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
# (the geometric comparison itself: dedup_aligned.py)


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
    detailed and match under a small rotation + shift (:mod:`.dedup_aligned`).

    ``detail``: each image's detail (:func:`hashes_and_details`) when known (else read
    from a small copy, only for the images in such pairs). Keypoints are found once per
    image, only for detailed images in such pairs; images and pairs are shared by
    ``workers`` threads. A pair whose images are already joined (by pHash or by pairs
    confirmed before) is not fitted again: the returned pairs join the same groups."""
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
    details = np.zeros(len(paths))
    if detail is not None:
        details[:] = detail
    elif len(involved):
        small = np.stack(_in_threads(_small32_or_flat, [paths[k] for k in involved], workers))
        details[involved] = _hashes_of(small)[1]
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
    found = _in_threads(keypoints_or_none, [paths[k] for k in wanted], workers)
    points = dict(zip(wanted, found, strict=True))
    # The cheap test on every candidate pair at once (both cores), the fits only on the
    # pairs that pass it.
    agree = _in_threads(
        lambda p: (
            points[p[0]] is not None
            and points[p[1]] is not None
            and agreeing_matches(points[p[0]], points[p[1]]) >= GATE_AGREEING
        ),
        candidates,
        workers,
    )
    candidates = [pair for pair, ok in zip(candidates, agree, strict=True) if ok]
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
        same = _in_threads(lambda p: fits_one_transform(points[p[0]], points[p[1]]), todo, workers)
        for (a, b), ok in zip(todo, same, strict=True):
            if ok:
                pairs.append((a, b))
                parent[root(a)] = root(b)
    return trusted, pairs
