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

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..cv_threads import opencv_sequential
from .dedup_aligned import (
    GATE_AGREEING,
    MIN_DETAIL,
    NEAR_DISTANCE,
    Keypoints,
    agreeing_matches,
    fits_one_transform,
    keypoints_or_none,
    same_under_alignment,
)
from .images import check_pixels, decode_jpeg_grey, is_jpeg, jpeg_scale, load_image
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
    return _to32(_small_grey(path, Path(path).read_bytes())[0])


def _to32(grey: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float64)


def _small_grey(path: Path, data: bytes) -> tuple[np.ndarray, int]:
    """The photo (file bytes ``data``) upright and grey (uint8), at least ``HASH_SIDE`` px
    on its long side when it has them, and the reduction it was decoded at (0 when
    Pillow decoded it: not known). A JPEG is decoded by OpenCV at 1/8 scale (at 1/4, 1/2
    or full scale when that leaves under ``HASH_SIDE``), EXIF orientation applied and the
    pixel limit of :func:`.images.load_image` checked on the decoded size: about half the
    CPU of Pillow's draft decode behind ``load_image``, which reads every other format
    and any JPEG OpenCV cannot."""
    if is_jpeg(data):
        factor, grey = 8, decode_jpeg_grey(data, 8)
        if grey is not None and max(grey.shape) < HASH_SIDE:  # a small photo: a larger scale
            factor = jpeg_scale(max(grey.shape) * 8, HASH_SIDE)
            grey = decode_jpeg_grey(data, factor)
        if grey is not None:
            check_pixels(path, grey.shape[1] * factor, grey.shape[0] * factor)
            return grey, factor
    # not a JPEG, or not decodable by OpenCV: Pillow, and its message if it cannot either
    return np.asarray(load_image(path, max_side=HASH_SIDE, mode="L"), dtype=np.uint8), 0


def _coefficients(small: np.ndarray) -> np.ndarray:
    """The orthonormal DCT-II (OpenCV) of a 32x32 copy: what the hash and the detail read."""
    import cv2

    return cv2.dct(small)


def _detail(coeffs: np.ndarray) -> float:
    """The share of a 32x32 copy's AC energy (its DCT ``coeffs``) outside pHash's 8x8 band,
    DC left out: how much of the image pHash does not see (:data:`MIN_DETAIL`)."""
    energy = coeffs * coeffs
    dc = energy[0, 0]
    total = float(energy.sum() - dc)
    if total <= 1e-9:
        return 0.0
    return (total - float(energy[:8, :8].sum() - dc)) / total


def _detail_or_flat(path: Path) -> float:
    try:
        return _detail(_coefficients(_small32(path)))
    except Exception:  # unreadable here: the filter step has reported it (detail 0)
        return 0.0


def _hashes_of(coeffs: np.ndarray) -> list[int]:
    """pHash bits (64, as ints) of a stack of 32x32 DCT coefficients (n x 32 x 32)."""
    # imagehash's DCT (SciPy's, unnormalised) is the orthonormal one scaled per row and
    # column; pHash is its 8x8 low band against its median.
    flat = (coeffs[:, :8, :8] * _PHASH_SCALE).reshape(len(coeffs), 64)
    # the median of the 64 values (the mean of the 32nd and 33rd), as np.median computes
    # it; np.median itself imports numpy.ma on its first call (~35 ms in a fresh process)
    middle = np.partition(flat, (31, 32), axis=1)[:, 31:33]
    bits = flat > (middle[:, :1] + middle[:, 1:]) / 2
    packed = np.packbits(bits, axis=1)  # 8 bytes per image, first bit highest as in phash_of
    return [int(v) for v in packed.view(">u8").ravel()]


def hashes_and_details(paths: list[Path], workers: int = 2) -> tuple[list[int], list[float]]:
    """pHash (64 bits, as an int) and detail (:func:`_detail`) of each file, each from one
    small decode (:func:`_small32`), decoded by ``workers`` threads (the decoders release
    the GIL: both cores)."""
    read = scan(paths, workers, keypoints=False)
    return read.hashes, read.details


