"""Issue 19.6: a login for the UI whenever the API has one, a real public demo
(each browser its own visitor, no admin powers, work deleted after the
retention), and no open studio exposed beyond this machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from jobs import datasets, queue, store
from jobs.settings import Settings, reset_settings
from tests.conftest import CLEARED_SETTINGS, ROOT, run_studio

VISITOR_COOKIE = "studio-visitor"  # the browser's signed visitor id (public demo)
FINISHED = {"status": "succeeded", "stage": "succeeded"}


@pytest.fixture
def demo(studio_home, monkeypatch):
    """A public demo studio (STUDIO_DEMO=1, no logins)."""
    monkeypatch.setenv("STUDIO_DEMO", "1")
    reset_settings()
    yield
    reset_settings()


@pytest.fixture
def demo_app(demo):
    from studio.server import create_app

    return create_app()


def _browser(app) -> TestClient:
    """One browser: its own cookie jar."""
    return TestClient(app)


def _visitor_cookie(client: TestClient) -> str:
    client.get("/api/v1/jobs")
    value = client.cookies.get(VISITOR_COOKIE)
    assert value, "the first answer sets the visitor cookie"
    return value


def test_two_browsers_see_only_their_own_jobs_and_datasets(demo_app):
    with _browser(demo_app) as ana, _browser(demo_app) as bo:
        job = ana.post("/api/v1/jobs", json={"kind": "system.sleep"}).json()
        assert job["owner"].startswith("visitor-")
        # Each browser keeps its own visitor: ana's second request is still ana's.
        assert [j["id"] for j in ana.get("/api/v1/jobs").json()["jobs"]] == [job["id"]]
        assert ana.get(f"/api/v1/jobs/{job['id']}").status_code == 200
        assert bo.get("/api/v1/jobs").json()["total"] == 0
        assert bo.get(f"/api/v1/jobs/{job['id']}").status_code == 404
        assert bo.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 404
        assert store.get_job(job["id"])["status"] == "queued"
        # Datasets: the list and the dataset itself are the visitor's own.
        datasets.reserve("ana-set", "photos", job["owner"])
        assert [d["name"] for d in ana.get("/api/v1/datasets").json()] == ["ana-set"]
        assert ana.get("/api/v1/datasets/ana-set").status_code == 200
        assert bo.get("/api/v1/datasets").json() == []
        assert bo.get("/api/v1/datasets/ana-set").status_code == 404


def test_a_forged_or_unsigned_cookie_is_a_new_visitor_not_the_victim(demo_app):
    with _browser(demo_app) as victim:
        job = victim.post("/api/v1/jobs", json={"kind": "system.sleep"}).json()
        visitor_id = job["owner"].removeprefix("visitor-")
        real = victim.cookies.get(VISITOR_COOKIE)
    for forged in (
        visitor_id,  # unsigned
        f"{visitor_id}.{'0' * 32}",  # a made-up signature
        f"{visitor_id}.{real.split('.')[1][::-1]}",
    ):
        with _browser(demo_app) as attacker:
            attacker.cookies.set(VISITOR_COOKIE, forged)
            answer = attacker.get("/api/v1/jobs")
            assert answer.json()["total"] == 0, forged
            assert attacker.get(f"/api/v1/jobs/{job['id']}").status_code == 404
            fresh = answer.cookies.get(VISITOR_COOKIE)
            assert fresh and not fresh.startswith(visitor_id)
            mine = attacker.post("/api/v1/jobs", json={"kind": "system.sleep"}).json()
            assert mine["owner"] not in (job["owner"], "anonymous")


def test_a_visitor_is_no_admin_no_scripts_no_server_paths(demo, monkeypatch, tmp_path):
    folder = tmp_path / "server-photos"
    folder.mkdir()
    Image.new("RGB", (64, 64), "red").save(folder / "a.png")
    # Even where an admin switched scripts on and gave server folders, a visitor gets neither.
    monkeypatch.setenv("STUDIO_ALLOW_SCENARIO_SCRIPTS", "1")
    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(tmp_path))
    reset_settings()
    from jobs.access import user_named
    from studio.server import create_app

    assert not user_named("visitor-0123").is_admin
    with _browser(create_app()) as visitor:
        script = visitor.post("/api/v1/scenarios", json={"name": "p", "code": "print(1)"})
        assert script.status_code == 403 and "public demo" in script.json()["detail"]
        assert visitor.get("/api/v1/scenarios").status_code == 403
        built = visitor.post(
            "/api/v1/datasets", data={"name": "from-server", "server_path": str(folder)}
        )
        assert built.status_code == 403, built.text
        assert "upload" in built.json()["detail"]
        assert visitor.get("/api/v1/jobs").json()["total"] == 0
        # An admin's owner filter is not a visitor's: it cannot widen the list.
        other = queue.submit("system.sleep", {}, owner="visitor-someone-else")
        listed = visitor.get("/api/v1/jobs", params={"owner": "visitor-someone-else"}).json()
        assert other["id"] not in [j["id"] for j in listed["jobs"]]


def test_retention_deletes_old_visitor_work_and_keeps_recent(demo):
    from jobs import retention

    def visitor_work(owner: str, name: str) -> tuple[str, Path]:
        job = queue.submit("system.sleep", {"seconds": 0}, owner=owner)
        store.update_job(job["id"], **FINISHED)
        return job["id"], datasets.reserve(name, "photos", owner)

    old_job, old_set = visitor_work("visitor-old", "old-set")
    mine = queue.submit("system.sleep", {}, owner="anonymous")  # not a visitor's: kept
    store.update_job(mine["id"], **FINISHED)
    time.sleep(0.05)
    between = time.time()
    time.sleep(0.05)
    new_job, new_set = visitor_work("visitor-new", "new-set")

    deleted = retention.sweep(now=between + 24 * 3600)  # the default retention: 24 h

    assert deleted["jobs"] == 1 and deleted["datasets"] == 1
    assert store.find_job(old_job) is None and not store.job_dir(old_job).exists()
    assert not old_set.exists()
    assert store.find_job(new_job) is not None and store.job_dir(new_job).exists()
    assert new_set.exists() and store.find_job(mine["id"]) is not None


@pytest.mark.slow
def test_the_worker_sweeps_old_visitor_work(demo, monkeypatch, start_worker):
    monkeypatch.setenv("STUDIO_DEMO_RETENTION_H", "0.0001")  # 0.36 s
    reset_settings()
    job = queue.submit("system.sleep", {"seconds": 0}, owner="visitor-gone")
    store.update_job(job["id"], **FINISHED)
    time.sleep(0.5)
    start_worker()  # the CPU lane sweeps at start, then every few minutes
    deadline = time.monotonic() + 30
    while store.find_job(job["id"]) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store.find_job(job["id"]) is None


@pytest.mark.slow
def test_gradio_events_of_two_browsers_belong_to_their_own_visitor(tmp_path):
    from gradio_client import Client

    settings = {"STUDIO_DEMO": "1", "STUDIO_WORKER": "external"}  # no worker: jobs stay queued
    with run_studio(tmp_path, worker=False, **settings) as (base, _, _):
        cookies = []
        for _ in range(2):
            first = httpx.get(f"{base}/")  # a browser's first visit
            cookies.append(f"{VISITOR_COOKIE}={first.cookies[VISITOR_COOKIE]}")
        ana = Client(base + "/", verbose=False, headers={"Cookie": cookies[0]})
        job_id = ana.predict(api_name="/run_diagnostics")

        def as_(cookie: str, path: str) -> httpx.Response:
            return httpx.get(f"{base}{path}", headers={"Cookie": cookie})

        job = as_(cookies[0], f"/api/v1/jobs/{job_id}").json()
        assert job["owner"].startswith("visitor-") and job["status"] == "queued"
        assert as_(cookies[1], f"/api/v1/jobs/{job_id}").status_code == 404
        bo = Client(base + "/", verbose=False, headers={"Cookie": cookies[1]})
        table, _ = bo.predict("", "", "", 1, api_name="/jobs_list")
        assert job_id not in str(table)
        table, _ = ana.predict("", "", "", 1, api_name="/jobs_list")
        assert job_id in str(table)


# -- when not to start ----------------------------------------------------------


START_SETTINGS = ("STUDIO_DEMO", "SPACE_ID", "GRADIO_SERVER_NAME")


@pytest.fixture
def clean_env(monkeypatch):
    for name in (*CLEARED_SETTINGS, *START_SETTINGS):
        monkeypatch.delenv(name, raising=False)


def _settings(**fields: str) -> Settings:
    return Settings(**fields)  # type: ignore[arg-type]


def start_refusal(settings: Settings) -> str | None:
    from studio.auth import start_refusal

    return start_refusal(settings)


def test_tokens_without_ui_logins_refuse_to_start(clean_env):
    refusal = start_refusal(_settings(api_tokens="tok:ana"))
    assert refusal and "STUDIO_AUTH" in refusal and "/gradio_api" in refusal
    assert start_refusal(_settings(api_tokens="tok:ana", auth="ana:pw")) is None
    assert start_refusal(_settings()) is None  # open, on 127.0.0.1


def test_an_open_studio_beyond_loopback_must_choose_demo_logins_or_loopback(clean_env, monkeypatch):
    for name in ("0.0.0.0", "192.168.1.5", "::"):
        monkeypatch.setenv("GRADIO_SERVER_NAME", name)
        refusal = start_refusal(_settings())
        assert refusal, name
        for choice in ("STUDIO_DEMO=1", "STUDIO_AUTH", "STUDIO_API_TOKENS", "127.0.0.1"):
            assert choice in refusal
        assert start_refusal(_settings(demo="1")) is None  # the public demo may listen
        assert start_refusal(_settings(auth="ana:pw")) is None
        monkeypatch.setenv("SPACE_ID", "someone/studio")  # a Space is a demo by default
        assert start_refusal(_settings()) is None
        assert start_refusal(_settings(demo="0"))  # ... unless it says otherwise
        monkeypatch.delenv("SPACE_ID")
    for name in ("127.0.0.1", "localhost", "::1"):
        monkeypatch.setenv("GRADIO_SERVER_NAME", name)
        assert start_refusal(_settings()) is None


def _app_py(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    cleared = (*CLEARED_SETTINGS, *START_SETTINGS)
    env = {k: v for k, v in os.environ.items() if k not in cleared}
    env.update(STUDIO_HOME=str(tmp_path / "studio-data"), STUDIO_WORKER="external", **settings)
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_app_py_with_tokens_but_no_ui_login_exits_saying_what_to_set(tmp_path):
    done = _app_py(tmp_path, STUDIO_API_TOKENS="tok:ana", GRADIO_SERVER_NAME="127.0.0.1")
    assert done.returncode == 2
    assert "STUDIO_API_TOKENS is set but STUDIO_AUTH is not" in done.stderr


@pytest.mark.slow
def test_app_py_open_on_all_addresses_exits_saying_how_to_choose(tmp_path):
    done = _app_py(tmp_path, GRADIO_SERVER_NAME="0.0.0.0", GRADIO_SERVER_PORT="1")
    assert done.returncode == 2
    assert "STUDIO_DEMO=1" in done.stderr and "GRADIO_SERVER_NAME=127.0.0.1" in done.stderr
    assert not (tmp_path / "studio-data").exists()  # refused before anything started


def test_an_app_with_tokens_only_keeps_the_gradio_ui_and_api_closed(studio_home, monkeypatch):
    """At the ASGI level (an app made without app.py): the UI asks for a login nobody has."""
    monkeypatch.setenv("STUDIO_API_TOKENS", "tok:ana")
    reset_settings()
    from studio.server import create_app

    with TestClient(create_app()) as client:
        assert (
            client.get("/api/v1/jobs", headers={"Authorization": "Bearer tok"}).status_code == 200
        )
        assert client.get("/config").status_code == 401
        assert client.get("/gradio_api/info").status_code == 401
        joined = client.post(
            "/gradio_api/queue/join",
            json={"data": [], "fn_index": 0, "session_hash": "x", "event_data": None},
        )
        assert joined.status_code == 401


def test_the_docker_image_is_a_demo_unless_it_has_logins(clean_env, monkeypatch):
    env_lines = (ROOT / "Dockerfile").read_text()
    assert "STUDIO_DEMO=1" in env_lines and "GRADIO_SERVER_NAME=0.0.0.0" in env_lines
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("STUDIO_DEMO", "1")
    assert _settings().demo_mode and start_refusal(_settings()) is None
    with_logins = _settings(auth="ana:pw", admins="ana")
    assert not with_logins.demo_mode and start_refusal(with_logins) is None


def test_an_empty_or_short_visitor_key_file_is_replaced(studio_home):
    from jobs import secrets as job_secrets

    key = studio_home / "secrets" / "visitor-cookie.key"
    key.parent.mkdir(parents=True)
    for bad in (b"", b"short"):
        key.write_bytes(bad)
        made = job_secrets.signing_key("visitor-cookie")
        assert len(made) == 32 and key.read_bytes() == made
        assert key.stat().st_mode & 0o077 == 0
    assert job_secrets.signing_key("visitor-cookie") == made  # kept once it is good
