"""Seed 001 as a contract: the document's own clients run against the real studio.

The Python ``requests`` example and the cURL examples of
``seeds/001_*.txt`` ("API交互示例" and the export examples of 2.10) are copied
here verbatim; the only change is the base URL (``http://localhost:8000`` →
the test server) and, for cURL, the ``{video_id}`` / ``{task_id}``
placeholders the document asks the reader to fill in. cURL runs as a real
``curl`` process (``/usr/bin/curl``); where curl is missing the same requests
are sent with ``requests`` (the test says so in its output).

Around the examples every documented shape the examples touch is checked —
the system endpoints (5.1, 5.2), the responses of 1.1, 1.3, 2.1, 2.3, 2.6,
2.10, 2.11, 3.1-3.3 and 4.1, status words and enums — each as one counted
expectation; the test prints "N of M met" and fails naming the unmet ones.
The server is ``python app.py`` with its own worker (``studio_server``).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests

from pipelines.frames.synthetic import Timeline, make_recording

DOC_BASE = "http://localhost:8000"

# -- the document's examples, verbatim ----------------------------------------

PYTHON_EXAMPLE = """\
import requests

# 上传视频
with open('test.mp4', 'rb') as f:
    response = requests.post(
        'http://localhost:8000/api/v1/video/upload',
        files={'file': f}
    )
    result = response.json()
    video_id = result['video_id']

# 查询状态
status = requests.get(
    f'http://localhost:8000/api/v1/video/{video_id}/status'
).json()

print(f"Status: {status['status']}, Progress: {status['progress']}%")
"""

CURL_UPLOAD = """curl -X POST "http://localhost:8000/api/v1/video/upload" \\
  -F "file=@test.mp4\""""
CURL_STATUS = """curl "http://localhost:8000/api/v1/video/{video_id}/status\""""
CURL_CREATE_TASK = """curl -X POST "http://localhost:8000/api/v1/task/create" \\
  -H "Content-Type: application/json" \\
  -d '{"name":"测试任务","created_by":"user1"}'"""
CURL_EXPORT_EXCEL = """curl "http://localhost:8000/api/v1/task/{task_id}/export" \\
  --output task_data.xlsx"""
CURL_EXPORT_CSV = """curl "http://localhost:8000/api/v1/task/{task_id}/export?format=csv" \\
  --output task_data.csv"""

# Request bodies of the document (2.4, 2.6, 3.2, 4.1), as written there.
TASK_UPDATE = {"name": "更新后的任务名", "description": "更新后的描述"}
ADD_VIDEOS = {"video_ids": ["video_uuid1", "video_uuid2"], "notes": "第一批测试视频"}
MARK = {
    "first_frame_id": "frame_uuid1",
    "last_frame_id": "frame_uuid2",
    "reviewer": "zhangsan",
    "review_notes": "AI识别准确",
}
QR_SIMPLE = {
    "words": "https://example.com",
    "version": 1,
    "level": "H",
    "contrast": 1.0,
    "brightness": 1.0,
}

VIDEO_STATUS = {"uploading", "processing", "completed", "failed", "cancelled"}
STATUS_KEYS = {
    "video_id",
    "filename",
    "status",
    "duration",
    "fps",
    "width",
    "height",
    "task_id",
    "error_message",
    "frames",
    "progress",
    "current_step",
    "created_at",
}
FRAME_KEYS = {"id", "type", "url", "timestamp", "frame_number"}
TASK_KEYS = {
    "id",
    "name",
    "description",
    "status",
    "total_videos",
    "completed_videos",
    "failed_videos",
    "total_duration",
    "avg_duration",
    "min_duration",
    "max_duration",
    "created_by",
    "created_at",
    "updated_at",
}
TASK_VIDEO_KEYS = {
    "id",
    "video_id",
    "order",
    "duration",
    "first_frame_time",
    "last_frame_time",
    "notes",
    "added_at",
    "video_filename",
    "video_status",
    "video_width",
    "video_height",
    "first_frame_url",
    "last_frame_url",
}
STATS_KEYS = {
    "task_id",
    "task_name",
    "total_videos",
    "completed_videos",
    "processing_videos",
    "failed_videos",
    "total_duration",
    "avg_duration",
    "min_duration",
    "max_duration",
    "total_frames",
    "avg_frames_per_video",
}
REVIEW_KEYS = {
    "video_id",
    "filename",
    "status",
    "total_frames",
    "extracted_frames",
    "marking_method",
    "ai_confidence",
    "marked_first_frame",
    "marked_last_frame",
    "first_candidates",
    "last_candidates",
    "all_frames",
    "needs_review",
    "reviewed_by",
    "reviewed_at",
}
FRAME_DETAIL_KEYS = {
    "id",
    "frame_number",
    "timestamp",
    "url",
    "frame_type",
    "is_first_candidate",
    "confidence_score",
    "brightness",
    "sharpness",
    "scene_change_score",
}


