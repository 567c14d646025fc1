"""GPU lanes: one per visible GPU, each pinned to its device, and the leases
that let a job use several of them.

A worker (``python -m jobs.worker``) runs one GPU lane per device
(``STUDIO_GPU_LANES=auto|N``; auto = torch's device count, and one unpinned
lane on a machine without a GPU). Each lane is its own process with
``CUDA_VISIBLE_DEVICES`` set to its device, so a job in it sees one GPU as
``cuda:0``. All GPU lanes of all machines take jobs from the one GPU queue.

The rule for a job that needs several GPUs (``@job_kind(..., gpus=N)``, or a
function of its params): it runs when that many GPU lanes *of one machine* are
idle at once. The lane that takes it from the queue leases its own device and
idle siblings' devices on its machine in one transaction (``workers.held_by``
= the job; an ``UPDATE … WHERE held_by IS NULL`` that must change exactly N
rows, so two lanes never lease the same device); the job gets the devices as
``ctx.gpus`` and passes them on to the child process that does the work
(``ctx.run_child`` sets ``CUDA_VISIBLE_DEVICES`` to all of them). A lane whose
device is leased to a sibling's job takes no job until it is free. When too
few lanes are idle, the job goes back to the end of the queue (no reservation:
single-GPU jobs keep running meanwhile); when no live machine has N GPU
lanes, it fails at once with a message saying so. A single-GPU job leases the
lane's own device the same way.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jobs import records
from jobs.records.sql import select, update
from jobs.records.tables import workers as workers_table
from jobs.recovery import heartbeat_stale

log = logging.getLogger("studio.lanes")


def cuda_device_count() -> int:
    """torch's CUDA device count, asked in a short child process (the worker's
    supervisor never imports torch); 0 when torch or the driver is missing (at
    once on a Linux machine without an NVIDIA device node)."""
    if sys.platform.startswith("linux") and not any(Path("/dev").glob("nvidia[0-9]*")):
        return 0
    try:
        done = subprocess.run(
            [sys.executable, "-c", "import torch; print(torch.cuda.device_count())"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        return int(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else 0
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return 0


def gpu_devices(setting: str, env: Mapping[str, str] | None = None) -> list[str | None]:
    """The device each GPU lane is pinned to, from ``STUDIO_GPU_LANES``: a list
    of device ids (within the machine's own ``CUDA_VISIBLE_DEVICES`` when it
    is set), or ``[None]``: one unpinned lane (auto on a machine without a GPU, and
    ``shared``: one lane that sees every GPU, so a model spread with
    ``device_map="balanced"`` uses them all, as seed 003's single worker does)."""
    env = os.environ if env is None else env
    if setting == "shared":
        return [None]
    count = cuda_device_count() if setting == "auto" else int(setting)
    if count < 1:
        return [None]
    visible = [d.strip() for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    if not visible:
        return [str(i) for i in range(count)]
    if count > len(visible):
        log.warning(
            "STUDIO_GPU_LANES=%s but CUDA_VISIBLE_DEVICES=%s: %d lanes",
            setting,
            ",".join(visible),
            len(visible),
        )
    return list(visible[:count])


_w = workers_table.c


@dataclass(frozen=True)
class Lease:
    """GPU devices leased to a job: the lanes (worker ids) whose devices it holds."""

    job_id: str
    workers: tuple[str, ...]
    devices: tuple[str | None, ...]  # (None,) for an unpinned lane

    @property
    def gpus(self) -> str | None:
        """The devices as the job records them ("0,1"), None for an unpinned lane."""
        return ",".join(d for d in self.devices if d is not None) or None


def lease(job_id: str, worker_id: str, host: str, count: int) -> Lease | None:
    """Lease ``count`` GPU devices of ``host`` for ``job_id``: this lane's own
    first, then idle sibling lanes' (one transaction), or None when too few are
    idle now."""
    if count <= 1:
        row = records.first(
            update(workers_table)
            .where(_w.id == worker_id, _w.held_by.is_(None))
            .values(held_by=job_id)
            .returning(_w.gpu)
        )
        return None if row is None else Lease(job_id, (worker_id,), (row["gpu"],))
    try:
        return _lease_several(job_id, worker_id, host, count)
    except _Taken:  # a sibling leased one meanwhile (PostgreSQL): rolled back, try later
        return None


class _Taken(Exception):
    pass


def _lease_several(job_id: str, worker_id: str, host: str, count: int) -> Lease | None:
    now = time.time()
    with records.transaction() as conn:
        idle = [
            r
            for r in conn.execute(
                select(_w.id, _w.gpu, _w.heartbeat_at).where(
                    _w.host == host, _w.lane == "gpu", _w.held_by.is_(None)
                )
            ).mappings()
            if r["id"] == worker_id or not heartbeat_stale(r["heartbeat_at"], now)
        ]
        idle.sort(key=lambda r: (r["id"] != worker_id, r["gpu"] or ""))
        if not idle or idle[0]["id"] != worker_id or len(idle) < count:
            return None
        chosen = idle[:count]
        taken = conn.execute(
            update(workers_table)
            .where(_w.id.in_([r["id"] for r in chosen]), _w.held_by.is_(None))
            .values(held_by=job_id)
        ).rowcount
        if taken != count:
            raise _Taken
    return Lease(job_id, tuple(r["id"] for r in chosen), tuple(r["gpu"] for r in chosen))


def release(held: Lease) -> None:
    """Give the lease's devices back (only those it holds: a job queued twice
    may be leased by two lanes at once; the one that lost the claim frees its own)."""
    records.execute(
        update(workers_table)
        .where(_w.id.in_(held.workers), _w.held_by == held.job_id)
        .values(held_by=None)
    )


def is_free(worker_id: str) -> bool:
    """This lane's device is not leased (to a job of its own or a sibling's)."""
    row = records.first(select(_w.held_by).where(_w.id == worker_id))
    return row is None or row["held_by"] is None


def largest_machine() -> int:
    """The most live GPU lanes any one machine has (what a multi-GPU job can get)."""
    now = time.time()
    per_host: dict[str, int] = {}
    for row in records.rows(select(_w.host, _w.heartbeat_at).where(_w.lane == "gpu")):
        if not heartbeat_stale(row["heartbeat_at"], now):
            per_host[row["host"]] = per_host.get(row["host"], 0) + 1
    return max(per_host.values(), default=0)
