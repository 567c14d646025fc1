"""REST API under /api/v1: jobs, errors users see, and access rules."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from jobs import store
from jobs.settings import reset_settings
from tests.conftest import wait_job


@pytest.fixture
def client(studio_home):
    from tests.conftest import studio_app

    with TestClient(studio_app()) as test_client:
        yield test_client


def test_health_reports_queues_and_a_missing_worker(client):
    client.post("/api/v1/jobs", json={"kind": "system.sleep", "params": {"seconds": 1}})
    body = client.get("/api/v1/health").json()
    assert body["status"] == "healthy"  # seed 001's word; "degraded" once the worker was given up
    assert body["worker"]["alive"] is False  # no worker started in this test
    assert body["queues"] == {"gpu": 0, "cpu": 1}


def test_submit_list_filter_and_get(client):
    first = client.post("/api/v1/jobs", json={"kind": "system.sleep", "params": {"seconds": 1}})
    assert first.status_code == 201
    client.post("/api/v1/jobs", json={"kind": "system.diagnostics"})
    page = client.get("/api/v1/jobs", params={"kind": "system.sleep"}).json()
    assert page["total"] == 1 and page["jobs"][0]["id"] == first.json()["id"]
    assert (
        client.get("/api/v1/jobs", params={"limit": 1, "offset": 1}).json()["jobs"][0]["id"]
        == first.json()["id"]
    )
    job = client.get(f"/api/v1/jobs/{first.json()['id']}").json()
    assert job["status"] == "queued" and job["params"] == {"seconds": 1}
    kinds = {k["kind"]: k["lane"] for k in client.get("/api/v1/kinds").json()}
    assert kinds["system.diagnostics"] == "gpu" and kinds["system.sleep"] == "cpu"


def test_bad_input_gets_clear_errors(client):
    missing = client.get("/api/v1/jobs/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    assert client.post("/api/v1/jobs/nope/cancel").status_code == 404
    malformed = client.post(
        "/api/v1/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    unknown = client.post("/api/v1/jobs", json={"kind": "no.such.kind"})
    assert unknown.status_code == 422 and "Known kinds" in unknown.json()["detail"]
    assert client.get("/api/v1/jobs", params={"status": "sleeping"}).status_code == 422


def test_cancel_of_a_finished_job_is_409_and_retry_of_a_queued_job_is_409(client):
    job = client.post("/api/v1/jobs", json={"kind": "system.sleep"}).json()
    assert client.post(f"/api/v1/jobs/{job['id']}/retry").status_code == 409
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel").json()["status"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    assert client.post(f"/api/v1/jobs/{job['id']}/retry").json()["status"] == "queued"


def test_files_log_and_samples_of_a_finished_job(client, start_worker):
    start_worker()
    job = client.post("/api/v1/jobs", json={"kind": "system.diagnostics"}).json()
    wait_job(job["id"])
    assert "torch" in client.get(f"/api/v1/jobs/{job['id']}/log").text
    status = client.get(f"/api/v1/jobs/{job['id']}/files/status.json")
    assert status.status_code == 200 and status.json()["status"] == "succeeded"
    assert client.get(f"/api/v1/jobs/{job['id']}/files/../../studio.db").status_code == 404
    assert isinstance(client.get(f"/api/v1/jobs/{job['id']}/samples").json(), list)


def test_openapi_lists_the_job_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/health",
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}",
        "/api/v1/jobs/{job_id}/cancel",
        "/api/v1/jobs/{job_id}/retry",
        "/api/v1/jobs/{job_id}/files/{name}",
    ):
        assert path in paths
    assert client.get("/docs").status_code == 200


@pytest.fixture
def secured(studio_home, monkeypatch):
    monkeypatch.setenv("STUDIO_AUTH", "ana:pw-ana,bo:pw-bo,root:pw-root")
    monkeypatch.setenv("STUDIO_ADMINS", "root")
    monkeypatch.setenv("STUDIO_API_TOKENS", "tok-ana:ana,tok-bo:bo,tok-root:root")
    reset_settings()
    from tests.conftest import studio_app

    with TestClient(studio_app()) as test_client:
        yield test_client


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_needs_a_token_when_logins_are_configured(secured):
    denied = secured.get("/api/v1/jobs")
    assert denied.status_code == 401 and "Bearer" in denied.json()["detail"]
    assert secured.get("/api/v1/jobs", headers=_as("wrong")).status_code == 401
    assert secured.get("/api/v1/jobs", headers=_as("tok-ana")).status_code == 200
    assert secured.get("/api/v1/jobs", auth=("bo", "pw-bo")).status_code == 200
    assert secured.get("/api/v1/health").status_code == 200  # health stays open for probes


def test_owner_is_the_caller_and_only_owner_or_admin_may_cancel(secured):
    job = secured.post("/api/v1/jobs", json={"kind": "system.sleep"}, headers=_as("tok-ana")).json()
    assert job["owner"] == "ana"
    # Another user's job is answered like a missing one: 404, the same words, no owner named.
    forbidden = secured.post(f"/api/v1/jobs/{job['id']}/cancel", headers=_as("tok-bo"))
    missing = secured.post("/api/v1/jobs/000000000000/cancel", headers=_as("tok-bo"))
    assert forbidden.status_code == missing.status_code == 404
    assert "ana" not in forbidden.json()["detail"]
    assert store.get_job(job["id"])["status"] == "queued"
    assert (
        secured.post(f"/api/v1/jobs/{job['id']}/cancel", headers=_as("tok-root")).status_code == 200
    )
    own = secured.post("/api/v1/jobs", json={"kind": "system.sleep"}, headers=_as("tok-bo")).json()
    assert (
        secured.post(f"/api/v1/jobs/{own['id']}/cancel", headers=_as("tok-bo")).status_code == 200
    )


def test_ui_asks_for_login_when_logins_are_configured(secured):
    config = secured.get("/config")
    assert config.status_code in (401, 403) or config.json().get("auth_required")
    login = secured.post("/login", data={"username": "ana", "password": "pw-ana"})
    assert login.status_code == 200
    bad = secured.post("/login", data={"username": "ana", "password": "nope"})
    assert bad.status_code >= 400
