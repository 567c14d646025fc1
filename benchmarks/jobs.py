"""Queue latency and throughput: ``python benchmarks/jobs.py [--jobs 500] [--compare DIR]``.

Starts a real worker (``python -m jobs.worker``) on a temporary STUDIO_HOME
and measures, for short jobs (``system.sleep`` with 0 s):

* latency: submit→start (the job record's created_at → started_at) for jobs
  submitted one at a time to an idle worker; goal p95 < 20 ms;
* throughput: jobs/s for a burst of the same number of jobs (submitted from
  this process, counted until the last one has finished); goal ≥ 0.8× bare Huey;
* per-job cost without the queue (``--inline``, on by default): the same jobs
  submitted with the queue left out, then run one after another in this
  process (``jobs.runner.execute``): ms per submit and per run, where the
  record writes, the status.json mirror and the log lines are.

Baseline, measured in the same run on the same disk: bare Huey (``SqliteHuey``
with Huey's default consumer settings: polling backs off to 10 s) running a
task that records its start time, with no job records. The ratio columns are
studio ÷ baseline (latency: lower is better; jobs/s: higher).

``--compare DIR`` measures another ``jobs`` package beside this one (before/after),
e.g. the committed one::

    rm -rf /tmp/jobs_before && mkdir /tmp/jobs_before
    git archive HEAD jobs | tar -x -C /tmp/jobs_before
    python benchmarks/jobs.py --compare /tmp/jobs_before --rounds 3

DIR comes first on the path of its child process and its worker (``pipelines``
and ``studio`` come from this checkout when DIR has none). Every measurement
runs in its own child process, interleaved per round (before, after, bare
Huey); with several rounds each figure is the median, and each ratio the
median of the rounds' ratios (each round against its own baseline). The load average is
printed at the start and the end: on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def wait_started(get_start: Callable[[], int], n_expected: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if get_start() >= n_expected:
            return
        time.sleep(0.05)
    raise SystemExit("benchmark timed out")


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def prepare_records() -> None:
    """Make the measured studio's records (its schema) before anything reads them:
    ``jobs.records.upgrade`` now; the jobs package of a ``--compare`` folder from
    before the records package migrated when its database was first opened."""
    try:
        from jobs import records
    except ImportError:
        from jobs.db import database  # a jobs package from before the records package

        database()
        return
    records.upgrade()


def bench_inline(n: int, home: Path) -> dict[str, float]:
    """ms per submit and per run of ``n`` jobs, no queue, no worker process."""
    os.environ["STUDIO_HOME"] = str(home)
    from jobs import queue, runner
    from jobs.kinds import load_tools
    from jobs.settings import reset_settings

    reset_settings()
    load_tools()
    prepare_records()
    enqueue = queue.enqueue
    queue.enqueue = lambda job: None  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        ids = [queue.submit("system.sleep", {"seconds": 0, "steps": 1})["id"] for _ in range(n)]
        t1 = time.perf_counter()
        for job_id in ids:
            runner.execute(job_id)
        t2 = time.perf_counter()
    finally:
        queue.enqueue = enqueue  # type: ignore[assignment]
    return {"submit_ms": (t1 - t0) / n * 1000, "run_ms": (t2 - t1) / n * 1000}


def bench_studio(n: int, home: Path, root: Path) -> dict[str, float]:
    os.environ["STUDIO_HOME"] = str(home)
    from jobs import queue, store
    from jobs.settings import reset_settings

    reset_settings()
    prepare_records()
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker"],
        cwd=root,
        env=_env(root),
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
        submitted = time.time() - t0
        # Read through the store's public functions (the same in a --compare package).
        wait_started(lambda: store.list_jobs(status="succeeded", limit=1)[1] - n, n)
        burst, _ = store.list_jobs(limit=n)  # newest first: the burst
        assert {job["id"] for job in burst} == set(ids)
        last = max(job["finished_at"] or 0.0 for job in burst)
        return {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "jobs_s": n / (last - t0),
            "submit_s": submitted,
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

    folder.mkdir(parents=True, exist_ok=True)
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


def child(kind: str, root: Path, n: int, folder: Path, inline: bool) -> dict[str, float]:
    """One measurement, in this (child) process: ``kind`` is studio or bare."""
    if kind == "bare":
        return bench_bare_huey(n, folder)
    sys.path.insert(0, str(root))  # the jobs package measured comes first
    result = {}
    if inline:
        result.update(bench_inline(n, folder / "inline"))
    result.update(bench_studio(n, folder / "studio", root))
    return result


def run_child(kind: str, root: Path, n: int, folder: Path, inline: bool) -> dict[str, float]:
    argv = [sys.executable, __file__, "--child", kind, "--root", str(root), "--jobs", str(n)]
    argv += ["--folder", str(folder)] + ([] if inline else ["--no-inline"])
    out = subprocess.run(argv, env=_env(root), check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--compare", type=Path, help="a folder with another jobs/ package")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds (median)")
    parser.add_argument("--no-inline", dest="inline", action="store_false")
    parser.add_argument("--child", choices=("studio", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.root, args.jobs, args.folder, args.inline)))
        return

    variants = ([("before", args.compare.resolve())] if args.compare else []) + [("studio", ROOT)]
    results: dict[str, list[dict[str, float]]] = {}
    print(f"load average at start: {load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for label, root in [*variants, ("bare", ROOT)]:
                kind = "bare" if label == "bare" else "studio"
                folder = Path(tmp) / f"{label}-{r}"
                res = run_child(kind, root, args.jobs, folder, args.inline)
                results.setdefault(label, []).append(res)
                shown = ", ".join(
                    f"{k} {v * 1000 if k in ('p50', 'p95') else v:.2f}" for k, v in res.items()
                )
                print(f"round {r + 1} {label:<7} {shown}   (load {load()})", flush=True)
    print(f"load average at the end: {load()}")

    def fig(label: str, key: str) -> float:
        return statistics.median(res[key] for res in results[label])

    def ratio(label: str, key: str) -> float:
        """Each round's figure ÷ the same round's bare Huey (median over rounds)."""
        pairs = zip(results[label], results["bare"], strict=True)
        return statistics.median(ours[key] / bare[key] for ours, bare in pairs)

    labels = [label for label, _ in variants]
    median = f" (median of {args.rounds} rounds)" if args.rounds > 1 else ""
    print(f"\n{args.jobs} short jobs, idle worker (latency) and one burst (throughput){median}\n")
    head = "".join(f"{label:>10}" for label in labels)
    ratios = "".join(f"{label + ' ÷ bare':>16}" for label in labels)
    print(f"{'metric':<28}{head}{'bare huey':>11}{ratios}   goal")
    rows = [
        ("submit→start p50 (ms)", "p50", 1000, ""),
        ("submit→start p95 (ms)", "p95", 1000, "p95 < 20 ms"),
        ("burst throughput (jobs/s)", "jobs_s", 1, "≥ 0.8× bare Huey"),
    ]
    for name, key, scale, goal in rows:
        ours = [fig(label, key) * scale for label in labels]
        base = fig("bare", key) * scale
        cells = "".join(f"{v:>10.1f}" for v in ours)
        ratio_cells = "".join(f"{ratio(label, key):>16.2f}" for label in labels)
        print(f"{name:<28}{cells}{base:>11.1f}{ratio_cells}   {goal}")
    if args.inline:
        print("\nper job without the queue (ms)")
        for name, key in (
            ("submit (record, mirror, log)", "submit_ms"),
            ("run (claim … end)", "run_ms"),
        ):
            print(f"{name:<30}" + "".join(f"{fig(label, key):>10.2f}" for label in labels))
    p95, times = fig("studio", "p95"), ratio("studio", "jobs_s")
    print(f"\ngoal p95 < 20 ms: {'met' if p95 < 0.02 else 'NOT met'}; ", end="")
    print(
        f"goal throughput ≥ 0.8× bare Huey: {'met' if times >= 0.8 else 'NOT met'} ({times:.2f}×)"
    )


if __name__ == "__main__":
    main()
