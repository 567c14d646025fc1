"""Scenario run with monitoring (seed 001): run a scenario script and, while it
runs, sample the CPU / memory / ... of its process tree (or of other processes
it drives, matched by name) at a fixed interval.

    result = run_scenario(Path("open_app.py"), out_dir, ScenarioOptions(metrics=["cpu_percent", "rss_mb"]),
                          progress, on_sample=print)

Writes ``metrics.csv`` (one row per sample) and ``output.txt`` (the script's
stdout and stderr) into ``out_dir``; returns the summary (peak and mean of each
metric, exit code, duration). Cancel (``progress.update`` raising) or the
timeout kills the whole process group of the script.

The script runs in its own working folder (``options.workdir``, also its
HOME and TMPDIR) with a clean environment (:func:`pipelines.child_env.clean_env`: PATH
and locale only, none of the caller's variables, so no secrets or tokens), and with resource limits that
its children inherit: CPU time (the timeout, as CPU seconds), memory
(RLIMIT_DATA: heap and private writable mappings — not address space, which
browsers and JITs reserve by the terabyte) and the largest file it may write.
It gets SIGKILL if the process that started it dies.
"""

from __future__ import annotations

import math
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from pipelines.child_env import clean_env, guarded_argv
from pipelines.exports import csv_writer
from pipelines.monitor.resources import METRICS, ResourceSampler
from pipelines.progress import NullProgress, Progress

INTERPRETERS = {".py": [sys.executable, "-u"], ".sh": ["bash"], ".bash": ["bash"]}
PYTHON_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}


class ScenarioError(ValueError):
    pass


@dataclass
class ScenarioOptions:
    metrics: list[str] = field(default_factory=lambda: ["cpu_percent", "rss_mb", "threads"])
    interval_s: float = 0.5
    timeout_s: float = 600.0
    args: list[str] = field(default_factory=list)
    target: str = ""  # also sample processes whose name contains this (e.g. the app under test)
    workdir: Path | None = None  # the script's working folder (default: out_dir / "work")
    cpu_limit_s: float | None = None  # CPU seconds per process (default: the timeout)
    memory_limit_mb: int = 4096  # RLIMIT_DATA per process; 0 = none
    file_limit_mb: int = 1024  # largest file a process may write; 0 = none

    def check(self) -> None:
        unknown = set(self.metrics) - set(METRICS)
        if unknown or not self.metrics:
            raise ScenarioError(
                f"Choose metrics among {sorted(METRICS)} (got {sorted(self.metrics)})."
            )
        if not 0.05 <= self.interval_s <= 60:
            raise ScenarioError("interval_s must be between 0.05 and 60 seconds.")
        if self.timeout_s <= 0:
            raise ScenarioError("timeout_s must be positive.")


@dataclass
class ScenarioResult:
    exit_code: int | None
    duration_s: float
    samples: int
    summary: dict[str, dict[str, float]]
    timed_out: bool = False

    def to_dict(self) -> dict:
        return {
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 3),
            "samples": self.samples,
            "summary": self.summary,
            "timed_out": self.timed_out,
        }


def command_for(script: Path) -> list[str]:
    interpreter = INTERPRETERS.get(script.suffix.lower())
    if interpreter is None:
        raise ScenarioError(
            f"{script.name}: scenario scripts are Python (.py) or shell (.sh) files."
        )
    return [*interpreter, str(script)]


