"""Queue latency and throughput: ``python benchmarks/jobs.py [--jobs 500]``.

Starts a real worker (``python -m jobs.worker``) on a temporary STUDIO_HOME
and measures, for short jobs (``system.sleep`` with 0 s):

* latency: submit→start (the job record's created_at → started_at) for jobs
  submitted one at a time to an idle worker; goal p95 < 250 ms;
* throughput: jobs/s for a burst of the same number of jobs.

Baseline, measured in the same run on the same SQLite file: bare Huey
(``SqliteHuey`` with Huey's default consumer settings: polling backs off to
10 s) running a task that records its start time, with no job records. The
ratio column is studio ÷ baseline (latency: lower is better; jobs/s: higher).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def wait_started(get_start, n_expected: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if get_start() >= n_expected:
            return
        time.sleep(0.05)
    raise SystemExit("benchmark timed out")


def bench_studio(n: int, home: Path) -> dict[str, float]:
    os.environ["STUDIO_HOME"] = str(home)
    from jobs import queue, store
    from jobs.db import database
    from jobs.settings import reset_settings

    reset_settings()
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker"],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from studio.health import health

        while not health()["worker"]["alive"]:
            time.sleep(0.2)
        # Latency: one job at a time on an idle worker.
        latencies = []
        for _ in range(n):
            job = queue.submit("system.sleep", {"seconds": 0, "steps": 1})
            while (started := store.get_job(job["id"])["started_at"]) is None:
                time.sleep(0.002)
            latencies.append(started - job["created_at"])
            while store.get_job(job["id"])["status"] not in store.FINAL:
                time.sleep(0.002)
            time.sleep(0.05)  # let the consumer go idle again
        # Throughput: a burst.
        t0 = time.time()
        ids = [queue.submit("system.sleep", {"seconds": 0, "steps": 1})["id"] for _ in range(n)]
        marks = ",".join("?" * len(ids))
        wait_started(
            lambda: (
                database()
                .execute(
                    f"select count(*) from jobs where status='succeeded' and id in ({marks})", ids
                )
                .fetchone()[0]
            ),
            n,
        )
        last = (
            database()
            .execute(f"select max(finished_at) from jobs where id in ({marks})", ids)
            .fetchone()[0]
        )
        return {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "jobs_s": n / (last - t0),
        }
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()


BASELINE_WORKER = r"""
import sqlite3, sys, time
from huey import SqliteHuey
huey = SqliteHuey(name="bench", filename=sys.argv[1], results=False)
@huey.task(name="mark")
def mark(i, t_submit):
    con = sqlite3.connect(sys.argv[2], timeout=60)
    con.execute("insert into starts values (?, ?, ?)", (i, t_submit, time.time()))
    con.commit(); con.close()
if __name__ == "__main__":
    huey.create_consumer(workers=2, worker_type="thread").run()
"""


def bench_bare_huey(n: int, folder: Path) -> dict[str, float]:
    import sqlite3

    from huey import SqliteHuey

    queue_db, marks_db = folder / "bare-queue.db", folder / "bare-marks.db"
    con = sqlite3.connect(marks_db)
    con.execute("create table starts (i integer, t_submit real, t_start real)")
    con.commit()
    script = folder / "bare_worker.py"
    script.write_text(BASELINE_WORKER)
    worker = subprocess.Popen(
        [sys.executable, str(script), str(queue_db), str(marks_db)],
        cwd=folder,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    huey = SqliteHuey(name="bench", filename=str(queue_db), results=False)

    @huey.task(name="mark")
    def mark(i, t_submit):  # same name as the worker's task
        pass

    def count() -> int:
        return con.execute("select count(*) from starts").fetchone()[0]

    try:
        time.sleep(2)
        for i in range(n):
            mark(i, time.time())
            wait_started(count, i + 1)
            time.sleep(0.05)
        latencies = [s - t for t, s in con.execute("select t_submit, t_start from starts")]
        t0 = time.time()
        for i in range(n, 2 * n):
            mark(i, t0)
        wait_started(count, 2 * n)
        last = con.execute("select max(t_start) from starts").fetchone()[0]
        return {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "jobs_s": n / (last - t0),
        }
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        studio = bench_studio(args.jobs, folder / "studio")
        bare = bench_bare_huey(args.jobs, folder)
    print(f"\n{args.jobs} short jobs, idle worker (latency) and one burst (throughput)\n")
    print(f"{'metric':<28}{'studio':>12}{'bare huey':>12}{'ratio':>10}   goal")
    rows = [
        ("submit→start p50 (ms)", studio["p50"] * 1000, bare["p50"] * 1000, ""),
        ("submit→start p95 (ms)", studio["p95"] * 1000, bare["p95"] * 1000, "p95 < 250 ms"),
        ("burst throughput (jobs/s)", studio["jobs_s"], bare["jobs_s"], ""),
    ]
    for name, ours, base, goal in rows:
        print(f"{name:<28}{ours:>12.1f}{base:>12.1f}{ours / base:>10.2f}   {goal}")
    verdict = "met" if studio["p95"] < 0.25 else "NOT met"
    print(f"\ngoal p95 < 250 ms: {verdict}")


if __name__ == "__main__":
    main()
