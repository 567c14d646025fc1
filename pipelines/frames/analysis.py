"""Analyse a screen recording: probe → decode once (metrics) → detect first/last → thumbnails.

The probe reads the container's header and first packet; the one decoding pass proves the
video decodable, gives the metrics and keeps small colour copies of the frames
where the screen changed (:mod:`.kept`), from which the candidate thumbnails
are written without decoding again (a candidate not kept is read from the
recording). Each file is written once.

``analyze(path, work_dir)`` writes into ``work_dir``:

- ``metrics.npz``: per-frame arrays (see :mod:`.metrics`), enough to re-run
  :func:`.first_last.detect` with other exclusions without decoding;
- ``analysis.json``: ``Analysis.to_dict()`` (metadata, detection, candidates);
- ``thumbs/first_<index>.jpg`` and ``thumbs/last_<index>.jpg`` for the candidates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..progress import NullProgress, Progress, Span
from .first_last import DEFAULT_STATUS_BAR, Detection, detect
from .kept import KeptFrames
from .metrics import FrameMetrics, compute_metrics
from .video import FrameReader, FrameReviewError, VideoInfo, frame_rate_of, probe, vfr_warning

THUMBNAIL_SIDE = 480


@dataclass
class Analysis:
    info: VideoInfo
    detection: Detection
    frame_count: int  # frames decoded
    fps: float  # from the timestamps
    duration: float  # seconds, from the timestamps
    variable_frame_rate: bool
    metrics_path: str
    analysis_path: str
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "info": self.info.to_dict(),
            "frame_count": self.frame_count,
            "fps": self.fps,
            "duration": self.duration,
            "variable_frame_rate": self.variable_frame_rate,
            "detection": self.detection.to_dict(),
            "metrics_path": self.metrics_path,
            "analysis_path": self.analysis_path,
            "warnings": self.warnings,
        }


def write_thumbnails(
    video: str | Path,
    metrics: FrameMetrics,
    detection: Detection,
    out_dir: str | Path,
    max_side: int = THUMBNAIL_SIDE,
    progress: Progress = NullProgress(),
    kept: KeptFrames | None = None,
) -> None:
    """Write a JPEG per candidate into ``out_dir`` and set ``candidate.thumbnail``.

    A frame kept during the decoding pass (``kept``) is used as it is, converted and
    encoded by two threads (OpenCV and Pillow's encoder release the GIL); the others are
    read from the recording in index order, so that neighbouring candidates share one
    seek.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [("first", c) for c in detection.first_candidates] + [
        ("last", c) for c in detection.last_candidates
    ]
    jobs.sort(key=lambda j: j[1].index)

    def save_kept(pts: int, target: Path) -> None:
        assert kept is not None
        kept.image(pts).save(target, format="JPEG", quality=85)

    reader: FrameReader | None = None
    with ThreadPoolExecutor(2, thread_name_prefix="thumbnails") as pool:
        saving = []
        try:
            for k, (kind, c) in enumerate(jobs):
                progress.update(
                    fraction=k / max(1, len(jobs)), item=f"{kind} candidate frame {c.index}"
                )
                target = out / f"{kind}_{c.index}.jpg"
                pts = int(metrics.pts[c.index])
                if kept is not None and pts in kept:
                    saving.append(pool.submit(save_kept, pts, target))
                else:
                    reader = reader or FrameReader(video, metrics.pts, metrics.keyframe)
                    reader.get(c.index, max_side).save(target, format="JPEG", quality=85)
                c.thumbnail = str(target)
            for done in saving:
                done.result()
        finally:
            for waiting in saving:
                waiting.cancel()
            if reader is not None:
                reader.close()
    for cands, chosen in (
        (detection.first_candidates, detection.first),
        (detection.last_candidates, detection.last),
    ):
        if chosen is not None:
            chosen.thumbnail = next(c.thumbnail for c in cands if c.index == chosen.index)


def analyze(
    path: str | Path,
    work_dir: str | Path,
    exclusions: Iterable | None = None,
    status_bar: float = DEFAULT_STATUS_BAR,
    progress: Progress = NullProgress(),
    thumbnails: bool = True,
) -> Analysis:
    """Analyse one recording; raises :class:`FrameReviewError` for an unusable file."""
    path, work = Path(path), Path(work_dir)
    progress.update(stage="probing", fraction=0.0, item=path.name)
    # The container's declared values, no decoding: the pass below reads every timestamp and proves
    # the video decodable; its frames give the displayed size and rotation.
    info = probe(path, scan_packets=False, decode=False)
    progress.log(
        f"{path.name}: {info.width}x{info.height}, {info.frame_count} frames, {info.fps:.2f} fps"
        + (" (variable frame rate)" if info.variable_frame_rate else "")
    )
    progress.update(stage="decoding", fraction=0.02, item=path.name)
    kept = KeptFrames(THUMBNAIL_SIDE) if thumbnails else None
    metrics = compute_metrics(
        path, Span(progress, 0.02, 0.92), expected_frames=info.frame_count, keep=kept
    )
    info.width, info.height, info.rotation = metrics.width, metrics.height, metrics.rotation

    progress.update(stage="detecting", fraction=0.93, item=path.name)
    work.mkdir(parents=True, exist_ok=True)
    # metrics.npz is compressed and written by a second thread while the detection runs
    # (zlib and the file write release the GIL): on 2 cores it costs no time here.
    with ThreadPoolExecutor(1, thread_name_prefix="metrics-save") as pool:
        saved = pool.submit(metrics.save, work / "metrics.npz")
        detection = detect(metrics, exclusions, status_bar)
        metrics_path = saved.result()
    if thumbnails and (detection.first_candidates or detection.last_candidates):
        progress.update(stage="thumbnails", fraction=0.94, item=path.name)
        write_thumbnails(
            path,
            metrics,
            detection,
            work / "thumbs",
            progress=Span(progress, 0.94, 0.99),
            kept=kept,
        )
        if kept is not None and kept.full:
            progress.log(
                f"{path.name}: {len(kept)} changed frames kept for thumbnails (memory budget reached); "
                "the other candidates were read from the recording"
            )
    del kept

    fps, vfr, frame_dur = frame_rate_of(metrics.times, info.nominal_fps)
    declared = info.frame_count
    # The metadata from the decoded timestamps replaces the container's declared values.
    info.fps, info.frame_count, info.duration, info.variable_frame_rate = (
        fps,
        len(metrics),
        float(metrics.times[-1] + frame_dur),
        vfr,
    )
    key_times = metrics.times[metrics.keyframe]
    info.keyframe_interval = float(np.diff(key_times).mean()) if len(key_times) > 1 else None
    warnings = list(info.warnings)
    if vfr:
        warnings.append(vfr_warning(metrics.times))
        info.warnings.append(warnings[-1])
    if len(metrics) < declared:
        warnings.append(
            f"only {len(metrics)} of {declared} declared frames could be decoded; the file may be truncated."
        )
    warnings += detection.warnings
    analysis = Analysis(
        info=info,
        detection=detection,
        frame_count=len(metrics),
        fps=fps,
        duration=info.duration,
        variable_frame_rate=vfr,
        metrics_path=str(metrics_path),
        analysis_path=str(work / "analysis.json"),
        warnings=warnings,
    )
    Path(analysis.analysis_path).write_text(
        json.dumps(analysis.to_dict(), indent=2, ensure_ascii=False)
    )
    progress.update(stage="done", fraction=1.0, item=path.name)
    return analysis


@dataclass
class BatchItem:
    path: str
    analysis: Analysis | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        d = {"path": self.path, "ok": self.ok}
        if self.analysis is not None:
            d.update(summary(self.analysis))
        else:
            d["error"] = self.error
        return d


def analyze_many(
    paths: Iterable[str | Path],
    work_root: str | Path,
    exclusions: Iterable | None = None,
    status_bar: float = DEFAULT_STATUS_BAR,
    progress: Progress = NullProgress(),
) -> list[BatchItem]:
    """Analyse several recordings into ``work_root/<n>_<stem>/``; a bad file gives an error entry and the batch goes on."""
    files = [Path(p) for p in paths]
    items = []
    for k, p in enumerate(files):
        span = Span(progress, k / len(files), (k + 1) / len(files))
        try:
            a = analyze(p, Path(work_root) / f"{k:03d}_{p.stem}", exclusions, status_bar, span)
            items.append(BatchItem(str(p), analysis=a))
        except FrameReviewError as exc:
            progress.log(f"failed: {exc}")
            items.append(BatchItem(str(p), error=str(exc)))
    return items


def summary(a: Analysis) -> dict:
    """The short per-video result the CLI prints."""
    d = a.detection

    def c(x):
        return (
            None
            if x is None
            else {"index": x.index, "time": round(x.time, 6), "score": x.score, "reason": x.reason}
        )

    return {
        "fps": round(a.fps, 3),
        "frame_count": a.frame_count,
        "duration": round(a.duration, 6),
        "width": a.info.width,
        "height": a.info.height,
        "variable_frame_rate": a.variable_frame_rate,
        "first": c(d.first),
        "last": c(d.last),
        "duration_ms": None if d.duration_ms is None else round(d.duration_ms, 3),
        "confidence": round(d.confidence, 3),
        "first_confidence": d.first_confidence,
        "last_confidence": d.last_confidence,
        "first_candidates": [c(x) for x in d.first_candidates],
        "last_candidates": [c(x) for x in d.last_candidates],
        "warnings": a.warnings,
        "work_dir": str(Path(a.metrics_path).parent),
    }