def run_scenario(
    script: Path,
    out_dir: Path,
    options: ScenarioOptions | None = None,
    progress: Progress | None = None,
    on_sample: Callable[[dict[str, float | None]], None] | None = None,
) -> ScenarioResult:
    options = options or ScenarioOptions()
    progress = progress or NullProgress()
    options.check()
    script = Path(script)
    if not script.is_file():
        raise ScenarioError(f"Scenario script {script} not found.")
    argv = command_for(script.resolve()) + list(options.args)
    out_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(options.workdir or out_dir / "work").resolve()
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)

    progress.update(
        stage="starting", fraction=0.0, message=" ".join(argv[-1 - len(options.args) :])
    )
    cpu_s = options.cpu_limit_s if options.cpu_limit_s is not None else options.timeout_s
    with open(out_dir / "output.txt", "wb") as output:  # the child keeps its own copy of the file
        env = clean_env(home=workdir, extra=PYTHON_ENV)
        limits = _limits(cpu_s, options.memory_limit_mb, options.file_limit_mb)
        proc = subprocess.Popen(
            guarded_argv(argv, env=env, limits=limits),  # dies with the worker
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    samplers: dict[int, ResourceSampler] = {proc.pid: ResourceSampler(proc.pid, options.metrics)}
    rows: list[dict[str, float | None]] = []
    start = time.monotonic()
    timed_out = False
    log_pos = 0
    try:
        with open(out_dir / "metrics.csv", "w", newline="") as fh:
            writer = csv_writer(fh, ["t", "elapsed_s", *options.metrics])
            writer.writeheader()
            while True:
                elapsed = time.monotonic() - start
                if options.target:
                    _add_targets(samplers, options.target, options.metrics)
                row = _combined(samplers, options.metrics)
                row["elapsed_s"] = round(elapsed, 3)
                writer.writerow(row)
                fh.flush()
                rows.append(row)
                if on_sample:
                    on_sample(row)
                log_pos = _forward_output(out_dir / "output.txt", log_pos, progress)
                if proc.poll() is not None:
                    break
                if elapsed > options.timeout_s:
                    timed_out = True
                    progress.log(f"timeout after {options.timeout_s:.0f} s: stopping the scenario")
                    break
                progress.update(
                    stage="running",
                    fraction=min(elapsed / options.timeout_s, 0.99),
                    item=f"{elapsed:.1f} s",
                    message=_brief(row),
                )
                time.sleep(options.interval_s)
    finally:
        if proc.poll() is None:
            _kill_group(proc)
    _forward_output(out_dir / "output.txt", log_pos, progress)
    summary = {m: _stats([r[m] for r in rows]) for m in options.metrics}
    return ScenarioResult(
        exit_code=None if timed_out else proc.returncode,
        duration_s=time.monotonic() - start,
        samples=len(rows),
        summary=summary,
        timed_out=timed_out,
    )


def _limits(cpu_s: float, memory_mb: int, file_mb: int) -> list[tuple[int, int, int]]:
    """The script's limits as (resource, soft, hard) for :func:`guarded_argv` (they pass
    on to the script's children): never above a hard limit we have ourselves."""
    wanted = [(resource.RLIMIT_CPU, max(1, math.ceil(cpu_s)) + 1), (resource.RLIMIT_CORE, 0)]
    if memory_mb:
        wanted.append((resource.RLIMIT_DATA, memory_mb * 2**20))
    if file_mb:
        wanted.append((resource.RLIMIT_FSIZE, file_mb * 2**20))
    limits = []
    for which, value in wanted:
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        extra = 5 if which == resource.RLIMIT_CPU else 0  # SIGXCPU first, SIGKILL 5 s later
        ceiling = hard if hard != resource.RLIM_INFINITY else value + extra
        limits.append((which, value, min(ceiling, value + extra)))
    return limits


def _combined(samplers: dict[int, ResourceSampler], metrics) -> dict[str, float | None]:
    row: dict[str, float | None] = {"t": time.time()}
    for sampler in list(samplers.values()):
        sample = sampler.sample()
        for metric in metrics:
            value = sample.get(metric)
            if metric.startswith(("sys_", "gpu_")):
                row[metric] = value  # machine-wide: the same for every sampler
            elif value is not None:
                row[metric] = round((row.get(metric) or 0) + value, 2)
    return row


def _add_targets(samplers: dict[int, ResourceSampler], target: str, metrics) -> None:
    for proc in psutil.process_iter(["name", "pid"]):
        name = proc.info["name"] or ""
        if target.lower() in name.lower() and proc.pid not in samplers:
            try:
                samplers[proc.pid] = ResourceSampler(proc.pid, metrics)
            except psutil.Error:
                pass


def _forward_output(path: Path, pos: int, progress: Progress) -> int:
    with open(path, "rb") as fh:
        fh.seek(pos)
        data = fh.read()
    complete = data.rfind(b"\n") + 1
    for line in data[:complete].decode("utf-8", "replace").splitlines():
        progress.log(f"scenario> {line}")
    return pos + complete


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _stats(values: list[float | None]) -> dict[str, float]:
    present = [v for v in values if v is not None]
    if not present:
        return {}
    return {
        "max": round(max(present), 2),
        "mean": round(sum(present) / len(present), 2),
        "last": round(present[-1], 2),
    }


def _brief(row: dict[str, float | None]) -> str:
    return ", ".join(
        f"{k} {v}" for k, v in row.items() if k not in ("t", "elapsed_s") and v is not None
    )
