"""Issue 19, point 4: every number a user sends has an upper bound in its schema,
waits between API retries end when the job is cancelled, and one user cannot
fill the queues (a per-user limit of queued + running jobs, admins exempt)."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from jobs import queue, store
from jobs.settings import reset_settings
from tests.conftest import wait_job
from tests.photo_dataset.app.conftest import OPTIONS, photo_bytes
from tests.security.conftest import as_


@pytest.fixture
def app(secured):
    return secured


def start_photos(client, user: str, **top):
    caption = top.pop("caption", {})
    options = {**OPTIONS, **top, "caption": {**OPTIONS["caption"], **caption}}
    data = photo_bytes()["photos/coffee.jpg"]
    return client.post(
        "/api/v1/datasets",
        data={"name": "bounded", "options": json.dumps(options)},
        files=[("files", ("coffee.jpg", data, "image/jpeg"))],
        headers=as_(user),
    )


@pytest.mark.parametrize(
    ("top", "named"),
    [
        ({"max_pixels": 2_000_000_000}, "max_pixels"),  # would switch the bomb guard off
        ({"caption": {"api_retries": 1000}}, "api_retries"),
        ({"caption": {"api_timeout": 1e6}}, "api_timeout"),
        ({"caption": {"api_backoff": 1e6}}, "api_backoff"),
        ({"caption": {"batch_size": 100_000}}, "batch_size"),
        ({"caption": {"max_new_tokens": 1_000_000}}, "max_new_tokens"),
    ],
)
def test_photo_and_caption_numbers_have_upper_bounds(app, top, named):
    answer = start_photos(app, "alice", **top)
    assert answer.status_code == 422, answer.text
    assert named in answer.json()["detail"]
    assert app.get("/api/v1/jobs", headers=as_("alice")).json()["total"] == 0


def test_video_edit_frames_times_steps_is_bounded():
    from pydantic import ValidationError

    from pipelines.errors import BadInput
    from pipelines.video_edit.options import MAX_FRAME_STEPS, VideoEditOptions

    with pytest.raises(ValidationError, match="max_frames × num_inference_steps"):
        VideoEditOptions(max_frames=1_000_000, num_inference_steps=500)
    whole_clip = VideoEditOptions(num_inference_steps=500)  # every frame of the clip
    with pytest.raises(BadInput, match="frame-steps"):
        whole_clip.check_work(clip_frames=MAX_FRAME_STEPS)
    whole_clip.check_work(clip_frames=MAX_FRAME_STEPS // 500)  # at the bound: fine
    VideoEditOptions(mode="single_frame", num_inference_steps=500).check_work(10**7)


def test_an_animated_qr_code_takes_a_bounded_number_of_frames():
    from pipelines.frames.qr import MAX_FRAMES, FrameReviewError, animated_qr

    frames = [Image.new("RGB", (16, 16), (i % 256, 0, 0)) for i in range(MAX_FRAMES + 1)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=20)
    with pytest.raises(FrameReviewError, match=f"at most {MAX_FRAMES} frames"):
        animated_qr("hello", gif.getvalue())
    short = io.BytesIO()
    frames[0].save(short, format="GIF", save_all=True, append_images=frames[1:3], duration=20)
    assert animated_qr("hello", short.getvalue())[:3] == b"GIF"


def test_a_user_sleeps_a_minute_at_most_an_admin_longer(logins, start_worker):
    start_worker()
    for kind in ("system.sleep", "system.gpu_sleep"):
        job = queue.submit(kind, {"seconds": 3600}, owner="alice")
        done = wait_job(job["id"], timeout=30)
        assert done["status"] == "failed" and "between 0 and 60" in done["error"], kind
    admin = queue.submit("system.sleep", {"seconds": 120, "steps": 120}, owner="root")
    wait_job(admin["id"], statuses=("running",), timeout=30)
    time.sleep(1.5)
    assert store.get_job(admin["id"])["status"] == "running"
    queue.cancel(admin["id"])


# --------------------------------------------------------------------------- cancellable backoff


class SlowErrorServer:
    """An OpenAI-compatible server on 127.0.0.1 that answers HTTP 500 after ``delay`` s."""

    def __init__(self, delay: float = 0.5):
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests += 1
                time.sleep(delay)
                data = b'{"error": {"message": "overloaded"}}'
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_cancel_ends_the_wait_between_api_retries(studio_home, tmp_path, start_worker):
    from jobs.access import user_named
    from jobs.tools import photo_dataset as photos

    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("photos/astronaut.jpg", "photos/coffee.jpg"):
            z.writestr(name, photo_bytes()[name])
    start_worker()
    with SlowErrorServer(delay=0.5) as server:
        job = photos.start_build(
            "backoff",
            user_named("anonymous"),  # the open studio's admin may type a URL
            {
                **OPTIONS,
                "caption": {
                    "trigger": "ohwx",
                    "provider": "api",
                    "api_base_url": server.base_url,
                    "api_models": ["m"],
                    "api_retries": 3,
                    "api_backoff": 60,  # a minute before the first retry
                },
            },
            files=[archive],
        )
        deadline = time.monotonic() + 90
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.requests, "the build never reached the caption step"
        time.sleep(1.5)  # the 500 has come back: the job waits before its retry
        asked = time.monotonic()
        queue.cancel(job["id"])
        done = wait_job(job["id"], timeout=15)
        took = time.monotonic() - asked
    assert done["status"] == "cancelled" and took < 15
    assert server.requests == 1  # no retry was sent after the cancel


# --------------------------------------------------------------------------- per-user job limit


@pytest.fixture
def limited(studio_home, monkeypatch, request):
    monkeypatch.setenv("STUDIO_MAX_JOBS_PER_USER", "2")
    reset_settings()
    return request.getfixturevalue("secured")


def sleep_job(client, user: str):
    return client.post(
        "/api/v1/jobs", json={"kind": "system.sleep", "params": {"seconds": 1}}, headers=as_(user)
    )


def test_one_user_cannot_fill_the_queues(limited):
    first, second = sleep_job(limited, "alice"), sleep_job(limited, "alice")
    assert first.status_code == second.status_code == 201  # no worker: both stay queued
    third = sleep_job(limited, "alice")
    assert third.status_code == 429, third.text
    detail = third.json()["detail"]
    assert "2 jobs queued or running" in detail and "cancel" in detail
    assert sleep_job(limited, "bob").status_code == 201  # another user is not affected
    for _ in range(3):
        assert sleep_job(limited, "root").status_code == 201  # admins are exempt
    # cancelling one makes room again
    limited.post(f"/api/v1/jobs/{first.json()['id']}/cancel", headers=as_("alice"))
    assert sleep_job(limited, "alice").status_code == 201
    # a retry counts as a new submission
    assert (
        limited.post(f"/api/v1/jobs/{first.json()['id']}/retry", headers=as_("alice")).status_code
        == 429
    )


def test_the_workers_own_follow_up_jobs_are_never_refused(limited):
    for _ in range(2):
        assert sleep_job(limited, "alice").status_code == 201
    from pipelines.errors import TooManyJobs

    with pytest.raises(TooManyJobs, match="queued or running"):
        queue.submit("system.sleep", {"seconds": 1}, owner="alice")
    follow_up = queue.submit("system.sleep", {"seconds": 1}, owner="alice", follow_up=True)
    assert follow_up["status"] == "queued"


def test_a_public_demo_gives_every_visitor_its_own_small_limit(studio_home, monkeypatch):
    from pipelines.errors import TooManyJobs

    monkeypatch.setenv("STUDIO_DEMO", "1")
    monkeypatch.setenv("STUDIO_DEMO_MAX_JOBS", "1")
    reset_settings()
    assert queue.submit("system.sleep", {"seconds": 1}, owner="visitor-1")["status"] == "queued"
    with pytest.raises(TooManyJobs, match=r"\(1\)") as refused:
        queue.submit("system.sleep", {"seconds": 1}, owner="visitor-1")
    assert refused.value.status == 429
    assert queue.submit("system.sleep", {"seconds": 1}, owner="visitor-2")["status"] == "queued"
