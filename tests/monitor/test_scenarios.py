"""Scenario runs with monitoring: a script runs as a job while its process tree is sampled."""

from __future__ import annotations

import csv
import time

import psutil
import pytest
from fastapi.testclient import TestClient

from jobs.access import User, user_named
from jobs.settings import reset_settings
from jobs.tools.monitor import scenarios, store
from tests.conftest import ARTIFACTS, wait_job

ADMIN = User("ana", True)

# Holds ~120 MB, keeps one core busy in a child process for a while, then exits.
BUSY = """
import subprocess, sys, time
blob = bytearray(120 * 2**20)
for i in range(len(blob) // 4096):
    blob[i * 4096] = 1
child = subprocess.Popen([sys.executable, "-c", "import time\\nend = time.time() + 1.5\\nwhile time.time() < end: pass"])
print("scenario started", flush=True)
child.wait()
time.sleep(0.3)
print("scenario finished", flush=True)
"""


@pytest.fixture(autouse=True)
def scripts_on(studio_home, monkeypatch):
    """An open studio runs scenario scripts only with STUDIO_ALLOW_SCENARIO_SCRIPTS=1."""
    monkeypatch.setenv("STUDIO_ALLOW_SCENARIO_SCRIPTS", "1")
    reset_settings()


@pytest.fixture
def client(studio_home):
    from tests.conftest import studio_app

    with TestClient(studio_app()) as test_client:
        yield test_client


def test_scenario_run_samples_its_process_tree(client, start_worker):
    start_worker()
    created = client.post(
        "/api/v1/scenarios",
        json={
            "name": "busy",
            "code": BUSY,
            "metrics": ["cpu_percent", "rss_mb", "threads"],
            "interval_s": 0.2,
        },
    )
    assert created.status_code == 201
    job = client.post("/api/v1/scenarios/busy/run").json()
    job = wait_job(job["id"], timeout=60)
    assert job["status"] == "succeeded", job["error"]
    summary = job["outputs"]["summary"]
    assert summary["rss_mb"]["max"] > 120  # the script's memory, not the worker's
    # the busy child counted in the tree (the script itself only waits: ~0 %); a loaded
    # machine gives the child a small share of a core, hence the low bar
    assert summary["cpu_percent"]["max"] > 8
    assert job["outputs"]["exit_code"] == 0 and job["outputs"]["samples"] >= 5

    with open(store.job_dir(job["id"]) / "outputs" / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["t", "elapsed_s", "cpu_percent", "rss_mb", "threads"]
    samples = client.get(f"/api/v1/jobs/{job['id']}/samples").json()
    assert len(samples) == len(rows) and max(s["rss_mb"] for s in samples) > 120
    log = store.read_log(job["id"])
    assert "scenario> scenario started" in log and "scenario> scenario finished" in log


def test_failing_scenario_fails_the_job_and_keeps_its_metrics(studio_home, start_worker):
    start_worker()
    scenarios.create("broken", "import sys\nprint('boom')\nsys.exit(3)\n", user=ADMIN)
    job = wait_job(scenarios.submit_run("broken", ADMIN)["id"])
    assert job["status"] == "failed" and "exited with code 3" in job["error"]
    assert (
        "outputs/metrics.csv" in job["outputs"]["files"]
        and "outputs/output.txt" in job["outputs"]["files"]
    )


def test_cancel_kills_the_scenario_and_its_children(studio_home, start_worker):
    start_worker()
    scenarios.create(
        "forever",
        "import subprocess, sys\n"
        "subprocess.run([sys.executable, '-c', 'import time; time.sleep(93)'])\n",
        user=ADMIN,
    )
    job = scenarios.submit_run("forever", ADMIN)
    wait_job(job["id"], ("running",))
    time.sleep(1.0)
    from jobs import queue

    queue.cancel(job["id"])
    assert wait_job(job["id"], timeout=10)["status"] == "cancelled"
    time.sleep(0.5)
    leftovers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "time.sleep(93)" in " ".join(p.info["cmdline"] or [])
    ]
    assert not leftovers


@pytest.mark.usefixtures("database_url")  # the scenarios' records on both databases
def test_scenario_crud_and_bad_input(client):
    body = {"name": "login", "code": "print('hi')"}
    assert client.post("/api/v1/scenarios", json=body).status_code == 201
    dup = client.post("/api/v1/scenarios", json=body)
    assert dup.status_code == 409 and "already exists" in dup.json()["detail"]
    bad = client.post("/api/v1/scenarios", json={**body, "name": "x2", "metrics": ["happiness"]})
    assert bad.status_code == 422 and "happiness" in bad.json()["detail"]
    assert client.post("/api/v1/scenarios", json={**body, "name": "../x"}).status_code == 422
    assert client.put("/api/v1/scenarios/login", json={"interval_s": 2}).json()["interval_s"] == 2
    assert [s["name"] for s in client.get("/api/v1/scenarios").json()] == ["login"]
    assert client.delete("/api/v1/scenarios/login").status_code == 204
    assert client.get("/api/v1/scenarios/login").status_code == 404
    assert client.post("/api/v1/scenarios/login/run").status_code == 404


@pytest.mark.slow
def test_saved_scenarios_are_listed_after_a_reload(studio_home, page):
    """The picker's choices are read on each page load, not once at server start."""
    import threading

    import uvicorn

    from studio.server import create_app
    from tests.conftest import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"

        def listed() -> str:
            page.get_by_role("tab", name="Jobs / Monitor").click()
            page.get_by_role("tab", name="Scenario runs", exact=True).click()
            page.locator("#scenario-picker input").first.click()
            option = page.get_by_role("option", name="after_start")
            option.wait_for(timeout=10_000)
            names = option.inner_text()
            page.screenshot(path=str(ARTIFACTS / "scenario-picker-after-reload.png"))
            page.keyboard.press("Escape")
            return names

        page.goto(base + "/")
        page.get_by_role("tab").first.wait_for(timeout=30_000)
        # Saved after the server started (and after this page loaded), by the page's
        # own user (names are per owner: the picker lists the caller's scenarios).
        scenarios.create("after_start", "print('hi')", user=user_named(None))
        page.reload()
        page.get_by_role("tab").first.wait_for(timeout=30_000)
        assert "after_start" in listed()
    finally:
        # Leave the page before its server stops: a module the open page still fetched
        # from a stopped server is a page error (the page fixture's JavaScript check).
        page.goto("about:blank")
        server.should_exit = True
        thread.join(timeout=10)
