"""Frame review over the REST API (seed 001 paths) with a real worker, real
SQLite and real PyAV: upload → analysis job → status; review marks and their
history; tasks with statistics and exports; QR codes; bad input."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from tests.conftest import wait_job
from tests.frames.app.conftest import wait_video


def _files(*paths):
    return [("files", (p.name, open(p, "rb"), "application/octet-stream")) for p in paths]


def test_batch_upload_analysis_review_history_and_task_exports(client, recordings):

    good, other = recordings["good"], recordings["other"]
    r = client.post(
        "/api/v1/video/batch-upload",
        files=_files(
            Path(good.path), recordings["text"], Path(other.path), recordings["truncated"]
        ),
    )
    assert r.status_code == 200, r.text
    batch = r.json()
    assert {v["status"] for v in batch["videos"]} == {
        "uploading"
    }  # seed 001's word, analysis queued
    assert batch["total_count"] == 4 and batch["accepted_count"] == 4  # probing happens in the job
    ids = [v["video_id"] for v in batch["videos"]]
    done = [wait_video(client, i) for i in ids]

    # Good files: metadata and first/last within ±1 frame of the truth; bad files: a clear per-file error.
    by_name = {d["filename"]: d for d in done}
    for truth, name in ((good, "login.mp4"), (other, "search.mov")):
        s = by_name[name]
        assert s["status"] == "completed", s["error_message"]
        assert (s["width"], s["height"]) == (360, 800) and abs(s["fps"] - 30) < 0.5
        assert s["created_at"].startswith("20") and "T" in s["created_at"]  # ISO 8601
        assert [f["type"] for f in s["frames"]] == ["first", "last"] and s["frames"][0][
            "url"
        ].startswith("http")
        assert (
            abs(s["first_frame"] - truth.first_index) <= 1
            and abs(s["last_frame"] - truth.last_index) <= 1
        )
        assert s["latency_ms"] == pytest.approx((s["last_time"] - s["first_time"]) * 1000, abs=0.01)
        assert s["marking_method"] == "algorithm" and s["needs_review"] and s["progress"] == 100
    for name in ("notes.mp4", "truncated.mp4"):
        s = by_name[name]
        assert s["status"] == "failed", s
        assert name in s["error_message"] and (
            "not a readable video" in s["error_message"] or "truncated" in s["error_message"]
        ), s["error_message"]
    assert client.get(f"/api/v1/video/{ids[0]}/progress").json()["progress"] == 100
    assert len(client.get("/api/v1/video/list", params={"status": "failed"}).json()) == 2
    bad_name = client.post(
        "/api/v1/video/upload", files={"file": ("notes.txt", b"hello", "text/plain")}
    )
    assert bad_name.status_code == 400 and ".mp4" in bad_name.json()["detail"]  # seed 001

    # Review: the queue holds the two analysed recordings.
    vid = by_name["login.mp4"]["video_id"]
    pending = client.get("/api/v1/review/pending").json()
    assert {p["video_id"] for p in pending} == {vid, by_name["search.mov"]["video_id"]}
    review = client.get(f"/api/v1/review/{vid}", params={"include_curve": True}).json()
    assert (
        review["first_candidates"][0]["frame_number"]
        == review["marked_first_frame"]["frame_number"]
    )
    assert len(review["curve"]["change"]) == review["total_frames"] == good.frame_count
    assert [h["method"] for h in review["history"]] == ["algorithm", "algorithm"]
    assert review["extracted_frames"] == len(review["all_frames"]) == good.frame_count
    assert (
        review["first_candidates"][0]["is_first_candidate"] and review["first_candidates"][0]["id"]
    )
    img = client.get(review["first_candidates"][0]["url"])
    assert (
        img.headers["content-type"] == "image/jpeg"
        and Image.open(io.BytesIO(img.content)).size[1] == 720
    )
    assert client.get(review["first_candidates"][0]["thumbnail_url"]).status_code == 200

    # Accept the first candidate's neighbour (hybrid), then set the last frame freely (manual), then correct it.
    first = review["marked_first_frame"]["frame_number"]
    r = client.post(
        f"/api/v1/review/{vid}/mark", json={"first_frame": first + 1, "reviewer": "mei"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["marking_method"] == "hybrid"
    # Half reviewed: still in the queue ("not yet confirmed by a reviewer").
    assert r.json()["status"] == "in_review"
    assert vid in {p["video_id"] for p in client.get("/api/v1/review/pending").json()}
    r = client.post(
        f"/api/v1/review/{vid}/mark",
        json={
            "last_frame": good.frame_count - 2,
            "reviewer": "mei",
            "review_notes": "waited for the banner",
        },
    )
    assert r.json()["marking_method"] == "manual"
    r = client.post(
        f"/api/v1/review/{vid}/mark",
        json={"last_frame": good.last_index, "reviewer": "li", "method": "hybrid"},
    )
    marked = r.json()
    times = np.array(good.times)
    assert marked["latency_ms"] == pytest.approx(
        (times[good.last_index] - times[first + 1]) * 1000, abs=0.01
    )
    history = client.get(f"/api/v1/review/{vid}/history").json()
    assert [(h["which"], h["method"], h["user"]) for h in history] == [
        ("first", "algorithm", "algorithm"),
        ("last", "algorithm", "algorithm"),
        ("first", "hybrid", "mei"),
        ("last", "manual", "mei"),
        ("last", "hybrid", "li"),
    ]
    assert (
        history[-1]["from_frame"] == good.frame_count - 2
        and history[-1]["to_frame"] == good.last_index
    )
    assert r.json()["status"] == "reviewed"  # both marks now confirmed by a person
    assert vid not in {p["video_id"] for p in client.get("/api/v1/review/pending").json()}
    assert (
        client.post(f"/api/v1/review/{vid}/mark", json={"first_frame": 10_000}).status_code == 422
    )
    bad_order = client.post(
        f"/api/v1/review/{vid}/mark", json={"first_frame": good.frame_count - 1}
    )
    assert bad_order.status_code == 422 and "before the first frame" in bad_order.json()["detail"]

    # Tasks: create, add (in order), statistics, exports, rename, reorder, remove, delete (recordings stay).
    task = client.post(
        "/api/v1/task/create", json={"name": "冷启动 build 812", "created_by": "mei"}
    ).json()
    assert task["status"] == "draft" and task["created_by"] == "mei"
    tid = task["id"]
    other_id, failed_id = by_name["search.mov"]["video_id"], by_name["notes.mp4"]["video_id"]
    added = client.post(
        f"/api/v1/task/{tid}/videos", json={"video_ids": [vid, other_id, failed_id, "nope"]}
    ).json()
    assert added["added_count"] == 3 and added["failed_videos"][0]["video_id"] == "nope"
    stats = client.get(f"/api/v1/task/{tid}/statistics").json()
    other_s = client.get(f"/api/v1/video/{other_id}/status").json()
    ms = [marked["latency_ms"], other_s["latency_ms"]]
    assert (stats["count"], stats["completed"], stats["failed"], stats["measured"]) == (3, 2, 1, 2)
    assert stats["avg_ms"] == pytest.approx(np.mean(ms), abs=0.01)
    assert stats["min_ms"] == pytest.approx(min(ms), abs=0.01) and stats["max_ms"] == pytest.approx(
        max(ms), abs=0.01
    )
    assert stats["p90_ms"] == pytest.approx(np.percentile(ms, 90), abs=0.01)
    assert client.post(f"/api/v1/task/{tid}/calculate-stats").json()["total_videos"] == 3

    detail = client.get(f"/api/v1/task/{tid}").json()
    assert [v["video_id"] for v in detail["videos"]] == [vid, other_id, failed_id]
    # The latest change of each mark was a candidate (first: adjusted by one frame, last: accepted): hybrid.
    assert (
        detail["videos"][0]["video_status"] == "reviewed"
        and detail["videos"][0]["marking_method"] == "hybrid"
    )

    csv_resp = client.get(f"/api/v1/task/{tid}/export", params={"format": "csv"})
    assert "timing_data" in csv_resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_resp.content.decode("utf-8-sig"))))
    assert [r["video_id"] for r in rows] == [vid, other_id, failed_id]
    assert float(rows[0]["duration_ms"]) == pytest.approx(marked["latency_ms"], abs=0.01)
    assert (rows[0]["first_frame"], rows[0]["last_frame"]) == (str(first + 1), str(good.last_index))
    assert (
        rows[0]["reviewer"] == "li"
        and rows[0]["status"] == "reviewed"
        and rows[2]["status"] == "failed"
    )
    assert rows[0]["task"] == "冷启动 build 812" and rows[0]["resolution"] == "360x800"

    from openpyxl import load_workbook

    xlsx = client.get(f"/api/v1/task/{tid}/export")
    wb = load_workbook(io.BytesIO(xlsx.content))
    sheet = list(wb["timing"].values)
    header = list(sheet[0])
    assert sheet[1][header.index("duration_ms")] == pytest.approx(marked["latency_ms"], abs=0.01)
    summary = dict(list(wb["summary"].values)[1:])
    assert summary["count"] == 3 and summary["avg_ms"] == pytest.approx(stats["avg_ms"], abs=0.01)

    job = client.post(f"/api/v1/task/{tid}/export", params={"format": "xlsx"}).json()
    job = wait_job(job["job_id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["outputs"]["files"][0].endswith(".xlsx") and job["outputs"]["rows"] == 3

    assert (
        client.put(f"/api/v1/task/{tid}", json={"name": "build 813"}).json()["name"] == "build 813"
    )
    assert client.put(f"/api/v1/task/{tid}/order", json={"video_ids": [other_id]}).json()[
        "video_ids"
    ] == [other_id, vid, failed_id]
    assert client.delete(f"/api/v1/task/{tid}/videos/{failed_id}").status_code == 200
    assert client.get(f"/api/v1/task/{tid}/statistics").json()["count"] == 2
    assert client.delete(f"/api/v1/task/{tid}").status_code == 200
    assert client.get(f"/api/v1/task/{tid}").status_code == 404
    assert client.get(f"/api/v1/video/{vid}/status").json()["status"] == "completed"


def test_exclusions_redetect_from_stored_metrics_without_the_recording(client, recordings):

    good = recordings["good"]
    with open(good.path, "rb") as fh:
        r = client.post("/api/v1/video/upload", files={"file": ("clip.mp4", fh, "video/mp4")})
    assert r.status_code == 200 and r.json()["status"] == "uploading", r.text
    vid = r.json()["video_id"]
    status = wait_video(client, vid)
    assert status["status"] == "completed", status["error_message"]

    # The recording is gone: the detection still runs (it never decodes), frames are not shown.
    from jobs.access import SYSTEM
    from jobs.tools.frames import records as fr

    Path(fr.get_video(vid, SYSTEM).path).unlink()
    gone = client.get(f"/api/v1/review/{vid}/frame/3")
    assert gone.status_code == 409 and "no longer on the server" in gone.json()["detail"]

    rect = {
        "x": 0.0,
        "y": 0.1,
        "w": 1.0,
        "h": 0.9,
    }  # everything below the status bar: nothing left to watch
    job = client.put(
        f"/api/v1/video/{vid}/exclusions", json={"exclusions": [rect], "status_bar": 0.1}
    ).json()
    job = wait_job(job["job_id"])
    assert job["status"] == "failed" and "cover the whole screen" in job["error"]

    rect = {"x": 0.8, "y": 0.9, "w": 0.2, "h": 0.1}  # a corner: the marks stay within ±1 frame
    job = wait_job(
        client.put(f"/api/v1/video/{vid}/exclusions", json={"exclusions": [rect]}).json()["job_id"]
    )
    assert job["status"] == "succeeded", job["error"]
    assert "decoding" not in client.get(f"/api/v1/jobs/{job['id']}/log").text
    status = client.get(f"/api/v1/video/{vid}/status").json()
    assert status["exclusions"] == [rect]
    assert (
        abs(status["first_frame"] - good.first_index) <= 1
        and abs(status["last_frame"] - good.last_index) <= 1
    )
    review = client.get(f"/api/v1/review/{vid}").json()
    assert review["first_candidates"] and review["first_candidates"][0]["thumbnail_url"]

    bad = client.put(
        f"/api/v1/video/{vid}/exclusions", json={"exclusions": [{"x": 0.5, "y": 0, "w": 2, "h": 1}]}
    )
    assert bad.status_code == 422


def test_qr_endpoints_return_images_that_decode(client):
    words = "https://example.com/frame-review?task=7"

    def decoded(content):
        img = Image.open(io.BytesIO(content))
        return [r.text for r in zxingcpp.read_barcodes(img.convert("RGB"))]

    r = client.post("/api/v1/qr/simple", json={"words": words, "version": 5, "level": "M"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
    assert decoded(r.content) == [words]

    rng = np.random.default_rng(0)
    photo = Image.fromarray((rng.random((24, 24, 3)) * 255).astype(np.uint8)).resize(
        (240, 240), Image.NEAREST
    )
    buf = io.BytesIO()
    photo.save(buf, format="JPEG")
    r = client.post(
        "/api/v1/qr/artistic",
        data={"words": words, "colorized": "true", "contrast": "1.2"},
        files={"picture": ("bg.jpg", buf.getvalue(), "image/jpeg")},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
    assert decoded(r.content) == [words]

    frames = [
        Image.fromarray(np.full((120, 120, 3), (40 * i, 120, 220 - 40 * i), np.uint8))
        for i in range(3)
    ]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=90, loop=0)
    r = client.post(
        "/api/v1/qr/animated",
        data={"words": words, "level": "H"},
        files={"picture": ("bg.gif", gif.getvalue(), "image/gif")},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif", r.text
    anim = Image.open(io.BytesIO(r.content))
    assert anim.n_frames == 3 and decoded(r.content) == [words]

    # The version is a minimum (seed 001's library): a longer text gets the next version that fits.
    longer = client.post("/api/v1/qr/simple", json={"words": "x" * 200, "version": 1, "level": "H"})
    assert longer.status_code == 200 and decoded(longer.content) == ["x" * 200]
    assert client.post("/api/v1/qr/simple", json={"words": words, "version": 41}).status_code == 422
    not_gif = client.post(
        "/api/v1/qr/animated",
        data={"words": words},
        files={"picture": ("bg.jpg", buf.getvalue(), "image/jpeg")},
    )
    assert not_gif.status_code == 422 and ".gif" in not_gif.json()["detail"]


def test_bad_input_gets_clear_messages(studio_home, monkeypatch, tmp_path, recordings):
    """No worker needed: these are refused in the request."""
    from fastapi.testclient import TestClient

    from jobs.settings import reset_settings
    from tests.frames.app.conftest import frames_app

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(allowed))
    monkeypatch.setenv("STUDIO_MAX_UPLOAD_MB", "1")
    reset_settings()
    c = TestClient(frames_app())
    missing = c.get("/api/v1/video/nope/status")
    assert missing.status_code == 404 and "GET /api/v1/video/list" in missing.json()["detail"]
    assert c.get("/api/v1/review/nope").status_code == 404
    outside = c.post("/api/v1/video/from-server", json={"path": str(tmp_path)})
    assert (
        outside.status_code == 422
        and "outside the allowed server folders" in outside.json()["detail"]
    )
    empty = c.post("/api/v1/video/from-server", json={"path": str(allowed)})
    assert empty.status_code == 422 and "holds no recordings" in empty.json()["detail"]
    big = c.post(
        "/api/v1/video/upload", files={"file": ("big.mp4", b"\0" * (2 * 2**20), "video/mp4")}
    )
    assert big.status_code == 413 and "STUDIO_MAX_UPLOAD_MB" in big.json()["detail"]
    assert c.post("/api/v1/task/create", json={"name": "  "}).status_code == 422
    (allowed / "a.mp4").write_bytes(Path(recordings["good"].path).read_bytes())
    queued = c.post(
        "/api/v1/video/from-server", json={"path": str(allowed)}
    )  # no worker: stays queued
    assert queued.status_code == 201 and queued.json()["videos"][0]["filename"] == "a.mp4"
    vid = queued.json()["videos"][0]["video_id"]
    assert c.post(f"/api/v1/video/{vid}/cancel").json()["status"] == "cancelled"
    assert c.get(f"/api/v1/video/{vid}/status").json()["status"] == "cancelled"
    assert c.get(f"/api/v1/review/{vid}").status_code == 409
