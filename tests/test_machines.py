"""Several machines (issue 21): one GPU lane per GPU, each pinned to its device;
a job needing several GPUs runs when that many lanes of one machine are idle;
a dead machine's jobs run again elsewhere, each exactly once.

Tests run without a GPU: the device count is faked with ``STUDIO_GPU_LANES``
and the pinning is read back from each job (``CUDA_VISIBLE_DEVICES`` in its
lane and in its child process)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from jobs import queue, store
from jobs.records.tables import jobs as jobs_table
from jobs.settings import reset_settings
from tests.conftest import CLEARED_SETTINGS, Process, run_studio, wait_job


def test_each_gpu_lane_is_pinned_to_its_own_device(studio_home, monkeypatch, start_worker):
    monkeypatch.setenv("STUDIO_GPU_LANES", "2")
    reset_settings()
    start_worker()
    # Two GPU jobs at once: each lane takes one, in its own device.
    jobs = [queue.submit("system.gpu_check", {"seconds": 2, "size": 16}) for _ in range(2)]
    done = [wait_job(job["id"], timeout=120) for job in jobs]
    assert [job["status"] for job in done] == ["succeeded"] * 2
    pinned = sorted(job["outputs"]["cuda_visible_devices"] for job in done)
    assert pinned == ["0", "1"]
    for job in done:  # the record says where it ran, and torch computed there
        assert job["gpus"] == job["outputs"]["cuda_visible_devices"]
        assert job["outputs"]["tflops"] > 0
        assert job["host"] and job["worker"].startswith(f"{job['host']}:")
    first, second = sorted(done, key=lambda job: job["started_at"])
    assert second["started_at"] < first["finished_at"]  # side by side, not one after the other


def test_a_shared_gpu_lane_sees_every_gpu_of_the_machine(studio_home, monkeypatch):
    """STUDIO_GPU_LANES=shared: one GPU lane, unpinned, so a job in it sees every GPU
    the machine has (InstructPix2Pix then loads with device_map="balanced")."""
    from jobs.lanes import gpu_devices
    from jobs.worker import lane_processes
    from pipelines.video_edit.editing import ip2p_load_kwargs

    monkeypatch.setenv("STUDIO_GPU_LANES", "shared")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # the machine's two GPUs
    reset_settings()
    assert gpu_devices("shared") == [None]
    (gpu,) = [p for p in lane_processes(["gpu"]) if p[0].startswith("lane gpu")]
    assert gpu[2]["CUDA_VISIBLE_DEVICES"] == "0,1"  # not narrowed to one device
    assert "--gpu" not in gpu[1]
    assert ip2p_load_kwargs("cuda", 2).get("device_map") == "balanced"
    monkeypatch.setenv("STUDIO_GPU_LANES", "two")
    with pytest.raises(ValueError, match="'auto', 'shared' or a number"):
        reset_settings()
        from jobs.settings import get_settings

        get_settings()


def test_a_two_gpu_job_waits_for_two_idle_lanes_of_one_machine(
    studio_home, monkeypatch, start_worker
):
    monkeypatch.setenv("STUDIO_GPU_LANES", "2")
    reset_settings()
    start_worker()
    busy = queue.submit("system.gpu_sleep", {"seconds": 4})
    wait_job(busy["id"], ("running",), timeout=120)
    wide = queue.submit("system.diagnostics", {"gpus": 2})
    time.sleep(1.5)
    assert store.get_job(wide["id"])["status"] == "queued"  # one lane idle is not enough

    busy, wide = wait_job(busy["id"], timeout=120), wait_job(wide["id"], timeout=120)
    assert busy["status"] == wide["status"] == "succeeded", wide["error"]
    assert wide["started_at"] >= busy["finished_at"]
    report = wide["outputs"]["report"]
    assert sorted(wide["gpus"].split(",")) == ["0", "1"]
    # The lane that took it is pinned to one device; the job's child sees both.
    assert report["cuda_visible_devices"] in ("0", "1")
    assert report["child_cuda_visible_devices"] == wide["gpus"]
    assert wide["gpus"].split(",")[0] == report["cuda_visible_devices"]  # its own device first

    # Both devices are free again: a single-GPU job runs at once.
    after = wait_job(queue.submit("system.diagnostics", {})["id"], timeout=120)
    assert after["status"] == "succeeded" and after["gpus"] in ("0", "1")
    assert after["outputs"]["report"]["child_cuda_visible_devices"] == after["gpus"]

    # More GPUs than any machine has: it fails at once, saying what to do.
    too_wide = wait_job(queue.submit("system.diagnostics", {"gpus": 3})["id"], timeout=60)
    assert too_wide["status"] == "failed"
    assert "needs 3 GPUs on one machine" in too_wide["error"]
    assert "largest live worker has 2 GPU lanes" in too_wide["error"]


def test_another_machines_job_is_requeued_when_its_lease_runs_out(studio_home, monkeypatch):
    """Another machine's worker is judged by its heartbeat only (its pid means
    nothing here: it is this test's own, alive, pid); a stale one's job goes back
    to the queue once, counting the attempt."""
    import os

    from jobs import recovery

    monkeypatch.setenv("STUDIO_WORKER_HOST", "there")
    reset_settings()
    worker = f"there:{os.getpid()}:cpu"
    recovery.register_worker(worker, "cpu", os.getpid(), {})  # a worker of machine "there"
    monkeypatch.setenv("STUDIO_WORKER_HOST", "here")
    reset_settings()
    assert store.get_job(queue.submit("system.sleep", {})["id"])["status"] == "queued"
    job = queue.submit("system.sleep", {"seconds": 1})
    store.claim_job(job["id"], worker, "there")
    assert store.get_job(job["id"])["host"] == "there"

    assert recovery.requeue_orphans("here:1:cpu") == []  # its lease is fresh: alive
    stale = time.time() - recovery.stale_after_s() - 1
    from jobs.records import execute, sql
    from jobs.records.tables import workers

    execute(sql.update(workers).where(workers.c.id == worker).values(heartbeat_at=stale))
    assert recovery.requeue_orphans("here:1:cpu") == [job["id"]]
    assert recovery.requeue_orphans("here:2:gpu") == []  # a second live lane finds nothing
    job = store.get_job(job["id"])
    assert (job["status"], job["attempts"], job["worker"], job["host"]) == ("queued", 1, None, None)
    assert job["id"] in queue.pending_ids("cpu")
    assert f"the worker {worker} stopped during attempt 1 of 3" in store.read_log(job["id"])


def test_health_and_the_jobs_tab_list_the_workers_per_machine(studio_home, monkeypatch):
    """Each machine with its lanes (GPU, load, last beat); each job with the machine
    (and GPUs) it ran on, in its JSON and in the Jobs tab's list."""
    import json
    import os

    from jobs import recovery
    from jobs.records import execute, sql
    from jobs.records.tables import workers
    from studio import health
    from studio.tabs import jobs as jobs_tab

    pid = os.getpid()
    for host, lane, gpu in (("m1", "gpu", "0"), ("m1", "gpu", "1"), ("m2", "cpu", None)):
        monkeypatch.setenv("STUDIO_WORKER_HOST", host)
        reset_settings()
        worker = f"{host}:{pid}{gpu or ''}:{lane}"
        recovery.register_worker(worker, lane, pid, {}, gpu=gpu)
        load = {"cpu_percent": 12.0, "gpu_util": 80.0 if gpu else None, "jobs": 1}
        execute(sql.update(workers).where(workers.c.id == worker).values(load=json.dumps(load)))
    info = health.health()
    assert [m["host"] for m in info["machines"]] == ["m1", "m2"]
    m1, m2 = info["machines"]
    assert m1["gpus"] == ["0", "1"] and m1["alive"]
    assert [(lane["lane"], lane["gpu"]) for lane in m1["lanes"]] == [("gpu", "0"), ("gpu", "1")]
    assert m1["lanes"][0]["load"]["gpu_util"] == 80.0
    assert m1["lanes"][0]["heartbeat_age_s"] < 5
    assert [(lane["lane"], lane["gpu"]) for lane in m2["lanes"]] == [("cpu", None)]
    assert info["worker"]["lanes"] == {"gpu": True, "cpu": True}  # alive somewhere
    text = jobs_tab.worker_view()[0]
    assert "**Machine m1**: gpu 0 CPU 12% GPU 80% 1 running" in text
    assert "**Machine m2**: cpu CPU 12% 1 running" in text

    job = queue.submit("system.diagnostics", {})
    store.claim_job(job["id"], f"m1:{pid}1:gpu", "m1", gpus="1")
    table, _ = jobs_tab.list_jobs("", "", "", 1, None)
    row = table[table["id"] == job["id"]].iloc[0]
    assert row["machine"] == "m1 · GPU 1"


