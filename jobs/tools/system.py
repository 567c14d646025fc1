"""Worker diagnostics and queue exercises: kinds every studio has.

- ``system.diagnostics`` (GPU lane): what the GPU worker runs with — Python,
  torch, device, models found, free disk, the GPUs its lane is pinned to and
  those a child process of the job sees (``gpus``: how many GPUs of one machine
  the job leases, to check a multi-GPU setup).
- ``system.gpu_check`` (GPU lane): timed matrix multiplies on the worker's
  device; reports the measured TFLOP/s. Doubles as a long GPU job.
- ``system.sleep`` (CPU lane): waits in steps, optionally inside a child
  process; used to check the queue end to end and by ``benchmarks/jobs.py``. Its
  ``on_end`` hook writes the job's end into its log (``on_end: <status>``) when asked (``report_end``).
- ``system.gpu_sleep`` (GPU lane): the same wait in a GPU lane, holding it without
  computing (a queue check of the GPU lanes: which device the lane is pinned to, what
  waits behind it) where ``system.gpu_check`` would keep a CPU-only machine busy.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import sys
import time
from typing import Any

from jobs.access import user_named
from jobs.kinds import JobContext, job_kind, loaded_models
from jobs.registry import Tab, TabGroup, Tool, register
from jobs.settings import get_settings
from pipelines.errors import BadInput


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _models_found() -> list[str]:
    """Model folders in STUDIO_HOME/models and in the Hugging Face cache."""
    found = []
    root = get_settings().models_path
    if root.is_dir():
        found += [f"{p.name} ({root})" for p in sorted(root.iterdir()) if p.is_dir()]
    try:
        from huggingface_hub import scan_cache_dir

        found += [
            f"{repo.repo_id} (hf cache)"
            for repo in scan_cache_dir().repos
            if repo.repo_type == "model"
        ]
    except Exception:
        pass
    return found


MAX_GPUS = 16  # the most GPUs a diagnostics job may ask for


def _gpus(params: dict[str, Any]) -> int:
    return int(_number(params, "gpus", 1, 1, MAX_GPUS))


@job_kind(
    "system.diagnostics",
    lane="gpu",
    title="Worker diagnostics",
    public=True,
    gpus=lambda p: _gpus(p),
)
def diagnostics(ctx: JobContext) -> dict[str, Any]:
    ctx.progress.update(stage="python", fraction=0.1)
    _gpus(ctx.params)
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "host": ctx.job["host"],
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),  # the lane's pinning
        "job_gpus": ctx.job["gpus"],
    }
    ctx.progress.update(stage="gpus", fraction=0.2, message="what a child process sees")
    ctx.run_child(
        [sys.executable, "-c", "import os; print(os.environ.get('CUDA_VISIBLE_DEVICES', ''))"]
    )
    seen = (ctx.dir / "child.stdout.txt").read_text().strip().splitlines()
    report["child_cuda_visible_devices"] = seen[-1] if seen else ""
    ctx.progress.update(stage="torch", fraction=0.3, message="importing torch")
    try:
        import torch

        cuda = torch.cuda.is_available()
        report.update(
            torch=torch.__version__,
            cuda=cuda,
            device=torch.cuda.get_device_name(0) if cuda else "cpu",
            threads=torch.get_num_threads(),
        )
    except ImportError as exc:
        report.update(torch=None, device="unknown", torch_error=str(exc))
    from pipelines.monitor.resources import gpu_name

    report["gpu_nvml"] = gpu_name()
    ctx.progress.update(stage="packages", fraction=0.6)
    report["packages"] = {
        p: _version(p)
        for p in (
            "gradio",
            "huey",
            "transformers",
            "diffusers",
            "mediapipe",
            "av",
            "opencv-contrib-python",
        )
    }
    ctx.progress.update(stage="models", fraction=0.8)
    report["models_found"] = _models_found()
    report["models_loaded"] = loaded_models()
    usage = shutil.disk_usage(get_settings().home)
    report["disk_free_gb"] = round(usage.free / 2**30, 1)
    for key, value in report.items():
        ctx.log(f"{key}: {value}")
    return {"report": report}


USER_SECONDS = 60  # longest system.sleep / system.gpu_check a non-admin may ask for


def _seconds(ctx: JobContext, default: float, low: float, admin_max: float) -> float:
    """The job's ``seconds``: up to ``admin_max`` for an admin, USER_SECONDS for anyone else."""
    high = admin_max if user_named(ctx.owner).is_admin else USER_SECONDS
    return _number(ctx.params, "seconds", default, low, high)


