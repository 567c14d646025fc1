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
    return list(zip(i.tolist(), j.tolist()))


# --------------------------------------------------------------------------- bursts


def is_burst(a: Subject, b: Subject, o: DedupOptions) -> bool:
    """Same person, same place, same pose: seed 002's rule (see the module text)."""
    if a.face is None or b.face is None or not boxes_close(a.face, b.face, o.bbox_tol_c, o.bbox_tol_wh):
        return False
    pose = pose_similarity(a, b)
    if pose is not None and pose < o.pose_sim_th:
        return False
    sim, ssim = face_similarity(a, b), face_ssim(a, b)
    if sim is None or ssim is None:
        return False
    return (sim >= o.face_sim_th2 and ssim >= o.face_ssim_th1) or (sim >= o.face_sim_th1 and ssim >= o.face_ssim_th2)


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


def choose_keepers(members: list[int], sharpness: list[float], hashes: list[int], keep: int,
                   copy_distance: int = 10, pixels: list[int] | None = None) -> list[int]:
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
        score[nearest * 32.0 <= copy_distance] = -np.inf  # copies of a kept photo (and the kept ones)
        if not np.isfinite(score.max()):
            break
        chosen.append(int(np.argmax(score)))
    return [members[c] for c in chosen]
