"""Task statistics and CSV/XLSX export of first→last timings (seed 001, ``/task/{id}/statistics`` and ``/export``).

Pure functions over :class:`TimingRow` records; the caller gathers the rows
(a task's videos with their reviewed marks).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from pipelines.exports import append_xlsx_row, csv_writer

from .video import FrameReviewError

DONE_STATUSES = {"completed", "reviewed"}
FAILED_STATUSES = {"failed"}

# Export columns: (header, getter). Same order in CSV and XLSX.
COLUMNS = [
    "task",
    "task_id",
    "video",
    "video_id",
    "order",
    "first_frame",
    "first_time_s",
    "last_frame",
    "last_time_s",
    "duration_ms",
    "duration_s",
    "frames",
    "fps",
    "resolution",
    "video_duration_s",
    "status",
    "marking_method",
    "reviewer",
    "notes",
    "added_at",
]


@dataclass
class TimingRow:
    task: str
    video: str
    order: int
    first_frame: int | None = None
    first_time: float | None = None  # seconds (stream timestamps)
    last_frame: int | None = None
    last_time: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    notes: str = ""
    reviewer: str = ""
    status: str = "completed"  # completed / reviewed / processing / failed ...
    task_id: str = ""
    video_id: str = ""
    video_duration: float | None = None
    marking_method: str = ""  # algorithm / manual / hybrid
    added_at: str = ""

    @property
    def measured(self) -> bool:
        return self.first_time is not None and self.last_time is not None

    @property
    def duration_ms(self) -> float | None:
        if self.first_time is None or self.last_time is None:
            return None
        return (self.last_time - self.first_time) * 1000.0

    @property
    def frames(self) -> int | None:
        if self.first_frame is None or self.last_frame is None:
            return None
        return self.last_frame - self.first_frame

    def values(self) -> list:
        d = self.duration_ms
        return [
            self.task,
            self.task_id,
            self.video,
            self.video_id,
            self.order,
            self.first_frame,
            self.first_time,
            self.last_frame,
            self.last_time,
            None if d is None else round(d, 3),
            None if d is None else round(d / 1000.0, 6),
            self.frames,
            self.fps,
            f"{self.width}x{self.height}" if self.width and self.height else "",
            self.video_duration,
            self.status,
            self.marking_method,
            self.reviewer,
            self.notes,
            self.added_at,
        ]


def as_rows(rows: Iterable[TimingRow | dict]) -> list[TimingRow]:
    out = []
    for r in rows:
        if isinstance(r, TimingRow):
            out.append(r)
        else:
            try:
                out.append(TimingRow(**r))
            except TypeError as exc:
                raise FrameReviewError(
                    f"row {r!r}: {exc}. Fields: {', '.join(TimingRow.__dataclass_fields__)}."
                ) from exc
    return out


@dataclass
class Stats:
    count: int
    completed: int
    failed: int
    measured: int  # rows with both marks (used for the numbers below)
    total_ms: float | None
    avg_ms: float | None
    min_ms: float | None
    max_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    avg_frames: float | None
    min_frames: int | None
    max_frames: int | None
    p50_frames: float | None
    p90_frames: float | None
    total_frames: int | None

    def to_dict(self) -> dict:
        return asdict(self)


def task_stats(rows: Iterable[TimingRow | dict]) -> Stats:
    """Count, completed, failed and avg/min/max/p50/p90 of first→last duration (ms) and frames.

    Durations come from rows with both marks whose status is not failed;
    percentiles interpolate linearly (numpy's default).
    """
    rows = as_rows(rows)
    ok = [r for r in rows if r.measured and r.status not in FAILED_STATUSES]
    ms = np.array([r.duration_ms for r in ok], float)
    fr = np.array([r.frames for r in ok if r.frames is not None], float)

    def agg(a, f, integer=False):
        if not len(a):
            return None
        v = float(f(a))
        return round(v) if integer else round(v, 3)

    return Stats(
        count=len(rows),
        completed=sum(r.status in DONE_STATUSES for r in rows),
        failed=sum(r.status in FAILED_STATUSES for r in rows),
        measured=len(ok),
        total_ms=agg(ms, np.sum),
        avg_ms=agg(ms, np.mean),
        min_ms=agg(ms, np.min),
        max_ms=agg(ms, np.max),
        p50_ms=agg(ms, lambda a: np.percentile(a, 50)),
        p90_ms=agg(ms, lambda a: np.percentile(a, 90)),
        avg_frames=agg(fr, np.mean),
        min_frames=agg(fr, np.min, True),
        max_frames=agg(fr, np.max, True),
        p50_frames=agg(fr, lambda a: np.percentile(a, 50)),
        p90_frames=agg(fr, lambda a: np.percentile(a, 90)),
        total_frames=agg(fr, np.sum, True),
    )


def export_filename(task_name: str, fmt: str, now: datetime | None = None) -> str:
    """``{task}_timing_data_{YYYYmmdd_HHMMSS}.{csv|xlsx}`` with unsafe characters replaced."""
    ext = _ext(fmt)
    safe = re.sub(r"[^\w\-]+", "_", task_name, flags=re.UNICODE).strip("_") or "task"
    return f"{safe}_timing_data_{(now or datetime.now()).strftime('%Y%m%d_%H%M%S')}.{ext}"


def _ext(fmt: str) -> str:
    f = fmt.lower().lstrip(".")
    if f in ("excel", "xlsx"):
        return "xlsx"
    if f == "csv":
        return "csv"
    raise FrameReviewError(f"export format {fmt!r} is not supported; use 'csv' or 'excel' (xlsx).")


def to_csv(rows: Iterable[TimingRow | dict]) -> bytes:
    """CSV (UTF-8 with BOM so Excel shows non-ASCII names) with a header row of :data:`COLUMNS`;
    text is quoted and never read as a formula (:mod:`pipelines.exports`)."""
    buf = io.StringIO()
    w = csv_writer(buf, COLUMNS)
    w.writeheader()
    for r in as_rows(rows):
        w.writerow(r.values())
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(rows: Iterable[TimingRow | dict]) -> bytes:
    """XLSX with a ``timing`` sheet (one row per video, numbers as numbers, text as string
    cells: never a formula) and a ``summary`` sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows = as_rows(rows)
    wb = Workbook()
    ws = wb.active
    ws.title = "timing"
    ws.append(COLUMNS)
    for c in ws[1]:
        c.font = Font(bold=True)
    for r in rows:
        append_xlsx_row(ws, r.values())
    ws.freeze_panes = "A2"
    for col, name in zip(ws.columns, COLUMNS, strict=False):
        ws.column_dimensions[col[0].column_letter].width = max(10, len(name) + 2)
    summary = wb.create_sheet("summary")
    summary.append(["statistic", "value"])
    for k, v in task_stats(rows).to_dict().items():
        append_xlsx_row(summary, [k, v])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export(
    rows: Iterable[TimingRow | dict],
    fmt: str,
    out_dir: str | Path,
    task_name: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Write the export file into ``out_dir``; returns its path."""
    rows = as_rows(rows)
    ext = _ext(fmt)
    name = export_filename(task_name or (rows[0].task if rows else "task"), ext, now)
    path = Path(out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_csv(rows) if ext == "csv" else to_xlsx(rows))
    return path
