"""The resource sampler behind the worker's heartbeat and the scenario runs: a process
tree's memory with its children, and the root alone when the caller knows it has none
(an idle lane skips psutil's walk of /proc at each beat)."""

from __future__ import annotations

import subprocess
import sys
import time

from pipelines.monitor.resources import ResourceSampler

HOLD_200_MB = (
    "import sys, time; block = bytearray(200 * 2**20); print(1, flush=True); time.sleep(60)"
)


def test_a_sample_counts_the_children_only_when_asked():
    child = subprocess.Popen([sys.executable, "-c", HOLD_200_MB], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"1"
        sampler = ResourceSampler(metrics=("rss_mb", "cpu_percent"))
        tree = sampler.sample()
        alone = sampler.sample(children=False)
        assert tree["rss_mb"] - alone["rss_mb"] > 150, (tree, alone)  # the child's 200 MB
        time.sleep(0.1)
        assert sampler.sample()["rss_mb"] - alone["rss_mb"] > 150  # and again with them
    finally:
        child.kill()
        child.wait()
