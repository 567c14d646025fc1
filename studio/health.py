"""What the studio and its workers are doing right now (read-only): the lanes'
heartbeats per machine (each lane's GPU, load and last beat), the app's worker
supervisor, the queues."""

from __future__ import annotations

import json
import time
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from jobs import records, store, supervisor
from jobs.kinds import LANES
from jobs.machines import sqlite_shared_refusal
from jobs.records.sql import select
from jobs.records.tables import worker_samples as samples_table
from jobs.records.tables import workers as workers_table
from jobs.recovery import heartbeat_stale


def workers() -> list[dict[str, Any]]:
    now = time.time()
    rows = records.rows(select(workers_table).order_by(workers_table.c.heartbeat_at.desc()))
    result = []
    for row in rows:
        age = now - row["heartbeat_at"]
        if age > 3600:
            continue
        result.append(
            {
                "id": row["id"],
                "lane": row["lane"],
                "host": row["host"],
                "pid": row["pid"],
                "gpu": row["gpu"],  # the device a GPU lane is pinned to (None: unpinned)
                "job": row["held_by"],  # the job using its GPU (its own or a sibling's)
                "alive": not heartbeat_stale(row["heartbeat_at"], now),
                "heartbeat_at": row["heartbeat_at"],
                "heartbeat_age_s": round(age, 2),
                "load": json.loads(row["load"] or "{}"),
                "info": json.loads(row["info"] or "{}"),
            }
        )
    return result


def machines(lanes: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The workers grouped by machine (``STUDIO_WORKER_HOST`` or host name), live
    machines first: each with its lanes (lane, GPU, load, last beat)."""
    by_host: dict[str, list[dict[str, Any]]] = {}
    for lane in workers() if lanes is None else lanes:
        by_host.setdefault(lane["host"], []).append(lane)
    result = [
        {
            "host": host,
            "alive": any(lane["alive"] for lane in host_lanes),
            "gpus": sorted({lane["gpu"] for lane in host_lanes if lane["alive"] and lane["gpu"]}),
            "heartbeat_age_s": min(lane["heartbeat_age_s"] for lane in host_lanes),
            "lanes": sorted(host_lanes, key=lambda w: (not w["alive"], w["lane"], w["gpu"] or "")),
        }
        for host, host_lanes in by_host.items()
    ]
    return sorted(result, key=lambda m: (not m["alive"], m["host"]))


def supervisor_view() -> dict[str, Any] | None:
    """The app's worker supervisor (None when the worker runs on its own,
    STUDIO_WORKER=external): state, restarts, last exit."""
    state = supervisor.worker_child_state()
    if state is None:
        return None
    keep = (
        "state",
        "pid",
        "restarts",
        "crashes_at_start",
        "last_exit_code",
        "last_exit_at",
        "message",
    )
    return {key: state[key] for key in keep}


@lru_cache(maxsize=1)
def version() -> str:
    """The studio's version (pyproject.toml), for GET /api/v1/ and /api/v1/health."""
    try:
        return str(
            tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())[
                "project"
            ]["version"]
        )
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def health() -> dict[str, Any]:
    """Seed 001's ``{"status": "healthy", "version": ...}`` ("degraded" once the app's worker
    supervisor gave up, or while its SQLite records are written from another machine:
    ``records.refused`` says why and what to set), with the workers' liveness
    (``worker``: every lane alive somewhere; ``machines``: per machine, its lanes), and
    the queues."""
    lanes_now = workers()
    live = [w for w in lanes_now if w["alive"]]
    lanes = {lane: any(w["lane"] == lane for w in live) for lane in LANES}
    ages = [w["heartbeat_age_s"] for w in live]
    queued = store.count_by_lane("queued")
    running = store.count_by_lane("running")
    keeper = supervisor_view()
    gave_up = keeper is not None and keeper["state"] == "gave_up"
    refusal = sqlite_shared_refusal()  # records in SQLite, written from another machine
    return {
        "status": "degraded" if gave_up or refusal else "healthy",
        "version": version(),
        "records": {"database": records.engine().dialect.name, "refused": refusal},
        "worker": {
            "alive": all(lanes.values()),
            "lanes": lanes,
            "heartbeat_age_s": min(ages) if ages else None,
            "supervisor": keeper,
        },
        "machines": machines(lanes_now),
        "queues": {lane: queued.get(lane, 0) for lane in LANES},
        "running": {lane: running.get(lane, 0) for lane in LANES},
    }


def worker_samples(seconds: float = 300) -> list[dict[str, Any]]:
    """The lane processes' samples of the last ``seconds``; ``lane`` names the process
    (:func:`process_labels`), so that a chart draws one line per process."""
    c = samples_table.c
    statement = (
        select(c.worker_id, c.lane, c.t, c.cpu_percent, c.rss_mb, c.gpu_mem_mb, c.gpu_util)
        .where(c.t >= time.time() - seconds)
        .order_by(c.t)
    )
    rows = [dict(r) for r in records.rows(statement)]
    labels = process_labels({(row["worker_id"], row["lane"]) for row in rows})
    for row in rows:
        row["lane"] = labels[row.pop("worker_id")]
    return rows


def process_labels(processes: set[tuple[str, str]]) -> dict[str, str]:
    """A name for each lane process (``(worker id, lane)``; an id is ``host:pid:lane``):
    its lane when it is that lane's only process, else the lane and its pid (and its
    machine when several machines are named), e.g. ``cpu (pid 812)``: a machine runs
    STUDIO_CPU_WORKERS CPU lane processes, one GPU lane per GPU, and a restarted lane is
    a new process."""
    by_lane: dict[str, list[str]] = {}
    for worker_id, lane in processes:
        by_lane.setdefault(lane, []).append(worker_id)
    hosts = {worker_id.rsplit(":", 2)[0] for worker_id, _ in processes}
    labels = {}
    for lane, ids in by_lane.items():
        for worker_id in ids:
            host, pid, _ = worker_id.rsplit(":", 2)
            where = f"{host} pid {pid}" if len(hosts) > 1 else f"pid {pid}"
            labels[worker_id] = lane if len(ids) == 1 else f"{lane} ({where})"
    return labels