def _number(params: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    """A numeric parameter within [low, high], or a BadInput naming it."""
    try:
        value = float(params.get(name, default))
    except (TypeError, ValueError, OverflowError):
        raise BadInput(f"{name} must be a number (got {str(params.get(name))[:40]!r}).") from None
    if not low <= value <= high:
        raise BadInput(f"{name} must be between {low:g} and {high:g} (got {value:g}).")
    return value


@job_kind("system.gpu_check", lane="gpu", title="GPU check (matmul throughput)", public=True)
def gpu_check(ctx: JobContext) -> dict[str, Any]:
    import torch

    seconds = _seconds(ctx, 5, 0.1, 600)
    size = int(_number(ctx.params, "size", 1024, 16, 16384))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float16 if device == "cuda" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    start = time.perf_counter()
    count = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        (a @ b).sum().item()
        count += 1
        ctx.progress.update(stage="matmul", fraction=elapsed / seconds, item=f"{count} multiplies")
    tflops = 2 * size**3 * count / max(elapsed, 1e-9) / 1e12
    ctx.log(
        f"{device}: {count} multiplies of {size}x{size} in {elapsed:.2f}s = {tflops:.3f} TFLOP/s"
    )
    return {
        "device": device,
        "multiplies": count,
        "tflops": round(tflops, 4),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }


def _sleep_ended(job: Any, status: str) -> None:
    """``on_end`` of ``system.sleep``: the end as the hook sees it, and the record's
    status then, into the job log (the queue check shows that the core calls a kind's
    hook once per end, after the record's final write). Only for a job that asks
    (``report_end``): the queue benchmark's jobs cost no extra statement."""
    from jobs import store

    if not job["params"].get("report_end"):
        return
    record = store.get_job(job["id"])["status"]
    store.append_log(job["id"], f"on_end: {status} (record: {record})")


@job_kind("system.sleep", lane="cpu", title="Wait (queue check)", public=True, on_end=_sleep_ended)
def sleep(ctx: JobContext) -> dict[str, Any]:
    return _wait(ctx)


@job_kind("system.gpu_sleep", lane="gpu", title="Wait in a GPU lane (queue check)", public=True)
def gpu_sleep(ctx: JobContext) -> dict[str, Any]:
    return {**_wait(ctx), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}


def _wait(ctx: JobContext) -> dict[str, Any]:
    """``seconds`` in ``steps`` (progress at each), or inside a child process (``child``)."""
    seconds = _seconds(ctx, 1, 0, 24 * 3600)
    steps = int(_number(ctx.params, "steps", 10, 1, 100_000))
    if ctx.params.get("child"):
        code = ctx.run_child([sys.executable, "-c", f"import time; time.sleep({seconds})"])
        if code != 0:
            raise RuntimeError(f"The child process exited with code {code}.")
    else:
        for step in range(steps):
            ctx.progress.update(
                stage="waiting", fraction=step / steps, item=f"step {step + 1} of {steps}"
            )
            if seconds:  # no sleep(0): it only hands the CPU away
                time.sleep(seconds / steps)
    return {"slept_s": seconds}


JOBS_MONITOR = TabGroup("Jobs / Monitor", "tab-jobs")  # a top tab whose sub-tabs are tools' tabs
# The studio's own page and API: every job of every tool, the worker, these kinds.
register(
    Tool(
        name="jobs",
        title="Jobs",
        kinds=("system.diagnostics", "system.gpu_check", "system.sleep", "system.gpu_sleep"),
        settings=("worker", "cpu_workers", "max_attempts", "heartbeat_s", "max_jobs_per_user"),
        router="studio.api.jobs:router",
        prefix="",  # /api/v1/jobs, /api/v1/health, /api/v1/workers, /api/v1/
        tab=Tab("Jobs", "tab-jobs-list", "studio.tabs.jobs:build_jobs", 50, JOBS_MONITOR),
        core=True,
    )
)