def test_each_cpu_lane_process_has_its_own_line_and_chart_series(studio_home, monkeypatch):
    """A machine runs STUDIO_CPU_WORKERS CPU lane processes: its line in the Jobs tab
    names each by its pid, and the worker charts draw one series per process (two
    processes' samples on one line would zig-zag between them)."""
    import json
    import time as clock

    from jobs import recovery
    from jobs.records import execute, sql
    from jobs.records.tables import worker_samples, workers
    from studio import health
    from studio.tabs import jobs as jobs_tab

    monkeypatch.setenv("STUDIO_WORKER_HOST", "m1")
    reset_settings()
    now = clock.time()
    for pid, cpu in ((101, 90.0), (102, 5.0)):
        worker = f"m1:{pid}:cpu"
        recovery.register_worker(worker, "cpu", os.getpid(), {})
        execute(
            sql.update(workers)
            .where(workers.c.id == worker)
            .values(pid=pid, load=json.dumps({"cpu_percent": cpu, "jobs": 1}))
        )
        for k in range(3):
            execute(
                sql.insert(worker_samples).values(
                    worker_id=worker, lane="cpu", t=now - 3 + k, cpu_percent=cpu, rss_mb=100.0
                )
            )
    recovery.register_worker("m1:103:gpu", "gpu", os.getpid(), {})
    execute(sql.insert(worker_samples).values(worker_id="m1:103:gpu", lane="gpu", t=now))

    text = jobs_tab.worker_view()[0]
    assert "cpu (pid 101) CPU 90% 1 running" in text
    assert "cpu (pid 102) CPU 5% 1 running" in text
    series = {}
    for sample in health.worker_samples(60):
        series.setdefault(sample["lane"], []).append(sample["cpu_percent"])
    assert series == {"cpu (pid 101)": [90.0] * 3, "cpu (pid 102)": [5.0] * 3, "gpu": [None]}


