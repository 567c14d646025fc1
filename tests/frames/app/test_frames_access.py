"""Each user reaches only their own frame review work (issue 9): alice's
recordings, marks, exclusions, frames, tasks and exports are a 404 for bob,
through REST and through the tab's Gradio events; an admin reaches all.
Bad input (NUL bytes, huge integers, endless names, links out of the allowed
folders) is a 4xx with a message, never a 500."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from fastapi.testclient import TestClient

from tests.frames.app.conftest import frames_app, wait_video

ALICE = {"Authorization": "Bearer ta"}
BOB = {"Authorization": "Bearer tb"}
ROOT = {"Authorization": "Bearer tr"}


@pytest.fixture
def logins(studio_home, monkeypatch, tmp_path):
    from jobs.settings import reset_settings

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    monkeypatch.setenv("STUDIO_AUTH", "alice:pa,bob:pb,root:pr")
    monkeypatch.setenv("STUDIO_API_TOKENS", "ta:alice,tb:bob,tr:root")
    monkeypatch.setenv("STUDIO_ADMINS", "root")
    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(allowed))
    reset_settings()
    return allowed


def test_bob_cannot_read_or_change_alices_work_an_admin_can(logins, start_worker, recordings):
    start_worker()
    c = TestClient(frames_app())
    with open(recordings["good"].path, "rb") as fh:
        r = c.post(
            "/api/v1/video/upload", files={"file": ("login.mp4", fh, "video/mp4")}, headers=ALICE
        )
    assert r.status_code == 200, r.text
    vid = r.json()["video_id"]
    c.headers.update(ALICE)
    assert wait_video(c, vid)["status"] == "completed"
    review = c.get(f"/api/v1/review/{vid}").json()
    thumb = review["first_candidates"][0]["thumbnail_url"].split("/api/v1", 1)[1]
    task = c.post("/api/v1/task/create", json={"name": "alice's task", "created_by": "bob"}).json()
    assert task["created_by"] == "alice"  # with logins the caller is the creator
    tid = task["id"]
    assert (
        c.post(f"/api/v1/task/{tid}/videos", json={"video_ids": [vid]}).json()["added_count"] == 1
    )
    c.headers.clear()

    assert c.get(f"/api/v1/video/{vid}/status").status_code == 401  # no login at all

    # bob: every read and write of alice's things is "not found".
    reads = [
        f"/api/v1/video/{vid}/status",
        f"/api/v1/video/{vid}/progress",
        f"/api/v1/review/{vid}",
        f"/api/v1/review/{vid}/history",
        f"/api/v1/review/{vid}/frame/0",
        f"/api/v1{thumb}",
        f"/api/v1/task/{tid}",
        f"/api/v1/task/{tid}/statistics",
        f"/api/v1/task/{tid}/export",
    ]
    for path in reads:
        r = c.get(path, headers=BOB)
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert "not yours" in r.json()["detail"] or "No " in r.json()["detail"]
    writes = [
        ("post", f"/api/v1/review/{vid}/mark", {"first_frame": 1}),
        ("put", f"/api/v1/video/{vid}/exclusions", {"exclusions": []}),
        ("post", f"/api/v1/video/{vid}/cancel", None),
        ("delete", f"/api/v1/video/{vid}", None),
        ("put", f"/api/v1/task/{tid}", {"name": "mine now"}),
        ("delete", f"/api/v1/task/{tid}", None),
        ("post", f"/api/v1/task/{tid}/videos", {"video_ids": [vid]}),
        ("delete", f"/api/v1/task/{tid}/videos/{vid}", None),
        ("put", f"/api/v1/task/{tid}/order", {"video_ids": [vid]}),
        ("put", f"/api/v1/task/{tid}/exclusions", {"exclusions": []}),
        ("post", f"/api/v1/task/{tid}/export", None),
    ]
    for method, path, body in writes:
        r = c.request(method.upper(), path, json=body, headers=BOB)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
    assert c.get("/api/v1/video/list", headers=BOB).json() == []
    assert c.get("/api/v1/review/pending", headers=BOB).json() == []
    assert c.get("/api/v1/task/list", headers=BOB).json() == []
    assert c.get("/api/v1/task/list", params={"user": "alice"}, headers=BOB).json() == []
    bobs = c.post("/api/v1/task/create", json={"name": "bob's"}, headers=BOB).json()
    added = c.post(
        f"/api/v1/task/{bobs['id']}/videos", json={"video_ids": [vid]}, headers=BOB
    ).json()
    assert added["added_count"] == 0 and "not yours" in added["failed_videos"][0]["reason"]

    # Nothing of alice's changed.
    c.headers.update(ALICE)
    assert c.get(f"/api/v1/review/{vid}/history").json()[-1]["method"] == "algorithm"
    assert c.get(f"/api/v1/task/{tid}").json()["name"] == "alice's task"
    assert [v["video_id"] for v in c.get("/api/v1/video/list").json()] == [vid]
    c.headers.clear()

    # The admin reads and changes everything; lists show all, or one user's.
    assert c.get(f"/api/v1/video/{vid}/status", headers=ROOT).status_code == 200
    assert (
        c.get(f"/api/v1/review/{vid}/frame/0", headers=ROOT).headers["content-type"] == "image/jpeg"
    )
    assert {v["video_id"] for v in c.get("/api/v1/video/list", headers=ROOT).json()} == {vid}
    assert {t["id"] for t in c.get("/api/v1/task/list", headers=ROOT).json()} == {tid, bobs["id"]}
    assert [
        t["id"] for t in c.get("/api/v1/task/list", params={"user": "bob"}, headers=ROOT).json()
    ] == [bobs["id"]]
    r = c.post(
        f"/api/v1/review/{vid}/mark", json={"first_frame": 1, "reviewer": "ignored"}, headers=ROOT
    )
    assert r.status_code == 200, r.text
    assert c.get(f"/api/v1/review/{vid}/history", headers=ROOT).json()[-1]["user"] == "root"

    # A signed frame link (the review tab's) opens only the recording it was made for.
    from jobs.access import User
    from studio.api.frames import links

    token = links.sign(vid, User("alice"))
    assert c.get(f"/api/v1/review/{vid}/frame/0", params={"t": token}).status_code == 200
    assert c.get(f"/api/v1/review/{vid}/frame/0", params={"t": token + "x"}).status_code == 401
    assert c.get(f"/api/v1/review/{bobs['id']}/frame/0", params={"t": token}).status_code == 401

    # The tab's Gradio events check the owner the same way.
    from studio.tabs.frames import review, tasks, upload

    bob = SimpleNamespace(username="bob")
    with pytest.raises(gr.Error, match="not yours"):
        review.load_review(vid, bob)
    with pytest.raises(gr.Error, match="not yours"):
        review.mark_first(vid, "3", "", bob)
    with pytest.raises(gr.Error, match="not yours"):
        review.redetect(vid, "", bob)
    with pytest.raises(gr.Error, match="not yours"):
        tasks.rename_task(tid, "x", "", bob)
    with pytest.raises(gr.Error, match="not yours"):
        tasks.export_task(tid, "csv", bob)
    assert "not yours" in tasks.task_view(tid, bob)[0]
    assert upload.videos_table(bob)[0].empty and review.pending_choices(bob) == []
    assert [c[1] for c in tasks.task_choices(bob)] == [bobs["id"]]
    assert [r[0] for r in upload.videos_table(SimpleNamespace(username="alice"))[0].values] == [vid]


def test_bad_input_is_a_4xx_with_a_message(logins, tmp_path):
    c = TestClient(frames_app(), raise_server_exceptions=False)
    c.headers.update(ALICE)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(b"\0" * 100)
    (logins / "link.mp4").symlink_to(outside / "secret.mp4")
    os.symlink(outside, logins / "linked-folder")

    r = c.post("/api/v1/video/from-server", json={"path": str(logins / "link.mp4")})
    assert r.status_code == 422 and "outside the allowed server folders" in r.json()["detail"]
    r = c.post("/api/v1/video/from-server", json={"path": str(logins)})
    assert r.status_code == 422 and "outside the allowed server folders" in r.json()["detail"], (
        r.text
    )
    r = c.post("/api/v1/video/from-server", json={"path": str(logins / "linked-folder")})
    assert r.status_code == 422
    cases = [
        ("post", "/api/v1/video/from-server", {"path": "a\x00b.mp4"}),
        ("post", "/api/v1/task/create", {"name": "x" * 1_000_000}),
        ("post", "/api/v1/task/create", {"name": "bad\x00name"}),
        ("post", "/api/v1/task/create", {"name": "tab\x07bell"}),
        ("post", "/api/v1/task/create", {"name": "ok", "description": "d" * 100_000}),
        ("post", "/api/v1/review/abc/mark", {"first_frame": 2**63}),
        ("post", "/api/v1/review/abc/mark", {"last_frame": -1}),
        ("post", "/api/v1/review/abc/mark", {"first_frame_id": "abc_1\x00"}),
        ("post", "/api/v1/review/abc/mark", {"review_notes": "n" * 100_000}),
        ("get", f"/api/v1/review/abc/frame/{2**64}", None),
        ("get", "/api/v1/review/abc/frame/-1", None),
        ("get", f"/api/v1/video/list?skip={2**63}", None),
        ("get", f"/api/v1/video/list?limit={2**70}", None),
        ("get", "/api/v1/video/a%00b/status", None),
        ("get", f"/api/v1/task/list?limit={2**63}", None),
        ("post", "/api/v1/qr/simple", {"words": "hi", "version": 2**63}),
        ("post", "/api/v1/qr/simple", {"words": "x" * 10_000}),
        (
            "put",
            "/api/v1/video/abc/exclusions",
            {"exclusions": [{"x": 2**63, "y": 0, "w": 1, "h": 1}]},
        ),
    ]
    for method, path, body in cases:
        r = c.request(method.upper(), path, json=body)
        assert 400 <= r.status_code < 500, (
            path,
            body and str(body)[:80],
            r.status_code,
            r.text[:300],
        )
        assert r.json()["detail"], path
    # seed 001's error table: a recording in a format not taken is a 400 with its detail
    r = c.post("/api/v1/video/upload", files={"file": ("notes.txt", b"hello", "text/plain")})
    assert r.status_code == 400 and ".mp4, .mov, .webm, .mkv" in r.json()["detail"]
    assert not list(Path(os.environ["STUDIO_HOME"]).glob("media/frames/*/notes.txt"))
