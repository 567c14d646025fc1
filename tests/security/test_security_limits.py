"""Issues 9.7–9.9 (core): request bodies are limited early, per kind of
endpoint; bad input is a 4xx with a message, never a 500; names and texts
have limits in the schema (so the OpenAPI page shows them)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from jobs.settings import reset_settings


@pytest.fixture
def client(studio_home, monkeypatch):
    monkeypatch.setenv("STUDIO_MAX_UPLOAD_MB", "2")
    reset_settings()
    from tests.conftest import studio_app

    with TestClient(studio_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_json_body_over_the_limit_is_refused_from_its_content_length(client):
    params = {"blob": "x" * (2 * 2**20)}
    answer = client.post("/api/v1/jobs", json={"kind": "system.sleep", "params": params})
    assert answer.status_code == 413 and "STUDIO_MAX_JSON_MB" in answer.json()["detail"]


def test_a_streamed_body_without_content_length_is_cut_at_the_limit(client):
    def chunks():
        yield b'{"kind": "system.sleep", "params": {"blob": "'
        for _ in range(3):
            yield b"x" * 2**20
        yield b'"}}'

    answer = client.post(
        "/api/v1/jobs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413 and "STUDIO_MAX_JSON_MB" in answer.json()["detail"]


def test_uploads_get_the_upload_limit_and_gradio_events_their_own(client):
    big = b"\0" * (3 * 2**20)
    for path in ("/api/v1/video/upload", "/gradio_api/upload"):
        answer = client.post(path, files={"files": ("a.mp4", big, "video/mp4")})
        assert answer.status_code == 413 and "STUDIO_MAX_UPLOAD_MB" in answer.json()["detail"], path
    # 1.5 MB passes the upload limit (2 MB) though it is over the JSON limit (1 MB).
    answer = client.post(
        "/gradio_api/upload", files={"files": ("a.txt", b"y" * (3 * 2**19), "text/plain")}
    )
    assert answer.status_code == 200
    event = client.post(
        "/gradio_api/run/predict",
        content=b"x" * (17 * 2**20),
        headers={"content-type": "application/json"},
    )
    assert event.status_code == 413 and "STUDIO_MAX_UI_EVENT_MB" in event.json()["detail"]


@pytest.mark.slow
def test_an_over_limit_upload_is_refused_before_it_is_read_on_a_real_server(studio_server):
    """Against ``python app.py``: a 300 MB streamed upload stops long before 300 MB are sent."""
    base, _, _ = studio_server
    sent = 0

    def chunks():
        nonlocal sent
        for _ in range(300):
            sent += 1
            yield b"\0" * 2**20

    started = time.monotonic()
    try:
        answer = httpx.post(
            f"{base}/api/v1/jobs",
            content=chunks(),
            timeout=30,
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 413
    except httpx.HTTPError:
        pass  # the server answered 413 and closed while the client was still sending
    assert sent < 100, f"the server read {sent} MB before refusing"
    assert time.monotonic() - started < 20
    assert httpx.get(f"{base}/api/v1/health").status_code == 200  # and it is fine


def test_bad_input_gets_4xx_with_a_message(client):
    cases = {
        "NUL in a path": client.get("/api/v1/jobs/ab%00cd/files/x%00y"),
        "NUL in a query": client.get("/api/v1/jobs?kind=a%00b"),
        "deep JSON": client.post(
            "/api/v1/jobs",
            content=b'{"kind": "system.sleep", "params": '
            + b'{"a": ' * 50_000
            + b"1"
            + b"}" * 50_000
            + b"}",
            headers={"content-type": "application/json"},
        ),
        "params nested 20 deep": client.post(
            "/api/v1/jobs",
            json={"kind": "system.sleep", "params": json.loads('{"a": ' * 20 + "1" + "}" * 20)},
        ),
        "huge integer in a query": client.get(
            "/api/v1/jobs", params={"limit": 2**64, "offset": 2**63}
        ),
        "huge integer in a body": client.post(
            "/api/v1/scenarios", json={"name": "x", "code": "1", "interval_s": 10**400}
        ),
        "not UTF-8": client.post(
            "/api/v1/jobs",
            content=b'{"kind": "\xff\xfe"}',
            headers={"content-type": "application/json"},
        ),
        "a kind name of 1 MB": client.post("/api/v1/jobs", json={"kind": "k" * 500_000}),
        "params of 100 KB": client.post(
            "/api/v1/jobs", json={"kind": "system.sleep", "params": {"x": "y" * 100_000}}
        ),
        "control characters in a name": client.get("/api/v1/scenarios/a%01b"),
        "a scenario name of 10,000 characters": client.post(
            "/api/v1/scenarios", json={"name": "n" * 10_000, "code": "1"}
        ),
    }
    for what, answer in cases.items():
        assert 400 <= answer.status_code < 500, (what, answer.status_code, answer.text[:300])
        assert answer.json()["detail"], what
        assert "Traceback" not in answer.text and len(answer.text) < 20_000, what


def test_names_and_texts_have_limits_in_the_openapi_document(client):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    scenario = schemas["ScenarioIn"]["properties"]
    assert scenario["name"]["maxLength"] == 64 and scenario["name"]["pattern"]
    assert scenario["code"]["maxLength"] == 256 * 1024
    assert scenario["target"].get("maxLength") or any(
        option.get("maxLength") for option in scenario["target"].get("anyOf", [])
    )
    job_in = schemas["JobIn"]["properties"]
    assert job_in["kind"]["maxLength"] == 100 and job_in["kind"]["pattern"]
    assert "64 KB" in job_in["params"]["description"]
