"""Drawing OpenPose-18 skeletons the way SteadyDancer's pose frames look.

DWPose's body drawing (OpenPose/ControlNet lineage): 17 limbs as filled
ellipses in 18 fixed colours, dimmed to 60 %, then the joints as dots in full
colour, on black. SteadyDancer's preprocessing (MusePose code) applies that
colour table in OpenCV's BGR order, so in its JPEGs the neck→nose limb is red
and the shoulder line blue; the studio writes the same. Line width and dot size
follow the frame size as in SteadyDancer's frames (4 px on a 1312 px side).
"""

from __future__ import annotations

import math

import numpy as np

from pipelines.dance.poses import visible

# 1-based point pairs, DWPose's limbSeq (the last two, ear-shoulder, are not drawn).
LIMBS = [
    (2, 3),
    (2, 6),
    (3, 4),
    (4, 5),
    (6, 7),
    (7, 8),
    (2, 9),
    (9, 10),
    (10, 11),
    (2, 12),
    (12, 13),
    (13, 14),
    (2, 1),
    (1, 15),
    (15, 17),
    (1, 16),
    (16, 18),
    (3, 17),
    (6, 18),
]
DRAWN_LIMBS = 17
# DWPose's colour table, one per limb and per point, used as BGR like SteadyDancer.
COLORS = [
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
    (255, 0, 85),
]
LIMB_DIM = 0.6
# DWPose dims the canvas to 60 % after drawing the limbs; on black that is the limb colours at 60 %.
DIMMED = [tuple(int(c * LIMB_DIM) for c in color) for color in COLORS]


def stroke(width: int, height: int) -> int:
    return max(1, round(4 * min(width, height) / 1312))


def draw_skeleton(
    canvas_bgr: np.ndarray, kps: np.ndarray | None, dim_limbs: bool = True
) -> np.ndarray:
    """Draw ``kps`` (normalised OpenPose-18, see ``poses``) on a BGR image in place;
    ``dim_limbs`` draws the limbs at 60 % (DWPose's look: it dims the black canvas
    after the limbs). Returns the canvas."""
    import cv2

    if kps is None:
        return canvas_bgr
    height, width = canvas_bgr.shape[:2]
    seen = visible(kps)
    px = kps[:, 0] * width
    py = kps[:, 1] * height
    thick = stroke(width, height)
    for i in range(DRAWN_LIMBS):
        a, b = LIMBS[i][0] - 1, LIMBS[i][1] - 1
        if not (seen[a] and seen[b]):
            continue
        mx, my = (px[a] + px[b]) / 2, (py[a] + py[b]) / 2
        length = math.hypot(px[a] - px[b], py[a] - py[b])
        angle = math.degrees(math.atan2(py[a] - py[b], px[a] - px[b]))
        polygon = cv2.ellipse2Poly(
            (int(mx), int(my)), (int(length / 2), thick), int(angle), 0, 360, 1
        )
        cv2.fillConvexPoly(canvas_bgr, np.asarray(polygon), DIMMED[i] if dim_limbs else COLORS[i])
    for i in range(len(COLORS)):
        if seen[i]:
            cv2.circle(canvas_bgr, (int(px[i]), int(py[i])), thick, COLORS[i], thickness=-1)
    return canvas_bgr


def render_pose(kps: np.ndarray | None, width: int, height: int) -> np.ndarray:
    """A pose frame: the skeleton on black, BGR (write it with ``cv2.imwrite``)."""
    return draw_skeleton(np.zeros((height, width, 3), dtype=np.uint8), kps)


def overlay(rgb: np.ndarray, kps: np.ndarray | None) -> np.ndarray:
    """The skeleton drawn over a copy of a video frame (RGB in, RGB out), for
    previews; the colour table is reversed so the colours match the pose frames."""
    import cv2

    out = np.array(rgb, copy=True)
    if kps is None:
        return out
    height, width = out.shape[:2]
    seen = visible(kps)
    px, py = kps[:, 0] * width, kps[:, 1] * height
    thick = stroke(width, height) + 1
    for i in range(DRAWN_LIMBS):
        a, b = LIMBS[i][0] - 1, LIMBS[i][1] - 1
        if seen[a] and seen[b]:
            start, end = (int(px[a]), int(py[a])), (int(px[b]), int(py[b]))
            cv2.line(out, start, end, COLORS[i][::-1], thick, cv2.LINE_AA)
    for i in range(len(COLORS)):
        if seen[i]:
            cv2.circle(out, (int(px[i]), int(py[i])), thick, COLORS[i][::-1], thickness=-1)
    return out
