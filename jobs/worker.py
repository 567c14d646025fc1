"""The worker: ``python -m jobs.worker``.

It starts the lanes' consumer processes, each running one job at a time: one GPU
lane per GPU (``--lane gpu``, models stay loaded, each pinned to its device:
``STUDIO_GPU_LANES``, ``jobs.lanes``) and STUDIO_CPU_WORKERS CPU lanes (``--lane
cpu``; processes, not threads of one process: CPU jobs run side by side on the
cores, not in turns on one interpreter lock) and restarts a lane that dies
(``jobs.supervisor``; a lane dies with its supervisor). The supervisor imports
what a lane runs once (the queue, huey, the records, every tool's kinds; never
torch: a job kind imports its pipeline when a job of it first runs) and forks
each lane from that, before any thread starts in it; a lane opens its own
database connections and queue after the fork. ``python -m jobs.worker --lane X``
runs one lane alone. A worker on another
machine needs only the records (``STUDIO_DATABASE_URL``), the queue
(``STUDIO_QUEUE_URL``) and the shared ``STUDIO_HOME``; its scratch files go to
local disk (``TMPDIR``). Each lane
process, before consuming, re-queues what a dead worker left behind, then
beats a heartbeat every STUDIO_HEARTBEAT_S seconds (its lease: a worker whose
beat is older than ``jobs.recovery.stale_after_s`` is dead, and any live lane
re-queues its jobs): it samples its process tree (CPU, memory, GPU) into the
workers' and the running jobs' timelines, and kills the child processes of
cancelled jobs.
In a public demo (STUDIO_DEMO) the CPU lane also deletes visitors' work older
than STUDIO_DEMO_RETENTION_H (``jobs.retention``), and no lane downloads models.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import logging
import os
import platform
import signal
import sys
import threading
import time

from jobs import records
from jobs.kinds import LANES
from jobs.settings import get_settings
from jobs.supervisor import Supervisor, fork_child, keep_alive

# What only a lane runs (the queue, huey with its redis and psycopg imports, the
# tools) is imported in the lane's functions and, once for all lanes, by
# preload() in the supervisor that forks them.

log = logging.getLogger("studio.worker")
SAMPLE_KEEP_S = 15 * 60
# An idle lane polls its queue after 5 ms, then ×1.5 up to every 20 ms: a job
# submitted to an idle worker waits at most that long for its claim (p95
# submit→start < 20 ms, benchmarks/jobs.py); idle polling costs ~1 % of a core.
POLL_FIRST_S, POLL_BACKOFF, POLL_MAX_S = 0.005, 1.5, 0.02


def lane_main(lane: str, gpu: str | None = None, slot: int = 0) -> None:
    from jobs import recovery, runner
    from jobs.kinds import load_tools
    from jobs.queue import huey_for

    settings = get_settings()
    _offline_in_demo()
    load_tools()
    huey = huey_for(lane)
    pid = os.getpid()
    host = recovery.worker_host()
    worker_id = f"{host}:{pid}:{lane}"
    runner.WORKER_ID, runner.HOST, runner.GPU_LANE = worker_id, host, lane == "gpu"
    info: dict[str, object] = {"python": platform.python_version(), "lane": lane}
    recovery.register_worker(worker_id, lane, pid, info, gpu=gpu)
    moved = recovery.requeue_orphans(worker_id)
    lost = recovery.requeue_lost(lane)
    log.info(
        "lane %s up as %s; re-queued %d orphaned and %d lost jobs",
        lane,
        worker_id,
        len(moved),
        len(lost),
    )

    threading.Thread(
        target=_heartbeat,
        args=(lane, worker_id, settings.heartbeat_s),
        daemon=True,
        name="heartbeat",
    ).start()
    if lane == "cpu" and slot == 0 and settings.demo_mode:  # one sweeper per machine
        threading.Thread(target=_retention, daemon=True, name="retention").start()
    consumer = huey.create_consumer(
        workers=1,  # one job at a time per lane process (jobs.runner.RUNNING, the heartbeat)
        worker_type="thread",
        periodic=False,
        initial_delay=POLL_FIRST_S,
        backoff=POLL_BACKOFF,
        max_delay=POLL_MAX_S,
        check_worker_health=True,
    )
    consumer.run()


def _offline_in_demo() -> None:
    settings = get_settings()
    if settings.demo_mode and settings.fetch_models != "auto":
        # Public demo: models come from the local cache and the models folder only;
        # a visitor never makes the worker download one. With STUDIO_FETCH_MODELS=auto
        # the operator lets a job fetch a model a tool declares on its first use (a
        # Space starting empty); a visitor still cannot name one (jobs.models.model_ref).
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"


def preload() -> None:
    """Import what a lane runs, so that each lane forked from this process starts
    with it imported: the queue and huey's consumer, the records, recovery, the
    runner, the resource sampler and every tool's kinds (no pipeline: a kind
    imports its pipeline in its body, when a job of it first runs)."""
    import huey.consumer  # noqa: F401

    from jobs import queue, recovery, retention, runner, store  # noqa: F401
    from jobs.kinds import load_tools
    from pipelines.monitor.resources import ResourceSampler  # noqa: F401

    load_tools()


def _heartbeat(lane: str, worker_id: str, interval: float) -> None:
    from jobs import recovery
    from pipelines.monitor.resources import ResourceSampler

    sampler = ResourceSampler()
    parent = os.getppid()
    last_sweep = time.monotonic()
    while True:
        time.sleep(interval)
        if os.getppid() != parent:  # the supervisor died: don't linger as an orphan
            os.kill(os.getpid(), signal.SIGKILL)
        try:
            _beat(lane, worker_id, sampler)
            if time.monotonic() - last_sweep > 5:
                last_sweep = time.monotonic()
                recovery.requeue_orphans(worker_id)  # any machine's, any lane's
        except Exception:  # a busy database must not stop the heartbeat
            log.exception("heartbeat failed")


def _retention() -> None:
    """Public demo: delete visitors' work older than STUDIO_DEMO_RETENTION_H, at
    start and every few minutes (``jobs.retention``)."""
    from jobs import retention

    while True:
        try:
            deleted = retention.sweep()
            if any(deleted.values()):
                log.info("retention: deleted %s", deleted)
        except Exception:  # a busy database must not stop the sweeps
            log.exception("retention sweep failed")
        time.sleep(retention.SWEEP_EVERY_S)


def _beat(lane: str, worker_id: str, sampler) -> None:
    from jobs import runner, store
    from jobs.kinds import kill_tree
    from jobs.records.sql import delete, insert, update
    from jobs.records.tables import jobs as jobs_table
    from jobs.records.tables import worker_samples, workers

    contexts = runner.running_contexts()
    # A lane starts processes only for its jobs (ctx.children): an idle lane is alone.
    sample = sampler.sample(children=bool(contexts))
    now = sample["t"]
    ids = [ctx.id for ctx in contexts]
    sampled = [ctx.id for ctx in contexts if not ctx.samples_itself]
    load = {key: sample.get(key) for key in ("cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util")}
    load["jobs"] = len(ids)
    # A beat lost in a crash of the database server only looks one beat older
    # (durable=False: PostgreSQL commits it without waiting for the disk).
    with records.transaction(durable=False) as conn:
        conn.execute(
            update(workers)
            .where(workers.c.id == worker_id)
            .values(heartbeat_at=now, load=json.dumps(load))
        )
        conn.execute(insert(worker_samples).values(worker_id=worker_id, lane=lane, **sample))
        conn.execute(delete(worker_samples).where(worker_samples.c.t < now - SAMPLE_KEEP_S))
        if ids:
            conn.execute(
                update(jobs_table).where(jobs_table.c.id.in_(ids)).values(heartbeat_at=now)
            )
    store.add_samples(sampled, sample)
    for ctx in contexts:
        if ctx.children and store.cancel_requested(ctx.id):
            for child in list(ctx.children):
                kill_tree(child)


# -- the supervisor --------------------------------------------------------


def lane_processes(lanes: list[str]) -> list[tuple[str, list[str], dict[str, str]]]:
    """(name, argv, environment) of each lane process: one per GPU for the GPU
    lane (``STUDIO_GPU_LANES``), each with ``CUDA_VISIBLE_DEVICES`` = its device;
    STUDIO_CPU_WORKERS for the CPU lane (``lane cpu``, ``lane cpu2`` …, ``--slot`` 0, 1 …).
    ``argv`` runs the lane alone; :func:`supervise` forks it and runs its
    arguments (``--lane gpu --gpu 0``) in the fork."""
    from jobs.lanes import gpu_devices

    result = []
    base = [sys.executable, "-m", "jobs.worker", "--lane"]
    for lane in lanes:
        if lane == "cpu":
            for slot in range(get_settings().cpu_workers):
                name = "lane cpu" + (f"{slot + 1}" if slot else "")
                result.append((name, [*base, "cpu", "--slot", str(slot)], dict(os.environ)))
            continue
        for device in gpu_devices(get_settings().gpu_lanes):
            if device is None:  # no GPU: one unpinned lane, as on a single machine
                result.append(("lane gpu", [*base, "gpu"], dict(os.environ)))
                continue
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": device}
            result.append((f"lane gpu{device}", [*base, "gpu", "--gpu", device], env))
    return result


def supervise(lanes: list[str]) -> int:
    """Keep one process per lane (per GPU for the GPU lane) alive
    (``jobs.supervisor``: restart with backoff, never give up: a lane that
    keeps crashing is logged on every restart). Each lane is forked from this
    process after :func:`preload`, from this thread (no thread ever runs here)."""
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _offline_in_demo()  # in the lanes' environment before anything imports huggingface_hub
    preload()
    records.dispose()  # no database connection crosses a fork: each lane opens its own
    gc.freeze()  # the imported modules' objects stay shared with the lanes (no copy on write)
    keepers = [
        Supervisor(
            name,
            argv,
            env=env,
            backoff_s=0.5,
            max_backoff_s=30.0,
            start_window_s=10.0,
            give_up_after=None,
            stop_signal=signal.SIGINT,  # huey: finish the running task's step, then stop
            stop_timeout_s=10.0,
            capture_output=False,
            spawn=functools.partial(fork_child, functools.partial(main, argv[3:]), env, name),
        )
        for name, argv, env in lane_processes(lanes)
    ]
    keep_alive(keepers, stopping)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jobs.worker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--lane", choices=LANES, help="run one lane consumer in this process")
    parser.add_argument("--lanes", default=",".join(LANES), help="lanes the supervisor starts")
    parser.add_argument("--gpu", help="the GPU device this GPU lane is pinned to")
    parser.add_argument(
        "--slot", type=int, default=0, help="which of the CPU lanes (0 sweeps a demo's old work)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s worker[{args.lane or 'main'}] %(message)s",
        force=True,  # a lane forked from the supervisor names itself
    )
    logging.getLogger("huey").setLevel(logging.WARNING)
    if args.lane:
        lane_main(args.lane, args.gpu, args.slot)
        return 0
    records.upgrade()  # once, before the lanes start (a no-op when app.py did it already)
    lanes = [lane for lane in args.lanes.split(",") if lane]
    if unknown := sorted(set(lanes) - set(LANES)):
        parser.error(f"unknown lanes {unknown}; the lanes are {', '.join(LANES)}")
    return supervise(lanes)


if __name__ == "__main__":
    sys.exit(main())