@dataclass
class Scan:
    """One read of each file, all the copy check needs: pHash and detail of each photo
    (:func:`hashes_and_details`), the keypoints (:func:`.dedup_aligned.keypoints`) of the
    detailed ones by index (None: too few to compare, or not readable), and for each
    pair of them near in pHash (lower index first) whether they match under alignment
    (:func:`.dedup_aligned.same_under_alignment`). Pass it on to :func:`duplicate_pairs`
    as ``read``."""

    hashes: list[int]
    details: list[float]
    points: dict[int, Keypoints | None]
    same: dict[tuple[int, int], bool]


def scan(
    paths: list[Path], workers: int = 2, min_detail: float = MIN_DETAIL, keypoints: bool = True
) -> Scan:
    """:func:`hashes_and_details`, and in the same pass (``keypoints``) the second
    comparison's first half for the images whose detail is at least ``min_detail``: the
    file is read once, the keypoint copy decoded at the reduction its size asks for, its
    keypoints found and compared with each detailed image read before it within
    ``NEAR_DISTANCE``, while the other thread goes on hashing: :func:`duplicate_pairs`
    is then left with joining the groups."""
    if not paths:
        return Scan([], [], {}, {})
    gate = _Gate() if keypoints else None
    with opencv_sequential():
        read = _in_threads(
            lambda k: _read_one(k, paths[k], min_detail, gate), range(len(paths)), workers
        )
    hashes = _hashes_of(np.stack([coeffs for coeffs, _ in read]))
    points = gate.points if gate else {}
    return Scan(hashes, [detail for _, detail in read], points, gate.same if gate else {})


