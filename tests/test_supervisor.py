"""The app keeps its worker alive (jobs.supervisor): a killed worker is
restarted and runs the next job; a worker that cannot start is given up on
loudly, with backoff between the tries."""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from jobs.supervisor import Supervisor


def wait_for(predicate, timeout: float = 20, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def test_a_child_that_crashes_at_start_is_given_up_loudly_after_backoff(caplog):
    caplog.set_level(logging.WARNING, "studio.supervisor")
    echo = io.StringIO()
    keeper = Supervisor(
        "worker",
        [sys.executable, "-c", "import sys; print('no module named torch'); sys.exit(3)"],
        backoff_s=0.1,
        max_backoff_s=0.3,
        start_window_s=5,
        give_up_after=4,
        echo=echo,
    ).start()
    try:
        state = wait_for(lambda: (s := keeper.state())["state"] == "gave_up" and s)
    finally:
        keeper.stop()
    assert (
        state["restarts"] == 3 and state["crashes_at_start"] == 4 and state["last_exit_code"] == 3
    )
    assert "4 times in a row" in state["message"] and "restart the studio" in state["message"]
    assert (
        "no module named torch" in echo.getvalue()
    )  # the child's output still reaches the terminal
    assert "no module named torch" in state["output_tail"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert (
        errors and "no module named torch" in errors[0].getMessage()
    )  # the last output, in the loud message
    pauses = [r.getMessage() for r in caplog.records if "restarting in" in r.getMessage()]
    assert [p.split("restarting in ")[1][:3] for p in pauses] == [
        "0.1",
        "0.2",
        "0.3",
    ]  # doubling, capped


def test_a_child_killed_after_running_fine_is_restarted_at_once():
    keeper = Supervisor(
        "worker",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        backoff_s=5,
        start_window_s=0.5,
        give_up_after=2,
        echo=io.StringIO(),
    ).start()
    try:
        first = wait_for(lambda: keeper.pid)
        time.sleep(0.8)  # past the start window: it counts as healthy
        killed_at = time.monotonic()
        os.kill(first, signal.SIGKILL)
        second = wait_for(lambda: keeper.pid if keeper.pid not in (None, first) else None)
        assert time.monotonic() - killed_at < 2  # no backoff for a crash after a good run
        state = keeper.state()
        assert (
            state["state"] == "running" and state["restarts"] == 1 and state["last_exit_code"] == -9
        )
        assert state["crashes_at_start"] == 0
    finally:
        keeper.stop()
    assert keeper.state()["state"] == "stopped" and keeper.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(second, 0)


def test_a_child_that_said_it_is_ready_is_past_its_start():
    """A worker killed soon after its lanes came up is not a broken install: no backoff, no giving up."""
    keeper = Supervisor(
        "worker",
        [
            sys.executable,
            "-c",
            "import time; print('lane cpu up as x', flush=True); time.sleep(0.3)",
        ],
        backoff_s=5,
        start_window_s=30,
        give_up_after=2,
        ready_marker=" up as ",
        echo=io.StringIO(),
    ).start()
    try:
        wait_for(lambda: keeper.state()["restarts"] >= 3, timeout=20)
        assert keeper.state()["crashes_at_start"] == 0 and keeper.state()["state"] != "gave_up"
    finally:
        keeper.stop()


def test_stop_ends_the_child_and_no_restart_follows():
    keeper = Supervisor(
        "worker", [sys.executable, "-c", "import time; time.sleep(60)"], echo=io.StringIO()
    ).start()
    pid = wait_for(lambda: keeper.pid)
    keeper.stop()
    time.sleep(0.5)
    assert keeper.pid is None and keeper.state()["restarts"] == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_state_answers_while_a_child_starts_and_a_stop_meanwhile_ends_it():
    """The health endpoint and the Jobs tab read the supervisor's state while its
    child is being started (a start never holds the state's lock: a start that hangs
    must not freeze them, nor a stop); a stop asked during the start ends the child
    that came up late."""
    entered, release = threading.Event(), threading.Event()
    children: list[subprocess.Popen] = []

    def slow_start() -> subprocess.Popen:
        entered.set()
        release.wait(20)
        children.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        return children[-1]

    keeper = Supervisor("lane gpu", ["sleeper"], spawn=slow_start, echo=io.StringIO()).start()
    assert entered.wait(10)
    answers: list[dict] = []
    reader = threading.Thread(target=lambda: answers.append(keeper.state()), daemon=True)
    reader.start()
    reader.join(2)
    assert answers and answers[0]["state"] == "starting"  # answered during the start
    stopper = threading.Thread(target=keeper.stop, daemon=True)
    stopper.start()
    time.sleep(0.3)
    release.set()
    stopper.join(20)
    assert not stopper.is_alive() and keeper.state()["state"] == "stopped"
    assert children[0].wait(5) == -signal.SIGTERM  # the late child got the stop signal


def test_a_program_child_dies_with_its_supervisor(tmp_path):
    """A supervised program (the app's worker) gets SIGKILL when the process that
    supervises it is killed, though no Python code runs in it before it starts
    (``guarded_argv``): no orphan worker outlives a killed app."""
    pid_file = tmp_path / "child.pid"
    run = f"""
import io, sys, time
from jobs.supervisor import Supervisor
keeper = Supervisor("worker", [sys.executable, "-c",
    "import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"],
    echo=io.StringIO()).start()
time.sleep(60)
"""
    from tests.conftest import ROOT

    app = subprocess.Popen([sys.executable, "-c", run], cwd=ROOT)
    try:
        child = int(wait_for(lambda: pid_file.exists() and pid_file.read_text()))
        assert child != app.pid and _alive(child)
    finally:
        app.kill()
        app.wait(10)
    wait_for(lambda: not _alive(child), timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:  # a zombie (reaped by init soon) is dead
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:  # reaped meanwhile
        return False


def test_a_program_that_does_not_exist_could_not_be_started():
    keeper = Supervisor(
        "worker", ["no-such-program-here"], backoff_s=0.05, give_up_after=2, echo=io.StringIO()
    ).start()
    try:
        state = wait_for(lambda: (s := keeper.state())["state"] == "gave_up" and s)
    finally:
        keeper.stop()
    assert "could not be started 2 times" in state["message"], state
    assert any("no-such-program-here" in line for line in state["output_tail"]), state


def _health(base: str) -> dict:
    return httpx.get(f"{base}/api/v1/health", timeout=5).json()


@pytest.mark.slow
def test_sigkill_of_the_worker_under_app_py_restarts_it_and_the_next_job_runs(tmp_path):
    """Issue 9.1: kill ``python -m jobs.worker`` under ``python app.py``; a new
    worker finishes the job that was running and runs the next one."""
    from tests.conftest import run_studio

    with run_studio(tmp_path) as (base, _, app):
        worker_pid = _health(base)["worker"]["supervisor"]["pid"]
        job = httpx.post(
            f"{base}/api/v1/jobs",
            json={"kind": "system.sleep", "params": {"seconds": 3, "steps": 30}},
        ).json()
        wait_for(
            lambda: httpx.get(f"{base}/api/v1/jobs/{job['id']}").json()["status"] == "running",
            timeout=30,
        )

        os.kill(worker_pid, signal.SIGKILL)
        keeper = wait_for(
            lambda: (s := _health(base)["worker"]["supervisor"])["restarts"] == 1 and s, timeout=30
        )
        assert keeper["last_exit_code"] == -9 and keeper["pid"] != worker_pid

        nxt = httpx.post(
            f"{base}/api/v1/jobs", json={"kind": "system.sleep", "params": {"seconds": 0.2}}
        ).json()
        for job_id in (job["id"], nxt["id"]):
            done = wait_for(
                lambda job_id=job_id: (
                    (j := httpx.get(f"{base}/api/v1/jobs/{job_id}").json())["status"]
                    in ("succeeded", "failed", "cancelled")
                    and j
                ),
                timeout=60,
            )
            assert done["status"] == "succeeded", done
        assert (
            httpx.get(f"{base}/api/v1/jobs/{job['id']}").json()["attempts"] == 2
        )  # re-run by the new worker
        assert "was killed by SIGKILL" in app.output()  # logged


def test_health_and_the_jobs_tab_say_when_the_worker_was_given_up(studio_home, monkeypatch):
    from jobs import supervisor
    from studio import health
    from studio.tabs import jobs as jobs_tab

    keeper = Supervisor(
        "worker",
        [sys.executable, "-c", "import sys; sys.exit(2)"],
        backoff_s=0.05,
        give_up_after=2,
        echo=io.StringIO(),
    ).start()
    monkeypatch.setattr(supervisor, "_worker", keeper)
    wait_for(lambda: keeper.state()["state"] == "gave_up")
    info = health.health()
    assert info["status"] == "degraded" and info["worker"]["supervisor"]["state"] == "gave_up"
    assert info["worker"]["supervisor"]["last_exit_code"] == 2
    text = jobs_tab.worker_view()[0]
    assert "Worker stopped" in text and "2 times in a row" in text
    monkeypatch.setattr(supervisor, "_worker", None)
    assert (
        health.health()["worker"]["supervisor"] is None
    )  # STUDIO_WORKER=external: no supervisor here


# -- the worker's lanes: forked from the supervisor, kept from its one thread ----


def _lanes_alive() -> dict[int, str]:
    """pid: lane of each live lane process the workers table knows."""
    from studio.health import workers

    return {lane["pid"]: lane["lane"] for lane in workers() if lane["alive"]}


def test_the_worker_forks_its_lanes_restarts_one_killed_and_they_die_with_it(start_worker):
    """``python -m jobs.worker`` forks each lane from its own process (the lane's
    parent; no new interpreter imports the tools again): the GPU lane and
    STUDIO_CPU_WORKERS (2) CPU lanes; it restarts a killed lane at once, and a lane
    does not outlive its supervisor: SIGKILL of the supervisor alone (not its
    process group) takes its lanes with it."""
    import psutil

    from jobs import queue
    from tests.conftest import wait_job

    worker = start_worker()
    lanes = wait_for(
        lambda: sorted((found := _lanes_alive()).values()) == ["cpu", "cpu", "gpu"] and found
    )
    for pid in lanes:
        lane = psutil.Process(pid)
        assert lane.ppid() == worker.pid  # a fork of the supervisor
        assert lane.cmdline() == psutil.Process(worker.pid).cmdline()  # not a new program

    killed = next(pid for pid, lane in lanes.items() if lane == "cpu")
    os.kill(killed, signal.SIGKILL)
    restarted = wait_for(
        lambda: [pid for pid, lane in _lanes_alive().items() if lane == "cpu" and pid not in lanes],
        timeout=30,
    )[0]
    assert psutil.Process(restarted).ppid() == worker.pid
    job = queue.submit("system.sleep", {"seconds": 0.1, "steps": 1})
    assert wait_job(job["id"])["status"] == "succeeded"
    assert re.search(r"lane cpu\d? was killed by SIGKILL", worker.output()), worker.output()

    os.kill(worker.pid, signal.SIGKILL)
    for pid in [restarted, *(pid for pid in lanes if pid != killed)]:
        wait_for(lambda pid=pid: not psutil.pid_exists(pid) or _zombie(pid), timeout=10)


def _zombie(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_lane_starts_without_torch_and_with_the_tools_imported(tmp_path):
    """What the supervisor imports for its lanes (``jobs.worker.preload``): every
    tool's job kinds, and no model library (a kind imports its pipeline when a job
    of it first runs)."""
    check = (
        "import sys; from jobs.worker import preload; preload(); from jobs.kinds import KINDS; "
        "heavy = ('torch', 'transformers', 'diffusers', 'gradio', 'cv2'); "
        "print(sorted(m for m in heavy if m in sys.modules), 'system.sleep' in KINDS)"
    )
    from tests.conftest import ROOT

    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[] True", done.stderr


def test_a_forked_child_gets_its_environment_and_is_kept_alive_from_one_thread(tmp_path):
    """``fork_child`` + ``keep_alive`` (the worker's lanes): the child sees the
    environment it was given (a GPU lane's CUDA_VISIBLE_DEVICES), a crash at start
    backs off, and a stop ends the child with the stop signal."""
    script = tmp_path / "child.py"
    script.write_text(
        "import os, sys, time\n"
        "def crash():\n"
        "    print('pinned to', os.environ['CUDA_VISIBLE_DEVICES'], flush=True)\n"
        "    sys.exit(4)\n"
        "def sleep():\n"
        "    try:\n"
        "        time.sleep(60)\n"
        "    except KeyboardInterrupt:\n"
        "        print('stopped by SIGINT', flush=True)\n"
        "        return 0\n"
    )
    run = f"""
import io, os, signal, sys, threading, time
sys.path.insert(0, {str(tmp_path)!r})
import child
from jobs.supervisor import Supervisor, fork_child, keep_alive
env = {{**os.environ, "CUDA_VISIBLE_DEVICES": "1"}}
crashing = Supervisor("lane gpu1", [], backoff_s=0.1, max_backoff_s=0.2, give_up_after=3,
                      capture_output=False, echo=io.StringIO(),
                      spawn=lambda: fork_child(child.crash, env, "lane gpu1"))
sleeping = Supervisor("lane cpu", [], capture_output=False, stop_signal=signal.SIGINT,
                      echo=io.StringIO(), spawn=lambda: fork_child(child.sleep, os.environ))
stopping = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stopping.set())
keep_alive([crashing, sleeping], stopping)
print("states", crashing.state()["state"], crashing.state()["crashes_at_start"],
      crashing.state()["last_exit_code"], sleeping.state()["state"], flush=True)
"""
    from tests.conftest import ROOT

    proc = subprocess.Popen(
        [sys.executable, "-c", run], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT
    )
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=30)[0].decode()
    assert out.count("pinned to 1") == 3, out  # its environment; given up after 3 crashes
    assert "3 times in a row" in out and "no more restarts" in out, out
    assert "restarting in 0.1 s" in out and "restarting in 0.2 s" in out, out
    assert "stopped by SIGINT" in out, out
    assert "states stopped 3 4 stopped" in out, out
