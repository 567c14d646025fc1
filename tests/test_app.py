"""README command 1: ``python app.py`` serves the studio with its worker."""

from __future__ import annotations

import time

import httpx
import pytest


def test_app_serves_ui_and_api_with_a_live_worker(studio_server):
    base, home, _ = studio_server
    health = httpx.get(f"{base}/api/v1/health", timeout=30).json()
    assert health["worker"]["alive"] is True
    assert health["worker"]["heartbeat_age_s"] < 5
    assert httpx.get(f"{base}/", timeout=30).status_code == 200
    assert (home / "studio.db").exists() and (home / "queue.db").exists()


def test_named_gradio_endpoints_for_gradio_client(studio_server):
    from gradio_client import Client

    base, _, _ = studio_server
    client = Client(base + "/", verbose=False)
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in (
        "/run_diagnostics",
        "/jobs_list",
        "/worker_status",
        "/jobs_job_status",
        "/jobs_job_cancel",
    ):
        assert name in endpoints, sorted(endpoints)
    job_id = client.predict(api_name="/run_diagnostics")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = httpx.get(f"{base}/api/v1/jobs/{job_id}").json()
        if job["status"] == "succeeded":
            break
        time.sleep(0.3)
    assert job["status"] == "succeeded" and job["outputs"]["report"]["torch"]


@pytest.mark.slow
def test_ui_jobs_belong_to_the_logged_in_user(tmp_path):
    """With STUDIO_AUTH the UI asks for a login, and a job started from the UI is the user's."""
    from gradio_client import Client

    from tests.conftest import run_studio

    settings = {"STUDIO_AUTH": "ana:pw-ana", "STUDIO_API_TOKENS": "tok:ana"}
    settings["STUDIO_WORKER"] = "external"  # no worker: the job stays queued
    with run_studio(tmp_path, worker=False, **settings) as (base, _, _):
        assert (
            httpx.post(f"{base}/login", data={"username": "ana", "password": "bad"}).status_code
            >= 400
        )
        client = Client(base + "/", auth=("ana", "pw-ana"), verbose=False)
        job_id = client.predict(api_name="/run_diagnostics")
        job = httpx.get(
            f"{base}/api/v1/jobs/{job_id}", headers={"Authorization": "Bearer tok"}
        ).json()
        assert job["owner"] == "ana" and job["status"] == "queued"
