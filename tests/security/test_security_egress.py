"""Issue 19, points 2 and 3: what the worker reaches for a user.

- Server-side requests: the caption / rewrite APIs a user may use are the
  endpoints an admin configured (STUDIO_API_ENDPOINTS, plus 'openai'), picked
  by name; a typed URL is refused (403) unless the user is an admin or it is a
  configured endpoint's URL. The worker never hands a remote error body back.
- Model references: one rule (a folder in the models folder, a folder inside it
  or the allowed roots, a hub id already on this machine), checked at submit;
  no folder walk in a request.
"""

from __future__ import annotations

import json
import os
import pathlib
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from jobs import store
from jobs.settings import reset_settings
from tests.conftest import wait_job
from tests.photo_dataset.app.conftest import OPTIONS, photo_bytes
from tests.security.conftest import TOKENS, USERS, as_

ENDPOINT = "http://127.0.0.1:9/v1"  # nothing listens there: the jobs are never run
INTERNAL = "http://169.254.169.254/latest/meta-data"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The allowed server folder and the models folder, read by every test of the module
    (the same settings each time, so one web app serves them: tests.conftest.studio_app)."""
    root = tmp_path_factory.mktemp("egress") / "server"
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "a.jpg").write_bytes(photo_bytes()["photos/coffee.jpg"])
    models = root.parent / "models"
    (models / "tiny-captioner").mkdir(parents=True)
    (models / "tiny-captioner" / "config.json").write_text("{}")
    (root / "buffalo_l" / "models").mkdir(parents=True)
    (root / "buffalo_l" / "models" / "det.onnx").write_bytes(b"onnx")
    return root, models


@pytest.fixture
def studio(studio_home, folders, monkeypatch):
    """Logins (alice, bob; root is the admin), an allowed server folder, one configured
    endpoint 'fake' and a models folder holding one caption model and one InsightFace folder."""
    root, models = folders
    monkeypatch.setenv("STUDIO_AUTH", ",".join(f"{u}:{p}" for u, p in USERS.items()))
    monkeypatch.setenv("STUDIO_API_TOKENS", ",".join(f"{t}:{u}" for u, t in TOKENS.items()))
    monkeypatch.setenv("STUDIO_ADMINS", "root")
    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(root))
    monkeypatch.setenv("STUDIO_MODELS_DIR", str(models))
    monkeypatch.setenv("STUDIO_API_ENDPOINTS", f"fake={ENDPOINT}")
    reset_settings()
    from tests.conftest import studio_app

    with TestClient(studio_app(), raise_server_exceptions=False) as client:
        client.root = root  # type: ignore[attr-defined]
        yield client
    reset_settings()


def start_videos(client, user: str, name: str, **options):
    body = {
        "dataset_name": name,
        "input_path": str(client.root / "photos"),
        "options": {"api_models": ["m"], **options},
    }
    return client.post("/api/v1/preprocessing/start", json=body, headers=as_(user))


def start_photos(client, user: str, name: str, caption=None, **top):
    options = {**OPTIONS, **top, "caption": {**OPTIONS["caption"], **(caption or {})}}
    return client.post(
        "/api/v1/datasets",
        data={
            "name": name,
            "server_path": str(client.root / "photos"),
            "options": json.dumps(options),
        },
        headers=as_(user),
    )


def jobs_of(client, user: str) -> int:
    return client.get("/api/v1/jobs", headers=as_(user)).json()["total"]


# --------------------------------------------------------------------------- SSRF


def test_a_typed_api_url_is_refused_for_users_with_the_way_to_pick_an_endpoint(studio):
    for url in (INTERNAL, "http://127.0.0.1:6379/", "file:///etc/passwd"):
        answer = start_videos(studio, "alice", "v1", caption_provider="api", api_base_url=url)
        assert answer.status_code == 403, answer.text
        assert "api_endpoint" in answer.json()["detail"] and "fake" in answer.json()["detail"]
        answer = start_photos(
            studio, "alice", "p1", caption={"provider": "api", "api_base_url": url}
        )
        assert answer.status_code == 403, answer.text
    # the rewrite's URL is the same option: refused even with captions off
    answer = start_videos(studio, "alice", "v2", rewrite=True, api_base_url=INTERNAL)
    assert answer.status_code == 403
    assert jobs_of(studio, "alice") == 0
    assert (
        studio.get("/api/v1/preprocessing/check/v1", headers=as_("alice")).json()["exists"] is False
    )


def test_users_pick_an_endpoint_by_name_and_an_old_clients_url_is_that_endpoint(studio):
    by_name = start_videos(studio, "alice", "v1", caption_provider="api", api_endpoint="fake")
    assert by_name.status_code == 201, by_name.text
    as_url = start_videos(studio, "bob", "v2", caption_provider="api", api_base_url=ENDPOINT + "/")
    assert as_url.status_code == 201, as_url.text
    for answer in (by_name, as_url):
        options = store.get_job(answer.json()["task_id"])["params"]["options"]
        assert (options["api_endpoint"], options["api_base_url"]) == ("fake", "")
    photos = start_photos(
        studio,
        "alice",
        "p1",
        caption={"provider": "api", "api_models": ["m"], "api_endpoint": "fake"},
    )
    assert photos.status_code == 201, photos.text
    unknown = start_videos(studio, "alice", "v3", caption_provider="api", api_endpoint="intranet")
    assert unknown.status_code == 422 and "fake, openai" in unknown.json()["detail"]


def test_an_admin_may_type_a_url(studio):
    answer = start_videos(
        studio, "root", "v1", caption_provider="api", api_base_url="http://10.0.0.5/v1"
    )
    assert answer.status_code == 201, answer.text
    options = store.get_job(answer.json()["task_id"])["params"]["options"]
    assert options["api_base_url"] == "http://10.0.0.5/v1"


class ErrorServer:
    """An OpenAI-compatible server on 127.0.0.1 that answers every request with
    HTTP 500 and a body holding internal data (after ``delay`` seconds)."""

    BODY = "INTERNAL-METADATA-7f3a token=abc"

    def __init__(self, delay: float = 0.0):
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                import time

                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests += 1
                time.sleep(delay)
                data = json.dumps({"error": {"message": outer.BODY}}).encode()
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


def small_zip(path: pathlib.Path) -> pathlib.Path:
    data = photo_bytes()
    with zipfile.ZipFile(path, "w") as z:
        for name in ("photos/astronaut.jpg", "photos/coffee.jpg"):
            z.writestr(name, data[name])
    return path


def test_the_worker_never_hands_a_remote_error_body_to_a_user(
    studio_home, tmp_path, monkeypatch, start_worker
):
    from jobs.access import User
    from jobs.tools import photo_dataset as photos

    with ErrorServer() as server:
        monkeypatch.setenv("STUDIO_AUTH", "alice:pw")
        monkeypatch.setenv("STUDIO_API_ENDPOINTS", f"remote={server.base_url}")
        reset_settings()
        start_worker()
        job = photos.start_build(
            "errors",
            User("alice"),
            {
                **OPTIONS,
                "caption": {
                    "trigger": "ohwx",
                    "provider": "api",
                    "api_endpoint": "remote",
                    "api_models": ["m"],
                    "api_retries": 0,
                },
            },
            files=[small_zip(tmp_path / "small.zip")],
        )
        done = wait_job(job["id"], timeout=120)
    assert server.requests >= 1
    seen = json.dumps(done) + store.read_log(job["id"], tail=10_000)
    for path in (studio_home / "datasets").rglob("*.json"):
        seen += path.read_text()
    assert "HTTP 500" in seen  # the status code and its reason are fine
    assert "INTERNAL-METADATA" not in seen and "token=abc" not in seen


# --------------------------------------------------------------------------- model references


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("/etc", "outside the models folder"),
        ("../../../../etc", "outside the models folder"),
        ("someone/not-downloaded", "not in the Hugging Face cache"),
        ("someone/bad..id", "not in the Hugging Face cache"),
        ("no-such-folder", "no folder 'no-such-folder' in the models folder"),
    ],
)
def test_a_caption_model_off_the_rule_is_refused_at_submit(studio, model, words):
    answer = start_videos(studio, "alice", "v1", caption_provider="local", local_model=model)
    assert answer.status_code == 422 and words in answer.json()["detail"], answer.text
    answer = start_photos(
        studio, "alice", "p1", caption={"provider": "local", "local_model": model}
    )
    assert answer.status_code == 422 and words in answer.json()["detail"], answer.text
    assert jobs_of(studio, "alice") == 0


def test_caption_models_on_this_machine_are_accepted(studio):
    by_folder = start_videos(
        studio, "alice", "v1", caption_provider="local", local_model="tiny-captioner"
    )
    assert by_folder.status_code == 201, by_folder.text
    # a hub id whose model was copied into the models folder under its name
    by_id = start_photos(
        studio,
        "alice",
        "p1",
        caption={"provider": "local", "local_model": "someone/tiny-captioner"},
    )
    assert by_id.status_code == 201, by_id.text


def test_the_video_edit_tool_uses_the_same_rule():
    from jobs import models
    from jobs.tools import video_edit

    assert video_edit.model_ref is models.model_ref


def test_insightface_folder_follows_the_rule_and_no_folder_is_walked_in_a_request(
    studio, monkeypatch
):
    outside = pathlib.Path(studio.root).parent / "elsewhere"
    outside.mkdir()
    answer = start_photos(
        studio, "alice", "p1", dedup={"use_faces": True, "insightface_model_dir": str(outside)}
    )
    assert answer.status_code == 422 and "outside the models folder" in answer.json()["detail"]

    walks: list[str] = []
    real_rglob, real_glob, real_walk = pathlib.Path.rglob, pathlib.Path.glob, os.walk

    def rglob(self, pattern, *a, **k):
        walks.append(f"rglob {self} {pattern}")
        return real_rglob(self, pattern, *a, **k)

    def glob(self, pattern, *a, **k):
        walks.append(f"glob {self} {pattern}")
        return real_glob(self, pattern, *a, **k)

    def walk(top, *a, **k):
        walks.append(f"walk {top}")
        return real_walk(top, *a, **k)

    monkeypatch.setattr(pathlib.Path, "rglob", rglob)
    monkeypatch.setattr(pathlib.Path, "glob", glob)
    monkeypatch.setattr(os, "walk", walk)
    inside = str(studio.root / "buffalo_l")
    answer = start_photos(
        studio,
        "alice",
        "p2",
        dedup={"keep_per_cluster": 1, "use_faces": True, "insightface_model_dir": inside},
    )
    monkeypatch.undo()
    assert not walks, walks
    # accepted, or refused only because InsightFace is not installed here: never a walk
    assert answer.status_code in (201, 422), answer.text
    if answer.status_code == 422:
        assert "not installed" in answer.json()["detail"]