class Expectations:
    """Counted checks: every documented expectation is one ``check``; the test fails at the end."""

    def __init__(self) -> None:
        self.results: list[tuple[str, bool, str]] = []

    def check(self, what: str, ok: object, detail: object = "") -> bool:
        self.results.append((what, bool(ok), "" if ok else str(detail)[:300]))
        return bool(ok)

    def keys(self, what: str, body: object, keys: set[str]) -> bool:
        missing = keys - set(body) if isinstance(body, dict) else keys
        return self.check(
            f"{what} has the documented fields", not missing, f"missing {sorted(missing)}: {body}"
        )

    @property
    def summary(self) -> str:
        met = sum(ok for _, ok, _ in self.results)
        return f"{met} of {len(self.results)} documented expectations met"

    def unmet(self) -> list[str]:
        return [f"{what}: {detail}" for what, ok, detail in self.results if not ok]


def _iso(text: object) -> bool:
    try:
        datetime.fromisoformat(str(text))
        return "T" in str(text)
    except ValueError:
        return False


def _curl(command: str, base: str, cwd: Path, **fill: str) -> tuple[str, str]:
    """Run one of the document's cURL commands (base URL and placeholders filled in):
    (stdout, how it ran). Without curl the same request is sent with requests."""
    command = command.replace(DOC_BASE, base)
    for name, value in fill.items():
        command = command.replace("{" + name + "}", value)
    if shutil.which("curl"):
        done = subprocess.run(
            ["bash", "-c", command + " --silent --show-error"],
            cwd=cwd,
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout.decode("utf-8"), "curl"
    return _curl_as_requests(command, cwd), "requests (curl not installed)"


def _curl_as_requests(command: str, cwd: Path) -> str:
    """The few cURL forms of the document (-X, -F file=@, -H, -d, --output), sent with requests."""
    import shlex

    args = shlex.split(command.replace("\\\n", " "))[1:]
    method, url, headers, data, files, output = "GET", "", {}, None, None, None
    it = iter(args)
    for a in it:
        if a == "-X":
            method = next(it)
        elif a == "-H":
            k, v = next(it).split(":", 1)
            headers[k.strip()] = v.strip()
        elif a == "-d":
            data, method = next(it).encode(), "POST" if method == "GET" else method
        elif a == "-F":
            name, value = next(it).split("=", 1)
            local = cwd / value.lstrip("@")
            files = {name: (local.name, local.read_bytes())}
            method = "POST" if method == "GET" else method
        elif a == "--output":
            output = next(it)
        else:
            url = a
    r = requests.request(method, url, headers=headers, data=data, files=files, timeout=60)
    if output:
        (cwd / output).write_bytes(r.content)
        return ""
    return r.text


def _wait_completed(base: str, video_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = requests.get(f"{base}/api/v1/video/{video_id}/status", timeout=10).json()
        if status["status"] in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
            return status
        time.sleep(0.3)


@pytest.mark.slow
def test_seed001_examples_run_unchanged(studio_server, tmp_path, monkeypatch, capsys):
    base, _home, _proc = studio_server
    truth = make_recording(
        tmp_path / "test.mp4", fps=30, timeline=Timeline(tap=0.8, tail=1.3), seed=1
    )
    monkeypatch.chdir(tmp_path)  # the examples open 'test.mp4' and write task_data.* here
    e = Expectations()

    # 5. System endpoints, relative to the base URL http://localhost:8000/api/v1.
    root = requests.get(f"{base}/api/v1/", timeout=10)
    e.check(
        "GET / answers 200 JSON",
        root.status_code == 200 and root.headers["content-type"].startswith("application/json"),
        root.text[:200],
    )
    if root.status_code == 200:
        e.keys("GET /", root.json(), {"name", "version", "status", "docs"})
        e.check("GET / status is 'running'", root.json().get("status") == "running", root.json())
        e.check(
            "GET / docs link opens",
            requests.get(base + root.json().get("docs", "/nowhere"), timeout=10).status_code == 200,
        )
    health = requests.get(f"{base}/api/v1/health", timeout=10).json()
    e.check("GET /health status is 'healthy'", health.get("status") == "healthy", health)
    e.check("GET /health has a version", bool(health.get("version")), health)
    e.check(
        "GET /health keeps the worker's liveness beside them",
        health.get("worker", {}).get("alive") is True,
        health,
    )

    # The Python example, verbatim but for the base URL.
    scope: dict = {}
    exec(compile(PYTHON_EXAMPLE.replace(DOC_BASE, base), "seed001-python-example", "exec"), scope)
    printed = capsys.readouterr().out
    result, status, video_id = scope["result"], scope["status"], scope["video_id"]
    e.check(
        "Python example: upload answers 200",
        scope["response"].status_code == 200,
        scope["response"].text,
    )
    e.keys("VideoUploadResponse", result, {"video_id", "task_id", "status", "message"})
    e.check("upload status is 'uploading'", result.get("status") == "uploading", result)
    e.keys("VideoStatusResponse", status, STATUS_KEYS)
    e.check(
        "status word is a VideoStatus", status.get("status") in VIDEO_STATUS, status.get("status")
    )
    e.check(
        "progress is a number 0-100",
        isinstance(status.get("progress"), (int, float)) and 0 <= status["progress"] <= 100,
        status.get("progress"),
    )
    e.check(
        "the example prints 'Status: …, Progress: …%'",
        printed.startswith(f"Status: {status['status']}, Progress: ")
        and printed.strip().endswith("%"),
        printed,
    )

    # The documented flow: the worker analyses it; the status then holds the result.
    done = _wait_completed(base, video_id)
    e.check("the recording reaches 'completed'", done["status"] == "completed", done)
    e.check(
        "a completed recording: progress 100, current_step 'completed'",
        done["progress"] == 100 and done["current_step"] == "completed",
        done,
    )
    e.check(
        "duration, fps, width, height are numbers",
        all(isinstance(done[k], (int, float)) for k in ("duration", "fps", "width", "height")),
        done,
    )
    e.check("created_at is ISO 8601", _iso(done["created_at"]), done["created_at"])
    e.check(
        "frames[] holds the first and the last frame",
        [f.get("type") for f in done["frames"]] == ["first", "last"],
        done["frames"],
    )
    for f in done["frames"]:
        e.keys(f"frames[{f.get('type')}]", f, FRAME_KEYS)
        e.check(
            f"frames[{f.get('type')}].url is an absolute URL that serves the frame",
            str(f.get("url")).startswith("http")
            and requests.get(f["url"], timeout=10).status_code == 200,
            f.get("url"),
        )
    by_type = {f["type"]: f for f in done["frames"]}
    e.check(
        "the detected frames are the recording's first and last (±1 frame)",
        abs(by_type["first"]["frame_number"] - truth.first_index) <= 1
        and abs(by_type["last"]["frame_number"] - truth.last_index) <= 1,
        by_type,
    )
    progress = requests.get(f"{base}/api/v1/video/{video_id}/progress", timeout=10).json()
    e.keys(
        "TaskProgress",
        progress,
        {"video_id", "task_id", "status", "progress", "current_step", "error_message"},
    )
    listed = requests.get(
        f"{base}/api/v1/video/list", params={"status": "completed"}, timeout=10
    ).json()
    e.check(
        "GET /video/list?status=completed lists it",
        video_id in {v["video_id"] for v in listed},
        listed,
    )

    # The cURL examples, verbatim but for the base URL and the placeholders.
    out, how = _curl(CURL_UPLOAD, base, tmp_path)
    uploaded = json.loads(out)
    e.check(
        "cURL upload: VideoUploadResponse with status 'uploading'",
        uploaded.get("status") == "uploading" and uploaded.get("video_id"),
        uploaded,
    )
    out, _ = _curl(CURL_STATUS, base, tmp_path, video_id=uploaded["video_id"])
    e.keys("cURL status: VideoStatusResponse", json.loads(out), STATUS_KEYS)
    out, _ = _curl(CURL_CREATE_TASK, base, tmp_path)
    task = json.loads(out)
    e.keys("cURL create task: TaskResponse", task, TASK_KEYS)
    e.check(
        "the new task: name and created_by as sent, status 'draft', no videos",
        (task.get("name"), task.get("created_by"), task.get("status"), task.get("total_videos"))
        == ("测试任务", "user1", "draft", 0),
        task,
    )
    e.check(
        "the new task: no durations yet (null)",
        all(
            task.get(k) is None
            for k in ("total_duration", "avg_duration", "min_duration", "max_duration")
        ),
        task,
    )
    task_id = task["id"]

    # 2.6 / 2.3 / 2.11 / 2.4 with the document's bodies (its ids replaced by real ones where it names ours).
    added = requests.post(
        f"{base}/api/v1/task/{task_id}/videos", json=ADD_VIDEOS, timeout=10
    ).json()
    e.check(
        "adding the document's unknown ids: added_count 0, both named in failed_videos",
        added.get("added_count") == 0 and len(added.get("failed_videos", [])) == 2,
        added,
    )
    added = requests.post(
        f"{base}/api/v1/task/{task_id}/videos",
        json={**ADD_VIDEOS, "video_ids": [video_id]},
        timeout=10,
    ).json()
    e.keys("VideoAddToTask response", added, {"message", "added_count", "failed_videos"})
    e.check(
        "one recording added",
        added.get("added_count") == 1 and added.get("failed_videos") == [],
        added,
    )
    detail = requests.get(f"{base}/api/v1/task/{task_id}", timeout=10).json()
    e.keys("TaskDetailResponse", detail, TASK_KEYS | {"videos"})
    if detail.get("videos"):
        tv = detail["videos"][0]
        e.keys("TaskDetailResponse.videos[]", tv, TASK_VIDEO_KEYS)
        e.check(
            "videos[]: notes from the request, duration = last - first time",
            tv.get("notes") == ADD_VIDEOS["notes"]
            and tv.get("duration")
            == pytest.approx(tv["last_frame_time"] - tv["first_frame_time"], abs=1e-6),
            tv,
        )
        e.check(
            "videos[]: frame URLs absolute", str(tv.get("first_frame_url")).startswith("http"), tv
        )
    stats = requests.get(f"{base}/api/v1/task/{task_id}/statistics", timeout=10).json()
    e.keys("TaskStatsResponse", stats, STATS_KEYS)
    e.check(
        "statistics: 1 video, 1 completed, durations in seconds",
        (stats.get("total_videos"), stats.get("completed_videos")) == (1, 1)
        and stats.get("avg_duration") == pytest.approx(detail["videos"][0]["duration"], abs=1e-3),
        stats,
    )
    recalculated = requests.post(f"{base}/api/v1/task/{task_id}/calculate-stats", timeout=10).json()
    e.check("calculate-stats answers a TaskResponse", set(recalculated) >= TASK_KEYS, recalculated)

    # 2.10: the export examples write the files the document names.
    _curl(CURL_EXPORT_EXCEL, base, tmp_path, task_id=task_id)
    _curl(CURL_EXPORT_CSV, base, tmp_path, task_id=task_id)
    xlsx, csv_file = tmp_path / "task_data.xlsx", tmp_path / "task_data.csv"
    try:
        from openpyxl import load_workbook

        sheet = load_workbook(xlsx).worksheets[0]
        xlsx_rows = list(sheet.iter_rows(values_only=True))
        e.check(
            "the default export is an Excel file with one row per video",
            len(xlsx_rows) == 2,
            xlsx_rows,
        )
    except Exception as exc:  # any failure to read it is the unmet expectation
        e.check("the default export is an Excel file with one row per video", False, exc)
    rows = list(csv.reader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    e.check("format=csv is a CSV with a header and one row per video", len(rows) == 2, rows)
    header = set(rows[0]) if rows else set()
    e.check(
        "export fields: task, video, order, first/last time and number, ms and s, duration, fps, "
        "resolution, notes, added time",
        {
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
            "video_duration_s",
            "fps",
            "resolution",
            "notes",
            "added_at",
        }
        <= header,
        rows[:1],
    )
    disposition = unquote(
        requests.get(
            f"{base}/api/v1/task/{task_id}/export", params={"format": "csv"}, timeout=10
        ).headers.get("content-disposition", "")
    )
    e.check(
        "file name {任务名称}_timing_data_{时间戳}.csv",
        "测试任务_timing_data_" in disposition and disposition.endswith(".csv"),
        disposition,
    )
    updated = requests.put(f"{base}/api/v1/task/{task_id}", json=TASK_UPDATE, timeout=10).json()
    e.check(
        "PUT /task/{id} with the document's body renames it",
        (updated.get("name"), updated.get("description"))
        == (TASK_UPDATE["name"], TASK_UPDATE["description"]),
        updated,
    )
    listed_tasks = requests.get(
        f"{base}/api/v1/task/list", params={"user": "user1"}, timeout=10
    ).json()
    e.check(
        "GET /task/list?user=user1 lists it",
        task_id in {t["id"] for t in listed_tasks},
        listed_tasks,
    )

    # 3. Review: pending list, review data, marking by frame id (the document's body, real ids).
    pending = requests.get(f"{base}/api/v1/review/pending", timeout=10).json()
    e.check(
        "GET /review/pending lists the analysed recording",
        video_id in {p["video_id"] for p in pending},
    )
    review = requests.get(f"{base}/api/v1/review/{video_id}", timeout=10).json()
    e.keys("VideoReviewResponse", review, REVIEW_KEYS)
    e.keys(
        "marked_first_frame (FrameDetailResponse)",
        review.get("marked_first_frame") or {},
        FRAME_DETAIL_KEYS,
    )
    e.check(
        "review: algorithm marks, needs review, every frame extracted",
        review.get("marking_method") == "algorithm"
        and review.get("needs_review") is True
        and review.get("extracted_frames") == review.get("total_frames") == truth.frame_count,
        review.get("marking_method"),
    )
    cands = review.get("first_candidates", [])
    e.check(
        "the first candidate is the marked first frame and says is_first_candidate",
        bool(cands)
        and cands[0]["id"] == review["marked_first_frame"]["id"]
        and cands[0]["is_first_candidate"],
    )
    first_id = f"{video_id}_{truth.first_index}"
    last_id = f"{video_id}_{truth.last_index}"
    marked = requests.post(
        f"{base}/api/v1/review/{video_id}/mark",
        json={**MARK, "first_frame_id": first_id, "last_frame_id": last_id},
        timeout=10,
    )
    body = marked.json()
    e.keys(
        "FrameMarkingResponse", body, {"video_id", "status", "message", "first_frame", "last_frame"}
    )
    e.check(
        "mark by frame id: status 'reviewed', the given frames",
        body.get("status") == "reviewed"
        and (body.get("first_frame") or {}).get("id") == first_id
        and (body.get("last_frame") or {}).get("id") == last_id,
        body,
    )
    after = requests.get(f"{base}/api/v1/review/{video_id}", timeout=10).json()
    e.check(
        "after marking: marking_method 'manual', reviewed_by the reviewer, reviewed_at ISO 8601",
        after.get("marking_method") == "manual"
        and after.get("reviewed_by") == "zhangsan"
        and _iso(after.get("reviewed_at")),
        {k: after.get(k) for k in ("marking_method", "reviewed_by", "reviewed_at")},
    )
    e.check(
        "marked frames carry frame_type first/last",
        (after["marked_first_frame"]["frame_type"], after["marked_last_frame"]["frame_type"])
        == ("first", "last"),
        after["marked_first_frame"],
    )
    e.check(
        "a reviewed recording leaves the pending list",
        video_id
        not in {
            p["video_id"] for p in requests.get(f"{base}/api/v1/review/pending", timeout=10).json()
        },
    )
    bad = requests.post(f"{base}/api/v1/review/{video_id}/mark", json=MARK, timeout=10)
    e.check(
        "the document's placeholder ids are refused with a {'detail': …} 4xx",
        400 <= bad.status_code < 500 and "detail" in bad.json(),
        bad.text,
    )

    # 4.1: the QR example of the document.
    qr = requests.post(f"{base}/api/v1/qr/simple", json=QR_SIMPLE, timeout=60)
    e.check(
        "POST /qr/simple with the document's body answers image/png",
        qr.status_code == 200 and qr.headers.get("content-type") == "image/png",
        qr.text[:200],
    )
    decoded: list[str] = []
    with contextlib.suppress(Exception):
        import zxingcpp
        from PIL import Image

        decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.content)))]
    e.check("the QR code decodes to the words", decoded == [QR_SIMPLE["words"]], decoded)

    # 2.7 / 2.5 / errors.
    removed = requests.delete(f"{base}/api/v1/task/{task_id}/videos/{video_id}", timeout=10)
    e.check(
        "DELETE /task/{id}/videos/{video_id} answers a message",
        "message" in removed.json(),
        removed.text,
    )
    deleted = requests.delete(f"{base}/api/v1/task/{task_id}", timeout=10)
    e.check(
        "DELETE /task/{id} answers a message; the video stays",
        "message" in deleted.json()
        and requests.get(f"{base}/api/v1/video/{video_id}/status", timeout=10).status_code == 200,
    )
    missing = requests.get(f"{base}/api/v1/video/nope/status", timeout=10)
    e.check(
        "a missing video: 404 {'detail': …}",
        missing.status_code == 404 and "detail" in missing.json(),
    )

    print(f"\nseed 001 contract (cURL via {how}): {e.summary}")
    assert not e.unmet(), f"{e.summary}; unmet:\n" + "\n".join(e.unmet())
