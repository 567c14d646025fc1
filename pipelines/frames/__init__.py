"""Frame review pipelines: app-latency measurement from screen recordings.

Steps, as the user sees them: probe the recording → analyse it (one decoding
pass: metrics + first/last frame with candidates) → review (re-detect with
exclusion regions from stored metrics, extract any frame) → task statistics
and CSV/XLSX export. QR tools live in :mod:`.qr`.
"""

from .analysis import Analysis, BatchItem, analyze, analyze_many, summary, write_thumbnails
from .first_last import (
    DEFAULT_STATUS_BAR,
    Candidate,
    Detection,
    Rect,
    cell_mask,
    detect,
    parse_exclusions,
)
from .metrics import FrameMetrics, compute_metrics
from .video import FrameReader, FrameReviewError, VideoInfo, extract_frame, jpeg_bytes, probe

__all__ = [
    "DEFAULT_STATUS_BAR",
    "Analysis",
    "BatchItem",
    "Candidate",
    "Detection",
    "FrameMetrics",
    "FrameReader",
    "FrameReviewError",
    "Rect",
    "VideoInfo",
    "analyze",
    "analyze_many",
    "cell_mask",
    "compute_metrics",
    "detect",
    "extract_frame",
    "jpeg_bytes",
    "parse_exclusions",
    "probe",
    "summary",
    "write_thumbnails",
]
