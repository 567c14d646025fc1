"""Body poses from MediaPipe, as OpenPose-18 skeletons.

SteadyDancer's own preprocessing uses DWPose (mmcv/mmpose, a fragile install).
The studio uses MediaPipe pose (in the wheel, offline, CPU) and maps its 33
landmarks to the 18 OpenPose body points DWPose draws:

    0 nose, 1 neck, 2 right shoulder, 3 right elbow, 4 right wrist, 5 left shoulder,
    6 left elbow, 7 left wrist, 8 right hip, 9 right knee, 10 right ankle, 11 left hip,
    12 left knee, 13 left ankle, 14 right eye, 15 left eye, 16 right ear, 17 left ear

The neck (1) has no MediaPipe landmark: it is the midpoint of the shoulders.

A skeleton is a float array of shape (18, 3): x and y normalised to the frame
(0..1) and a score; a point the detector did not see has score 0 and NaN
coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# MediaPipe landmark index for each OpenPose-18 point (None: the neck, computed).
MEDIAPIPE_TO_OPENPOSE: list[int | None] = [
    0,
    None,
    12,
    14,
    16,
    11,
    13,
    15,
    24,
    26,
    28,
    23,
    25,
    27,
    5,
    2,
    8,
    7,
]
POINTS = 18
NECK = 1
FACE_POINTS = (0, 14, 15, 16, 17)
MIN_VISIBILITY = 0.5  # MediaPipe visibility below this counts as not seen
DETECT_SIDE = 512  # frames are shrunk to this longer side before detection (MediaPipe works at 256)


def empty_skeleton() -> np.ndarray:
    kps = np.full((POINTS, 3), np.nan, dtype=np.float64)
    kps[:, 2] = 0.0
    return kps


def visible(kps: np.ndarray) -> np.ndarray:
    """Boolean mask of the points that were seen."""
    return (kps[:, 2] > 0) & np.isfinite(kps[:, 0]) & np.isfinite(kps[:, 1])


def from_mediapipe(landmarks: Any, min_visibility: float = MIN_VISIBILITY) -> np.ndarray:
    """OpenPose-18 skeleton from MediaPipe's 33 ``pose_landmarks.landmark``."""
    kps = empty_skeleton()
    for target, source in enumerate(MEDIAPIPE_TO_OPENPOSE):
        if source is None:
            continue
        lm = landmarks[source]
        if lm.visibility >= min_visibility:
            kps[target] = (lm.x, lm.y, lm.visibility)
    right, left = kps[2], kps[5]
    if right[2] > 0 and left[2] > 0:
        kps[NECK] = ((right[0] + left[0]) / 2, (right[1] + left[1]) / 2, min(right[2], left[2]))
    return kps


def has_person(kps: np.ndarray | None) -> bool:
    """A skeleton worth using: at least the neck and 4 more points."""
    return kps is not None and bool(visible(kps)[NECK]) and int(visible(kps).sum()) >= 5


class PoseDetector:
    """MediaPipe pose, loaded once: ``video=True`` tracks across frames of one
    clip (faster, steadier), ``video=False`` treats each image on its own."""

    def __init__(self, video: bool = True, model_complexity: int = 1):
        import mediapipe as mp  # heavy: imported when a detector is made

        self._pose = mp.solutions.pose.Pose(
            static_image_mode=not video,
            model_complexity=model_complexity,
            enable_segmentation=False,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )

    def detect(self, rgb: np.ndarray) -> np.ndarray | None:
        """The skeleton of the most prominent person in an RGB frame, or None."""
        frame = shrink(rgb, DETECT_SIDE)
        result = self._pose.process(np.ascontiguousarray(frame))
        if result.pose_landmarks is None:
            return None
        kps = from_mediapipe(result.pose_landmarks.landmark)
        return kps if has_person(kps) else None

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> PoseDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def shrink(rgb: np.ndarray, side: int) -> np.ndarray:
    import cv2

    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return rgb
    return cv2.resize(
        rgb,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_LINEAR,  # MediaPipe resamples to 256 anyway
    )


def face_box(kps: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """A square (x, y, side, side) in pixels around the face points (nose, eyes,
    ears), sized from the ear/eye span or the shoulders; None without a face."""
    seen = visible(kps)
    face = [i for i in FACE_POINTS if seen[i]]
    if not face:
        return None
    xs, ys = kps[face, 0] * width, kps[face, 1] * height
    span = max(float(np.ptp(xs)), float(np.ptp(ys)))
    if seen[2] and seen[5]:
        span = max(
            span,
            0.6
            * float(np.hypot((kps[2, 0] - kps[5, 0]) * width, (kps[2, 1] - kps[5, 1]) * height)),
        )
    side = max(16, round(span * 2.2))
    cx, cy = float(xs.mean()), float(ys.mean())
    return round(cx - side / 2), round(cy - side / 2), side, side
