"""Where the person is in a photo: face box, body pose, face crop, identity embedding.

MediaPipe's face detector (full range) and pose landmarker ship inside the
mediapipe wheel and run offline on CPU. InsightFace identity embeddings are used
when a model folder (``buffalo_l``) is configured: ``insightface_model_dir`` or the
``STUDIO_INSIGHTFACE_DIR`` environment variable. The libraries are imported when a
:class:`SubjectDetector` is created, never at module import.

All boxes are normalised (x0, y0, x1, y1) in 0..1 of the upright image.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

FACE_CROP = 64  # side of the grey face crop kept for SSIM


class SubjectError(RuntimeError):
    """A detector could not be set up; the message says what to do."""


@dataclass
class Subject:
    face: tuple[float, float, float, float] | None = None
    face_score: float = 0.0
    faces: int = 0
    pose: np.ndarray | None = None  # (33, 3): x, y, visibility (normalised)
    face_crop: np.ndarray | None = None  # FACE_CROP x FACE_CROP grey uint8
    embedding: np.ndarray | None = None  # identity, L2-normalised (InsightFace)

    def head_box(self) -> tuple[float, float, float, float] | None:
        """The whole head (hair, chin, ears) around the detected face box."""
        if self.face is None:
            return None
        x0, y0, x1, y1 = self.face
        w, h = x1 - x0, y1 - y0
        return (x0 - 0.35 * w, y0 - 0.6 * h, x1 + 0.35 * w, y1 + 0.25 * h)

    def body_box(self, min_visibility: float = 0.5) -> tuple[float, float, float, float] | None:
        if self.pose is None:
            return None
        seen = self.pose[self.pose[:, 2] >= min_visibility]
        if len(seen) < 4:
            return None
        x = np.clip(seen[:, 0], 0, 1)
        y = np.clip(seen[:, 1], 0, 1)
        return (float(x.min()), float(y.min()), float(x.max()), float(y.max()))


def insightface_dir(configured: str | None) -> Path | None:
    value = configured or os.environ.get("STUDIO_INSIGHTFACE_DIR", "")
    return Path(value).expanduser() if value else None


INSIGHTFACE_HOW = (
    "download buffalo_l (https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip), "
    "unzip it and set STUDIO_INSIGHTFACE_DIR (or the dedup option insightface_model_dir) to that folder"
)


def check_insightface(configured: str | None) -> Path | None:
    """The InsightFace model folder to use, None when not configured; raises when configured but unusable.

    Cheap enough for a request: the folder is not searched here (the detector
    looks for its ``.onnx`` models when a job creates it)."""
    folder = insightface_dir(configured)
    if folder is None:
        return None
    if not folder.is_dir():
        raise SubjectError(f"InsightFace model folder {folder} not found: {INSIGHTFACE_HOW}")
    try:
        import insightface  # noqa: F401
    except ImportError:
        raise SubjectError(
            "InsightFace is configured but not installed: pip install insightface onnxruntime"
        ) from None
    return folder


class SubjectDetector:
    """MediaPipe face + pose (and InsightFace when configured), loaded once; use as a context manager."""

    def __init__(
        self,
        insightface_model_dir: str | None = None,
        log: Callable[[str], None] = lambda line: None,
        pose: bool = True,
    ):
        os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ log lines
        warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype")
        import mediapipe as mp

        self._faces = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=0.5
        )
        # model_complexity=1 is the pose model shipped in the wheel (0 and 2 are downloaded)
        self._pose = (
            mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) if pose else None
        )
        self._insight = None
        folder = check_insightface(insightface_model_dir)
        if folder is None:
            log(
                "dedup: InsightFace not configured (STUDIO_INSIGHTFACE_DIR); face similarity uses face-crop correlation"
            )
        else:
            from insightface.model_zoo import get_model

            models: dict[str, Any] = {}
            for onnx in sorted(folder.rglob("*.onnx")):
                model = get_model(str(onnx), providers=["CPUExecutionProvider"])
                if model is not None and model.taskname in ("detection", "recognition"):
                    models.setdefault(model.taskname, model)
            if len(models) < 2:
                raise SubjectError(
                    f"InsightFace model folder {folder} lacks a detection or recognition .onnx "
                    f"model: use the full buffalo_l folder ({INSIGHTFACE_HOW})"
                )
            models["detection"].prepare(ctx_id=-1, input_size=(640, 640))
            models["recognition"].prepare(ctx_id=-1)
            self._insight = models
            log(f"dedup: InsightFace identity embeddings from {folder}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for detector in (self._faces, self._pose):
            if detector is not None:
                detector.close()
        self._faces = self._pose = None

    def detect(self, image: Image.Image) -> Subject:
        rgb = np.ascontiguousarray(np.asarray(image.convert("RGB")))
        h, w = rgb.shape[:2]
        subject = Subject()
        found = self._faces.process(rgb).detections or []
        subject.faces = len(found)
        if found:

            def area(d):
                b = d.location_data.relative_bounding_box
                return b.width * b.height

            best = max(found, key=area)
            b = best.location_data.relative_bounding_box
            subject.face = (
                max(0.0, b.xmin),
                max(0.0, b.ymin),
                min(1.0, b.xmin + b.width),
                min(1.0, b.ymin + b.height),
            )
            subject.face_score = float(best.score[0])
            x0, y0, x1, y1 = subject.face
            grey = image.convert("L").crop(
                (
                    int(x0 * w),
                    int(y0 * h),
                    max(int(x1 * w), int(x0 * w) + 1),
                    max(int(y1 * h), int(y0 * h) + 1),
                )
            )
            subject.face_crop = np.asarray(
                grey.resize((FACE_CROP, FACE_CROP), Image.Resampling.BILINEAR)
            )
        if self._pose is not None:
            result = self._pose.process(rgb)
            if result.pose_landmarks is not None:
                subject.pose = np.array(
                    [(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark],
                    dtype=np.float32,
                )
        if self._insight is not None:
            from insightface.app.common import Face

            bgr = np.ascontiguousarray(rgb[:, :, ::-1])
            boxes, points = self._insight["detection"].detect(bgr, max_num=0, metric="default")
            if len(boxes):
                i = int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
                face = Face(
                    bbox=boxes[i, :4],
                    kps=None if points is None else points[i],
                    det_score=boxes[i, 4],
                )
                self._insight["recognition"].get(bgr, face)
                subject.embedding = np.asarray(face.normed_embedding, dtype=np.float32)
        return subject


# --------------------------------------------------------------------------- similarities


def face_similarity(a: Subject, b: Subject) -> float | None:
    """Identity similarity in -1..1: InsightFace cosine when both have embeddings,
    else the normalised correlation of the grey face crops; None without two faces."""
    if a.embedding is not None and b.embedding is not None:
        return float(np.dot(a.embedding, b.embedding))
    if a.face_crop is None or b.face_crop is None:
        return None
    u = a.face_crop.astype(np.float32).ravel()
    v = b.face_crop.astype(np.float32).ravel()
    u, v = u - u.mean(), v - v.mean()
    denom = float(np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.dot(u, v) / denom) if denom > 1e-6 else 0.0


def face_ssim(a: Subject, b: Subject) -> float | None:
    if a.face_crop is None or b.face_crop is None:
        return None
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a.face_crop, b.face_crop, data_range=255))


def pose_similarity(a: Subject, b: Subject, min_visibility: float = 0.5) -> float | None:
    """Cosine similarity in -1..1 of the landmarks both poses see, centred and scaled."""
    if a.pose is None or b.pose is None:
        return None
    both = (a.pose[:, 2] >= min_visibility) & (b.pose[:, 2] >= min_visibility)
    if both.sum() < 6:
        return None
    p, q = a.pose[both, :2].astype(np.float64), b.pose[both, :2].astype(np.float64)
    p, q = p - p.mean(0), q - q.mean(0)
    denom = np.linalg.norm(p) * np.linalg.norm(q)
    return float((p * q).sum() / denom) if denom > 1e-9 else None


def boxes_close(a, b, tol_c: float, tol_wh: float) -> bool:
    """Centres within ``tol_c`` and width/height within ``tol_wh`` (fractions of the image / of the size)."""
    if a is None or b is None:
        return False
    acx, acy, bcx, bcy = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    aw, ah, bw, bh = a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1]
    if abs(acx - bcx) > tol_c or abs(acy - bcy) > tol_c:
        return False
    return abs(aw - bw) <= tol_wh * max(aw, bw, 1e-6) and abs(ah - bh) <= tol_wh * max(ah, bh, 1e-6)
