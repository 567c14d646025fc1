"""Aligning the driving poses to the reference, and the negative augmentation.

**Alignment** (SteadyDancer's ``pose_align.py``): the dancer of the driving video
rarely has the reference person's proportions or place in the frame. From the
reference skeleton and the first driving skeleton we take one scale per body
part (neck, each side of the face, shoulders, upper and lower arms, torso,
upper and lower legs: reference length / driving length) and an offset (the
reference neck minus the driving neck). Every driving frame is then rebuilt
from the neck outwards with each limb scaled by its part's scale, and moved by
the offset. Lengths are measured in units of the frame height (x times the
frame's width/height), so frames of different aspect compare fairly; the result
is normalised to the reference frame.

**Negative augmentation** (SteadyDancer's ``utils_aug.pose_aug_diff``): for its
negative condition every aligned pose is stretched sideways by a random factor
(0.6–1.4), scaled (0.7–1.3) and moved back so the neck stays put, a new draw for
every frame.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from pipelines.dance.poses import NECK, POINTS, visible

# point -> (parent, body part); the tree is walked from the neck outwards in this order.
TREE: list[tuple[int, int, str]] = [
    (0, 1, "neck"),
    (14, 0, "face_right"),
    (16, 14, "face_right"),
    (15, 0, "face_left"),
    (17, 15, "face_left"),
    (2, 1, "shoulder"),
    (5, 1, "shoulder"),
    (3, 2, "arm_upper"),
    (6, 5, "arm_upper"),
    (4, 3, "arm_lower"),
    (7, 6, "arm_lower"),
    (8, 1, "body"),
    (11, 1, "body"),
    (9, 8, "leg_upper"),
    (12, 11, "leg_upper"),
    (10, 9, "leg_lower"),
    (13, 12, "leg_lower"),
]
PARTS = (
    "neck",
    "face_right",
    "face_left",
    "shoulder",
    "arm_upper",
    "arm_lower",
    "body",
    "leg_upper",
    "leg_lower",
)
NEGATIVE_ASPECT = (0.6, 1.4)
NEGATIVE_SCALE = (0.7, 1.3)


@dataclass
class Alignment:
    """Per-part scales and the neck offset (reference frame, height units)."""

    scales: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PARTS, 1.0))
    offset: tuple[float, float] = (0.0, 0.0)
    ref_ratio: float = 1.0  # reference width / height
    video_ratio: float = 1.0  # driving video width / height

    def to_dict(self) -> dict:
        return {
            "scales": {k: round(v, 4) for k, v in self.scales.items()},
            "offset": [round(self.offset[0], 4), round(self.offset[1], 4)],
            "ref_ratio": round(self.ref_ratio, 4),
            "video_ratio": round(self.video_ratio, 4),
        }


def _units(kps: np.ndarray, ratio: float) -> np.ndarray:
    """x, y in units of the frame height."""
    pts = kps[:, :2].copy()
    pts[:, 0] *= ratio
    return pts


def _length(pts: np.ndarray, seen: np.ndarray, chain: list[int]) -> float:
    if not all(seen[i] for i in chain):
        return float("nan")
    return float(sum(np.linalg.norm(pts[a] - pts[b]) for a, b in itertools.pairwise(chain)))


def _part_lengths(pts: np.ndarray, seen: np.ndarray) -> dict[str, list[float]]:
    hips_mid = (pts[8] + pts[11]) / 2
    body = (
        float(np.linalg.norm(pts[1] - hips_mid))
        if seen[1] and seen[8] and seen[11]
        else float("nan")
    )
    return {
        "neck": [_length(pts, seen, [0, 1])],
        "face_right": [_length(pts, seen, [16, 14, 0])],
        "face_left": [_length(pts, seen, [17, 15, 0])],
        "shoulder": [_length(pts, seen, [2, 5])],
        "arm_upper": [_length(pts, seen, [2, 3]), _length(pts, seen, [5, 6])],
        "arm_lower": [_length(pts, seen, [3, 4]), _length(pts, seen, [6, 7])],
        "body": [body],
        "leg_upper": [_length(pts, seen, [8, 9]), _length(pts, seen, [11, 12])],
        "leg_lower": [_length(pts, seen, [9, 10]), _length(pts, seen, [12, 13])],
    }


def fit_alignment(
    reference: np.ndarray, first: np.ndarray, ref_ratio: float, video_ratio: float
) -> Alignment:
    """Scales and offset that carry ``first`` (a driving skeleton) onto ``reference``.

    A part missing from either skeleton takes the mean of the parts found (1 if
    none), as SteadyDancer does."""
    ref_pts, first_pts = _units(reference, ref_ratio), _units(first, video_ratio)
    ref_len = _part_lengths(ref_pts, visible(reference))
    first_len = _part_lengths(first_pts, visible(first))
    scales: dict[str, float] = {}
    for part in PARTS:
        ratios = [
            r / f
            for r, f in zip(ref_len[part], first_len[part], strict=True)
            if np.isfinite(r) and np.isfinite(f) and f > 1e-6 and r > 1e-6
        ]
        scales[part] = float(np.mean(ratios)) if ratios else float("nan")
    found = [v for v in scales.values() if np.isfinite(v)]
    fallback = float(np.mean(found)) if found else 1.0
    scales = {k: (v if np.isfinite(v) else fallback) for k, v in scales.items()}
    offset = (0.0, 0.0)
    if visible(reference)[NECK] and visible(first)[NECK]:
        d = ref_pts[NECK] - first_pts[NECK]
        offset = (float(d[0]), float(d[1]))
    return Alignment(scales=scales, offset=offset, ref_ratio=ref_ratio, video_ratio=video_ratio)


def apply_alignment(kps: np.ndarray, alignment: Alignment) -> np.ndarray:
    """A driving skeleton rebuilt with the reference's proportions and place,
    normalised to the reference frame. Missing points stay missing; a point
    whose parent is missing moves with its nearest seen ancestor."""
    seen = visible(kps)
    pts = _units(kps, alignment.video_ratio)
    shift = np.zeros((POINTS, 2))  # how far each point moves (before the offset)
    for point, parent, part in TREE:
        shift[point] = shift[parent]
        if seen[point] and seen[parent]:
            shift[point] += (alignment.scales[part] - 1.0) * (pts[point] - pts[parent])
    out = kps.copy()
    moved = pts + shift + np.asarray(alignment.offset)
    out[:, 0] = moved[:, 0] / alignment.ref_ratio
    out[:, 1] = moved[:, 1]
    out[~seen, :2] = np.nan
    return out


def augment_negative(kps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """SteadyDancer's negative pose: random sideways stretch and scale, neck kept in place."""
    seen = visible(kps)
    if not seen[NECK]:
        return kps.copy()
    aspect = rng.uniform(*NEGATIVE_ASPECT)
    scale = rng.uniform(*NEGATIVE_SCALE)
    out = kps.copy()
    out[:, 0] *= aspect
    out[:, :2] *= scale
    out[:, :2] += kps[NECK, :2] - out[NECK, :2]
    out[~seen, :2] = np.nan
    return out