class _Gate:
    """The second comparison (:func:`.dedup_aligned.same_under_alignment`: the cheap test,
    then the fit of the few pairs that pass it) of each detailed image, as the reading
    threads find its keypoints, with those found before it whose pHash lies within
    ``NEAR_DISTANCE``: each such pair is compared once, by the thread that found the
    later of the two."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.points: dict[int, Keypoints | None] = {}
        self.seen: list[tuple[int, int, Keypoints]] = []
        self.same: dict[tuple[int, int], bool] = {}

    def add(self, k: int, coeffs: np.ndarray, points: Keypoints | None) -> None:
        hash_k = _hashes_of(coeffs[None])[0]
        with self.lock:
            self.points[k] = points
            if points is None:
                return
            earlier = list(self.seen)
            self.seen.append((k, hash_k, points))
        for j, hash_j, points_j in earlier:
            if (hash_k ^ hash_j).bit_count() <= NEAR_DISTANCE:
                pair, (a, b) = (
                    ((j, k), (points_j, points)) if j < k else ((k, j), (points, points_j))
                )
                self.same[pair] = same_under_alignment(a, b)


def _read_one(
    k: int, path: Path, min_detail: float, gate: _Gate | None
) -> tuple[np.ndarray, float]:
    """(DCT of the 32x32 copy, detail) of file ``k``; with a ``gate``, a detailed image's
    keypoints found and tested too."""
    data = Path(path).read_bytes()
    grey, factor = _small_grey(path, data)
    coeffs = _coefficients(_to32(grey))
    detail = _detail(coeffs)
    if gate is not None and detail >= min_detail:
        gate.add(k, coeffs, keypoints_or_none(path, data, max(grey.shape) * factor))
    return coeffs, detail


def hash_and_detail(path: Path) -> tuple[int, float]:
    """:func:`hashes_and_details` of one file."""
    coeffs = _coefficients(_small32(path))
    return _hashes_of(coeffs[None])[0], _detail(coeffs)


def hash_file(path: Path) -> int:
    """pHash of a file, from its small decode (1/8 scale for a JPEG)."""
    return hash_and_detail(path)[0]


def _in_threads(fn, items: Sequence, workers: int) -> list:
    """``[fn(x) for x in items]``, by ``workers`` threads when there is enough to share
    (OpenCV and Pillow release the GIL: both cores). Each thread takes the next item as
    it becomes free, so a few costly items (the detailed images' keypoints) do not leave
    one thread working alone at the end; an exception of ``fn`` is raised here, and the
    other threads take no new item after it."""
    if workers <= 1 or len(items) < 4:
        return [fn(x) for x in items]
    out: list = [None] * len(items)
    todo = iter(range(len(items)))
    take = threading.Lock()

    def work() -> None:
        while True:
            with take:
                k = next(todo, -1)
            if k < 0:
                return
            try:
                out[k] = fn(items[k])
            except BaseException:
                with take:  # the others stop at their next item
                    for _ in todo:
                        pass
                raise

    with ThreadPoolExecutor(workers, thread_name_prefix="dedup") as pool:
        for done in [pool.submit(work) for _ in range(workers)]:
            done.result()
    return out


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
    read: Scan | None = None,
) -> list[tuple[int, int]]:
    """Pairs beyond the pHash threshold but within ``near_distance`` whose images are both
    detailed and match under a small rotation + shift (:mod:`.dedup_aligned`).

    ``detail``: each image's detail (:func:`hashes_and_details`) when known (else read
    from a small copy, only for the images in such pairs). ``read``: the :func:`scan` of
    ``paths``, whose details, keypoints and cheap tests are taken as they are. Other
    keypoints are found once per image, only for detailed images in such pairs; images and pairs are shared by
    ``workers`` threads. A pair whose images are already joined (by pHash or by pairs
    confirmed before) is not fitted again: the returned pairs join the same groups."""
    d = hamming_matrix(hashes) if distances is None else distances
    with opencv_sequential():
        return _checked_pairs(
            paths, d, max_distance, near_distance, min_detail, detail, workers, read
        )[1]


def duplicate_pairs(
    paths: list[Path],
    hashes: list[int],
    max_distance: int,
    near_distance: int = NEAR_DISTANCE,
    min_detail: float = MIN_DETAIL,
    distances: np.ndarray | None = None,
    detail: list[float] | None = None,
    workers: int = 2,
    read: Scan | None = None,
) -> list[tuple[int, int]]:
    """All copy links: the pHash pairs within ``max_distance`` and the aligned pairs beyond
    it (:func:`aligned_duplicate_pairs`). A pHash pair of two detailed images counts only
    when they match under alignment too: pHash holds little of such an image, and two
    distinct text pages, blurred by a coarse recompression, can land within the threshold."""
    d = hamming_matrix(hashes) if distances is None else distances
    with opencv_sequential():
        trusted, confirmed = _checked_pairs(
            paths, d, max_distance, near_distance, min_detail, detail, workers, read, True
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
    read: Scan | None,
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
    if detail is None and read is not None:
        detail = read.details
    if detail is not None:
        details[:] = detail
    elif len(involved):
        details[involved] = _in_threads(_detail_or_flat, [paths[k] for k in involved], workers)
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
    known = read.points if read is not None else {}
    verdicts = read.same if read is not None else {}
    untested = [pair for pair in candidates if pair not in verdicts]
    wanted = sorted({k for pair in untested for k in pair} - set(known))
    found = _in_threads(keypoints_or_none, [paths[k] for k in wanted], workers)
    points = {**known, **dict(zip(wanted, found, strict=True))}
    # The cheap test on every candidate pair the scan did not decide (both cores), the
    # fits only on the pairs that pass it.
    passed = _in_threads(
        lambda p: (
            points[p[0]] is not None
            and points[p[1]] is not None
            and agreeing_matches(points[p[0]], points[p[1]]) >= GATE_AGREEING
        ),
        untested,
        workers,
    )
    passing = {pair for pair, ok in zip(untested, passed, strict=True) if ok}
    candidates = [pair for pair in candidates if verdicts.get(pair) or pair in passing]
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
        unfitted = [pair for pair in todo if pair not in verdicts]
        fitted = _in_threads(
            lambda p: fits_one_transform(points[p[0]], points[p[1]]), unfitted, workers
        )
        same = {**verdicts, **dict(zip(unfitted, fitted, strict=True))}
        for a, b in todo:
            if same[(a, b)]:
                pairs.append((a, b))
                parent[root(a)] = root(b)
    return trusted, pairs