def test_the_job_json_says_where_it_ran(studio_home):
    from fastapi.testclient import TestClient

    from studio.server import create_app

    job = queue.submit("system.diagnostics", {})
    store.claim_job(job["id"], "m1:7:gpu", "m1", gpus="0,1")
    with TestClient(create_app()) as client:
        got = client.get(f"/api/v1/jobs/{job['id']}").json()
    assert (got["host"], got["gpus"], got["worker"]) == ("m1", "0,1", "m1:7:gpu")


def test_gpu_leases_of_one_machine(studio_home, monkeypatch):
    """The lease rule (jobs.lanes): a lane leases its own device; a 2-GPU job needs
    its lane and an idle sibling of the same machine; a lane lent to a sibling's
    job gets none; a lane that lost a claim frees only what it holds."""
    import os

    from jobs import lanes, recovery

    monkeypatch.setenv("STUDIO_WORKER_HOST", "m1")
    reset_settings()
    pid = os.getpid()
    a, b = f"m1:{pid}0:gpu", f"m1:{pid}1:gpu"
    recovery.register_worker(a, "gpu", pid, {}, gpu="0")
    recovery.register_worker(b, "gpu", pid, {}, gpu="1")
    assert lanes.largest_machine() == 2

    # One job queued twice, taken by both lanes: the loser's release keeps the winner's.
    won, lost = lanes.lease("x", a, "m1", 1), lanes.lease("x", b, "m1", 1)
    assert won is not None and lost is not None and won.gpus == "0" and lost.gpus == "1"
    lanes.release(lost)
    assert not lanes.is_free(a) and lanes.is_free(b)
    assert lanes.lease("wide", b, "m1", 2) is None  # lane a is busy
    lanes.release(won)

    wide = lanes.lease("wide", b, "m1", 2)
    assert wide is not None and wide.devices == ("1", "0")  # its own device first
    assert lanes.lease("single", a, "m1", 1) is None  # lent to the wide job
    assert lanes.lease("other", a, "m2", 2) is None  # no lanes on m2
    lanes.release(wide)
    assert lanes.is_free(a) and lanes.is_free(b)


