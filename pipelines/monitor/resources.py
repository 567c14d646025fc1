"""Resource sampling of a process tree: CPU, memory, threads, open files and
disk I/O with psutil; GPU memory and utilisation with NVML where a driver is
present. Used by the worker's heartbeat and by scenario runs."""

from __future__ import annotations

import os
import time

import psutil

METRICS = {
    "cpu_percent": "CPU % of the process tree (100 = one core)",
    "rss_mb": "resident memory of the process tree (MB)",
    "threads": "threads of the process tree",
    "fds": "open file descriptors of the process tree",
    "read_mb": "MB read from disk since the start",
    "write_mb": "MB written to disk since the start",
    "sys_cpu_percent": "whole-machine CPU %",
    "sys_mem_percent": "whole-machine memory used %",
    "gpu_mem_mb": "GPU memory used by the tree (or the device) (MB)",
    "gpu_util": "GPU utilisation % (device)",
}
DEFAULT_METRICS = ("cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util")


class ResourceSampler:
    """``sample()`` sums the metrics over ``pid`` and all its descendants."""

    def __init__(
        self, pid: int | None = None, metrics: tuple[str, ...] | list[str] = DEFAULT_METRICS
    ):
        unknown = set(metrics) - set(METRICS)
        if unknown:
            raise ValueError(f"Unknown metrics {sorted(unknown)}; choose from {sorted(METRICS)}.")
        self.metrics = tuple(metrics)
        self.root = psutil.Process(pid or os.getpid())
        self._procs: dict[int, psutil.Process] = {}
        self._nvml = None
        if {"gpu_mem_mb", "gpu_util"} & set(self.metrics):
            try:
                import pynvml

                pynvml.nvmlInit()
                self._nvml = pynvml
                self._gpu = pynvml.nvmlDeviceGetHandleByIndex(0)
            except Exception:
                self._nvml = None

    def _tree(self, children: bool = True) -> list[psutil.Process]:
        # psutil finds the descendants by reading every process's parent in /proc:
        # about 2 ms with 70 processes on the machine, more beside a browser's.
        try:
            procs = [self.root, *(self.root.children(recursive=True) if children else ())]
        except psutil.Error:
            return []
        # Keep the Process objects between samples: cpu_percent needs the previous call.
        self._procs = {proc.pid: self._procs.get(proc.pid, proc) for proc in procs}
        return list(self._procs.values())

    def sample(self, children: bool = True) -> dict[str, float | None]:
        """The metrics now; ``children=False`` when the caller knows the process has
        started none (an idle worker lane): the root alone, without the walk of /proc."""
        want = set(self.metrics)
        totals = dict.fromkeys(("cpu_percent", "rss", "threads", "fds", "read", "write"), 0.0)
        pids = set()
        for proc in self._tree(children):
            try:
                with proc.oneshot():
                    totals["cpu_percent"] += proc.cpu_percent(None)
                    totals["rss"] += proc.memory_info().rss
                    if "threads" in want:
                        totals["threads"] += proc.num_threads()
                    if "fds" in want:
                        totals["fds"] += proc.num_fds()
                    if {"read_mb", "write_mb"} & want:
                        io = proc.io_counters()
                        totals["read"] += io.read_bytes
                        totals["write"] += io.write_bytes
                pids.add(proc.pid)
            except (psutil.Error, AttributeError):
                continue
        values: dict[str, float | None] = {
            "cpu_percent": round(totals["cpu_percent"], 1),
            "rss_mb": round(totals["rss"] / 2**20, 1),
            "threads": totals["threads"],
            "fds": totals["fds"],
            "read_mb": round(totals["read"] / 2**20, 2),
            "write_mb": round(totals["write"] / 2**20, 2),
        }
        if "sys_cpu_percent" in want:
            values["sys_cpu_percent"] = psutil.cpu_percent(None)
        if "sys_mem_percent" in want:
            values["sys_mem_percent"] = psutil.virtual_memory().percent
        values["gpu_mem_mb"] = values["gpu_util"] = None
        if self._nvml is not None:
            try:
                n = self._nvml
                used = [
                    p.usedGpuMemory or 0
                    for p in n.nvmlDeviceGetComputeRunningProcesses(self._gpu)
                    if p.pid in pids
                ]
                values["gpu_mem_mb"] = (
                    sum(used) if used else n.nvmlDeviceGetMemoryInfo(self._gpu).used
                ) / 2**20
                values["gpu_util"] = float(n.nvmlDeviceGetUtilizationRates(self._gpu).gpu)
            except Exception:
                pass
        return {"t": time.time(), **{m: values.get(m) for m in self.metrics}}


def gpu_name() -> str | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0))
        return name.decode() if isinstance(name, bytes) else name
    except Exception:
        return None
