"""Task statistics and CSV/XLSX export hold the right numbers."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from pipelines.frames import FrameReviewError
from pipelines.frames.report import COLUMNS, TimingRow, export, export_filename, task_stats, to_csv

ROWS = [
    TimingRow(
        "启动测试", "a.mp4", 1, 30, 1.0, 90, 2.0, 30.0, 1080, 2400, notes="ok", reviewer="zhang"
    ),
    TimingRow(
        "启动测试",
        "b.mp4",
        2,
        60,
        1.0,
        210,
        3.5,
        60.0,
        1080,
        2400,
        reviewer="li",
        status="reviewed",
    ),
    TimingRow("启动测试", "c.mp4", 3, 10, 0.5, 40, 1.5, 30.0, 720, 1600),
    TimingRow("启动测试", "d.mp4", 4, status="failed", notes="corrupt"),
    TimingRow("启动测试", "e.mp4", 5, status="processing"),
]


def test_stats():
    s = task_stats(ROWS)
    assert (s.count, s.completed, s.failed, s.measured) == (5, 3, 1, 3)
    # durations 1000, 2500, 1000 ms; frames 60, 150, 30
    assert (s.min_ms, s.max_ms, s.avg_ms, s.p50_ms, s.total_ms) == (1000, 2500, 1500, 1000, 4500)
    assert s.p90_ms == pytest.approx(2200)
    assert (s.min_frames, s.max_frames, s.avg_frames, s.p50_frames, s.total_frames) == (
        30,
        150,
        80,
        60,
        240,
    )
    assert s.p90_frames == pytest.approx(132)


def test_stats_of_empty_task():
    s = task_stats([])
    assert s.count == 0 and s.avg_ms is None and s.p90_frames is None


def test_csv_export(tmp_path):
    path = export(ROWS, "csv", tmp_path, now=datetime(2025, 12, 11, 10, 0, 0))
    assert path.name == "启动测试_timing_data_20251211_100000.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    assert list(rows[0]) == COLUMNS and len(rows) == 5
    b = rows[1]
    assert (b["video"], b["order"], b["first_frame"], b["last_frame"]) == (
        "b.mp4",
        "2",
        "60",
        "210",
    )
    assert (
        float(b["duration_ms"]) == 2500 and float(b["duration_s"]) == 2.5 and b["frames"] == "150"
    )
    assert b["resolution"] == "1080x2400" and b["reviewer"] == "li"
    assert rows[3]["duration_ms"] == "" and rows[3]["notes"] == "corrupt"


def test_xlsx_export(tmp_path):
    from openpyxl import load_workbook

    path = export([r.__dict__ for r in ROWS], "excel", tmp_path, task_name="Launch / cold")
    assert path.suffix == ".xlsx" and path.name.startswith("Launch_cold_timing_data_")
    wb = load_workbook(path)
    ws = wb["timing"]
    header = [c.value for c in ws[1]]
    assert header == COLUMNS
    row = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert row["duration_ms"] == 1000 and row["first_time_s"] == 1.0 and row["fps"] == 30.0
    assert row["task"] == "启动测试" and row["notes"] == "ok"
    summary = {r[0].value: r[1].value for r in wb["summary"].iter_rows(min_row=2)}
    assert summary["avg_ms"] == 1500 and summary["count"] == 5


def test_bad_export_input():
    with pytest.raises(FrameReviewError, match="csv"):
        export_filename("t", "pdf")
    with pytest.raises(FrameReviewError, match="Fields"):
        to_csv([{"task": "t", "video": "v", "order": 1, "colour": "red"}])