def test_a_jobs_child_runs_on_the_leased_gpus_and_dance_leases_what_its_config_names(
    studio_home,
):
    """A child process sees the job's leased devices, even when the job's own
    config names others (a dance generation's cuda_visible_devices: it leases as
    many GPUs as that names, and gets the leased ones)."""

    from jobs.kinds import JobContext, get_kind
    from jobs.reporter import Reporter

    generate = get_kind("dance.generate")
    assert generate.gpus_for({"config": {"cuda_visible_devices": "0,1"}}) == 2
    assert generate.gpus_for({"config": {}}) == 1

    job = queue.submit("system.diagnostics", {})
    reporter = Reporter(job["id"])
    ctx = JobContext(job=job, progress=reporter, gpus=["3", "2"])
    printing = "import os; print(os.environ['CUDA_VISIBLE_DEVICES'])"
    assert ctx.run_child([sys.executable, "-c", printing], env={"CUDA_VISIBLE_DEVICES": "0"}) == 0
    reporter.close()
    assert (ctx.dir / "child.stdout.txt").read_text().strip() == "3,2"


def _setting_names() -> set[str]:
    """Every environment variable jobs.settings reads."""
    from pydantic import AliasChoices

    from jobs.settings import Settings

    names = set()
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice) for choice in alias.choices}
        else:
            names.add(str(alias) if alias else f"STUDIO_{field.upper()}")
    return names


