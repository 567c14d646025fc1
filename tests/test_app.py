"""README command 1: ``python app.py`` serves the studio with its worker."""

from __future__ import annotations

import time

import httpx


def test_app_serves_ui_and_api_with_a_live_worker(studio_server):
    base, home, _ = studio_server
    health = httpx.get(f"{base}/api/v1/health").json()
    assert health["worker"]["alive"] is True
    assert health["worker"]["heartbeat_age_s"] < 5
    assert httpx.get(f"{base}/").status_code == 200
    assert (home / "studio.db").exists() and (home / "queue.db").exists()


def test_named_gradio_endpoints_for_gradio_client(studio_server):
    from gradio_client import Client

    base, _, _ = studio_server
    client = Client(base + "/", verbose=False)
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in ("/run_diagnostics", "/jobs_list", "/worker_status", "/jobs_job_status", "/jobs_job_cancel"):
        assert name in endpoints, sorted(endpoints)
    job_id = client.predict(api_name="/run_diagnostics")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = httpx.get(f"{base}/api/v1/jobs/{job_id}").json()
        if job["status"] == "succeeded":
            break
        time.sleep(0.3)
    assert job["status"] == "succeeded" and job["outputs"]["report"]["torch"]
