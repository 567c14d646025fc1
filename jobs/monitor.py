"""Resource sampling of a worker's process tree: CPU and memory with psutil,
GPU memory and utilisation with NVML where a driver is present."""

from __future__ import annotations

import os
import time

import psutil


class ResourceSampler:
    def __init__(self, pid: int | None = None):
        self.root = psutil.Process(pid or os.getpid())
        self._procs: dict[int, psutil.Process] = {}
        self._nvml = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._gpu = pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:
            self._nvml = None

    def _tree(self) -> list[psutil.Process]:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []
        alive = {}
        for proc in procs:
            alive[proc.pid] = self._procs.get(proc.pid, proc)
        self._procs = alive
        return list(alive.values())

    def sample(self) -> dict[str, float | None]:
        cpu = rss = 0.0
        pids = set()
        for proc in self._tree():
            try:
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss
                pids.add(proc.pid)
            except psutil.Error:
                continue
        gpu_mem = gpu_util = None
        if self._nvml is not None:
            try:
                n = self._nvml
                used = [p.usedGpuMemory or 0 for p in n.nvmlDeviceGetComputeRunningProcesses(self._gpu)
                        if p.pid in pids]
                gpu_mem = (sum(used) if used else n.nvmlDeviceGetMemoryInfo(self._gpu).used) / 2**20
                gpu_util = float(n.nvmlDeviceGetUtilizationRates(self._gpu).gpu)
            except Exception:
                pass
        return {"t": time.time(), "cpu_percent": round(cpu, 1), "rss_mb": round(rss / 2**20, 1),
                "gpu_mem_mb": gpu_mem, "gpu_util": gpu_util}


def gpu_name() -> str | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0))
        return name.decode() if isinstance(name, bytes) else name
    except Exception:
        return None