def test_compose_has_the_databases_the_app_and_a_gpu_worker():
    """compose.yaml (not run here: no Docker) parses, names only settings that
    exist, and gives the worker a GPU and the shared STUDIO_HOME."""
    from pathlib import Path

    import yaml

    compose = yaml.safe_load((Path(__file__).parents[1] / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "app", "worker"}
    assert all("healthcheck" in service for service in services.values())
    known = _setting_names()
    for name in ("app", "worker"):
        env = services[name]["environment"]
        studio_names = {key for key in env if key.startswith(("STUDIO_", "GRADIO_"))}
        assert studio_names <= known, f"{name}: not settings: {studio_names - known}"
        assert env["STUDIO_DATABASE_URL"].startswith("postgresql://")
        assert env["STUDIO_QUEUE_URL"] == "redis://redis:6379/0"
        assert "studio-home:/data" in services[name]["volumes"] and env["STUDIO_HOME"] == "/data"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["app"]["environment"]["STUDIO_WORKER"] == "external"
    assert services["worker"]["command"] == ["python3", "-m", "jobs.worker"]
    assert services["worker"]["environment"]["STUDIO_GPU_LANES"] == "auto"
    devices = services["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    assert "ports" not in services["worker"]  # a worker serves nothing


def _start_machine(host: str, home: Path, log: Path, **settings: str) -> Process:
    """``python -m jobs.worker`` as a worker of machine ``host`` (its own
    STUDIO_WORKER_HOST) on the shared STUDIO_HOME, with the two URLs."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_SETTINGS}
    env.update(STUDIO_HOME=str(home), STUDIO_WORKER_HOST=host, STUDIO_HEARTBEAT_S="0.5", **settings)
    return Process([sys.executable, "-m", "jobs.worker"], env, log)


def _until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"{what} not within {timeout} s")


def test_a_dead_machines_jobs_run_again_on_the_other_each_exactly_once(
    tmp_path, redis_url, postgres_url
):
    """The app and two worker machines sharing STUDIO_HOME, the queue on Redis:
    jobs submitted through REST, one machine's worker SIGKILLed (its whole
    process group) mid-job. Every job succeeds exactly once, on the live machine
    when it was the dead one's; none is lost, none runs twice to success. The records
    are in PostgreSQL (SQLite refuses workers of another host)."""
    urls = {"STUDIO_QUEUE_URL": redis_url, "STUDIO_DATABASE_URL": postgres_url}
    with run_studio(tmp_path, worker=False, STUDIO_WORKER="external", **urls) as (base, home, _):
        machines = {
            host: _start_machine(host, home, tmp_path / f"{host}.log", **urls)
            for host in ("m1", "m2")
        }
        try:

            def live_machines() -> set[str]:
                info = httpx.get(f"{base}/api/v1/health", timeout=5).json()
                return {m["host"] for m in info["machines"] if m["alive"]}

            _until(lambda: live_machines() == {"m1", "m2"}, 90, "both machines beating")
            ids = [
                httpx.post(
                    f"{base}/api/v1/jobs",
                    json={"kind": "system.sleep", "params": {"seconds": 3, "steps": 30}},
                    timeout=10,
                ).json()["id"]
                for _ in range(10)
            ]

            def running_on(host: str) -> list[dict]:
                page = httpx.get(f"{base}/api/v1/jobs?status=running&limit=100", timeout=5)
                return [j for j in page.json()["jobs"] if j["host"] == host]

            _until(lambda: running_on("m1"), 60, "a job running on m1")
            time.sleep(0.5)
            machines["m1"].kill(signal.SIGKILL)  # the supervisor and its lanes, no cleanup
            doomed = running_on("m1")  # left running by the dead machine (its lease runs out)
            assert doomed

            def all_ended() -> list[dict]:
                jobs = [httpx.get(f"{base}/api/v1/jobs/{i}", timeout=5).json() for i in ids]
                return jobs if all(j["status"] in store.FINAL for j in jobs) else []

            jobs = _until(all_ended, 180, "every job ended")
            assert [j["status"] for j in jobs] == ["succeeded"] * len(ids)
            for job in jobs:  # each ran to success once: one end in its log
                log = httpx.get(f"{base}/api/v1/jobs/{job['id']}/log", timeout=5).text
                assert log.count("] succeeded") == 1, log
            by_id = {j["id"]: j for j in jobs}
            for job in doomed:  # m1's jobs were re-queued and ran on m2
                again = by_id[job["id"]]
                assert (again["host"], again["attempts"]) == ("m2", 2), again
                assert (
                    "stopped during attempt 1 of 3; re-queued"
                    in httpx.get(f"{base}/api/v1/jobs/{job['id']}/log", timeout=5).text
                )
            assert {j["host"] for j in jobs} <= {"m1", "m2"}
            assert live_machines() == {"m2"}
            assert not (home / "studio.db").exists()  # the records are in PostgreSQL:
            engine = sqlalchemy.create_engine(
                postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
            )
            try:
                with engine.connect() as conn:
                    rows = conn.execute(
                        sqlalchemy.select(jobs_table.c.id, jobs_table.c.status).where(
                            jobs_table.c.id.in_(ids)
                        )
                    ).all()
            finally:
                engine.dispose()
            assert sorted(rows) == sorted((i, "succeeded") for i in ids)
        finally:
            for proc in machines.values():
                proc.kill(signal.SIGKILL)


def test_a_model_in_a_pinned_lanes_process_is_on_cuda_0(studio_home):
    """Inside a pinned lane the process sees only its own GPU, as cuda:0, whatever its
    id: Wan-Animate in-process (a dance generation whose config names GPU 1, leased from
    lane 1) must load there, not on cuda:1. An unpinned lane sees every GPU: the id
    named is the device."""
    from jobs.kinds import JobContext
    from jobs.reporter import Reporter

    job = queue.submit("system.diagnostics", {})
    reporter = Reporter(job["id"])
    try:
        pinned = JobContext(job=job, progress=reporter, gpus=["1"])
        assert pinned.cuda_device("1") == pinned.cuda_device("1,0") == "cuda:0"
        assert JobContext(job=job, progress=reporter, gpus=["1", "0"]).cuda_device("0,1") == (
            "cuda:0"
        )
        unpinned = JobContext(job=job, progress=reporter, gpus=[None])
        assert unpinned.cuda_device("1,0") == "cuda:1"
        assert unpinned.cuda_device(None) == "cuda:0"
        assert unpinned.devices == [] and pinned.devices == ["1"]
    finally:
        reporter.close()
