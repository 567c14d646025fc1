"""Queue latency and throughput: ``python benchmarks/jobs.py [--jobs 500] [--compare DIR]
[--database sqlite|postgres]``.

Starts a real worker (``python -m jobs.worker``) on a temporary STUDIO_HOME
and measures, for short jobs (``system.sleep`` with 0 s):

* latency: submit→start (the job record's created_at → started_at) for jobs
  submitted one at a time to an idle worker; goal p95 < 20 ms;
* throughput: jobs/s for a burst of the same number of jobs (submitted from
  this process, counted until the last one has finished); goal ≥ 0.8× bare Huey;
* CPU per job of that burst: the CPU time (user + system) the submitting process
  and the worker's processes (every lane, the supervisor) spent from the burst's
  first submit to its last job's end, ÷ the jobs: on a shared machine it moves
  far less with the load than the wall-clock figures;
* per-job cost without the queue (``--inline``, on by default): the same jobs
  submitted with the queue left out, then run one after another in this
  process (``jobs.runner.execute``): ms per submit and per run, where the
  record writes, the status.json mirror and the log lines are.

Baseline, measured in the same run on the same disk: bare Huey (``SqliteHuey``
with Huey's default consumer and storage settings: polling backs off to 10 s,
each queue commit synced to disk) running a task that records its start time
(in a WAL file, one connection per consumer thread, no sync per commit: the
baseline measures the queue, not its marks), with no job records. The ratio columns are
studio ÷ baseline (latency: lower is better; jobs/s: higher).

``--database postgres``: the several-machines shape. The script starts its own
PostgreSQL 15 and Redis (``tests/servers.py``: 127.0.0.1, temp folders;
PostgreSQL with fsync and synchronous commits on, as deployed); the studio's
records go to PostgreSQL (a fresh database per measurement) and its queue to
Redis (``STUDIO_QUEUE_URL``); the baseline is bare ``RedisHuey`` on the same
Redis (emptied before each measurement), its task recording its start in a
SQLite file as above. Goals: p95 < 30 ms and ≥ 0.7× bare RedisHuey.

``--compare DIR`` measures another ``jobs`` package beside this one (before/after),
e.g. the committed one::

    rm -rf /tmp/jobs_before && mkdir /tmp/jobs_before
    git archive HEAD jobs | tar -x -C /tmp/jobs_before
    python benchmarks/jobs.py --compare /tmp/jobs_before --rounds 3

DIR comes first on the path of its child process and its worker (``pipelines``
and ``studio`` come from this checkout when DIR has none). Every measurement
runs in its own child process, interleaved per round (before, after, bare
Huey; every other round in the opposite order, so no place is favoured); with
several rounds each figure is the median, and each ratio the median of the
rounds' ratios (each round against its own baseline), with their spread
(lowest–highest). The load average is printed at the start, after each
measurement and at the end: on a shared machine the figures move with it.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


GOALS = {  # database: (p95 goal in s, throughput goal as a share of the baseline's)
    "sqlite": (0.020, 0.8),
    "postgres": (0.030, 0.7),
}
BASELINE = {"sqlite": "bare Huey", "postgres": "bare RedisHuey"}


def fresh_records(pg_port: int | None) -> None:
    """With PostgreSQL (``--database postgres``): a fresh, empty database for the
    next measurement of this process (``STUDIO_DATABASE_URL``)."""
    if pg_port is None:
        return
    from tests.servers import PostgresServer

    server = PostgresServer(pg_port)
    os.environ["STUDIO_DATABASE_URL"] = server.url(server.new_database())


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


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and every process below it."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def burst_cpu(worker_pid: int) -> Callable[[], float]:
    """Start counting the CPU of this process and the worker's processes; the
    function returned gives the seconds spent since."""
    start = time.process_time() + tree_cpu(worker_pid)
    return lambda: time.process_time() + tree_cpu(worker_pid) - start


def bench_inline(n: int, home: Path, pg_port: int | None = None) -> dict[str, float]:
    """ms per submit and per run of ``n`` jobs, no queue, no worker process."""
    os.environ["STUDIO_HOME"] = str(home)
    fresh_records(pg_port)
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


def bench_studio(n: int, home: Path, root: Path, pg_port: int | None = None) -> dict[str, float]:
    os.environ["STUDIO_HOME"] = str(home)
    fresh_records(pg_port)
    from jobs import queue, records, store
    from jobs.settings import reset_settings

    reset_settings()
    records.dispose()  # the inline measurement's database is not this one
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
            # The figure is the record's own (created_at → started_at): this
            # polling only paces the loop (every 5 ms, light on a 2-core machine).
            while (started := store.get_job(job["id"])["started_at"]) is None:
                time.sleep(0.005)
            latencies.append(started - job["created_at"])
            while store.get_job(job["id"])["status"] not in store.FINAL:
                time.sleep(0.005)
            time.sleep(0.05)  # let the consumer go idle again
        # Throughput: a burst.
        cpu = burst_cpu(worker.pid)
        t0 = time.time()
        ids = [queue.submit("system.sleep", {"seconds": 0, "steps": 1})["id"] for _ in range(n)]
        submitted = time.time() - t0
        # Read through the store's public functions (the same in a --compare package).
        wait_started(lambda: store.list_jobs(status="succeeded", limit=1)[1] - n, n)
        cpu_s = cpu()
        burst, _ = store.list_jobs(limit=n)  # newest first: the burst
        assert {job["id"] for job in burst} == set(ids)
        last = max(job["finished_at"] or 0.0 for job in burst)
        return {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "jobs_s": n / (last - t0),
            "cpu_ms": cpu_s / n * 1000,
            "submit_s": submitted,
        }
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()


BASELINE_WORKER = r"""
import sqlite3, sys, threading, time
from huey import RedisHuey, SqliteHuey
if sys.argv[1].startswith("redis://"):
    huey = RedisHuey(name="bench", url=sys.argv[1], results=False)
else:
    huey = SqliteHuey(name="bench", filename=sys.argv[1], results=False)
local = threading.local()
@huey.task(name="mark")
def mark(i, t_submit):
    t_start = time.time()
    con = getattr(local, "con", None)
    if con is None:  # one connection per consumer thread; WAL, no sync per commit
        con = local.con = sqlite3.connect(sys.argv[2], timeout=60)
        con.execute("pragma synchronous=normal")
    con.execute("insert into starts values (?, ?, ?)", (i, t_submit, t_start))
    con.commit()
if __name__ == "__main__":
    huey.create_consumer(workers=2, worker_type="thread").run()
"""


def bench_bare_huey(n: int, folder: Path, redis_url: str | None = None) -> dict[str, float]:
    import sqlite3

    from huey import RedisHuey, SqliteHuey

    folder.mkdir(parents=True, exist_ok=True)
    queue_db, marks_db = folder / "bare-queue.db", folder / "bare-marks.db"
    con = sqlite3.connect(marks_db)
    con.execute("pragma journal_mode=wal")  # the marks cost the baseline no disk sync
    con.execute("create table starts (i integer, t_submit real, t_start real)")
    con.commit()
    script = folder / "bare_worker.py"
    script.write_text(BASELINE_WORKER)
    queue_at = redis_url or str(queue_db)
    worker = subprocess.Popen(
        [sys.executable, str(script), queue_at, str(marks_db)],
        cwd=folder,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    huey = (
        RedisHuey(name="bench", url=redis_url, results=False)
        if redis_url
        else SqliteHuey(name="bench", filename=str(queue_db), results=False)
    )

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
        cpu = burst_cpu(worker.pid)
        t0 = time.time()
        for i in range(n, 2 * n):
            mark(i, t0)
        wait_started(count, 2 * n)
        cpu_s = cpu()
        last = con.execute("select max(t_start) from starts").fetchone()[0]
        return {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "jobs_s": n / (last - t0),
            "cpu_ms": cpu_s / n * 1000,
        }
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()


def child(
    kind: str, root: Path, n: int, folder: Path, inline: bool, servers: Servers
) -> dict[str, float]:
    """One measurement, in this (child) process: ``kind`` is studio or bare."""
    if kind == "bare":
        return bench_bare_huey(n, folder, servers.redis_url)
    sys.path.insert(0, str(root))  # the jobs package measured comes first
    if servers.redis_url:
        os.environ["STUDIO_QUEUE_URL"] = servers.redis_url
    result = {}
    if inline:
        result.update(bench_inline(n, folder / "inline", servers.pg_port))
    result.update(bench_studio(n, folder / "studio", root, servers.pg_port))
    return result


@dataclass(frozen=True)
class Servers:
    """``--database postgres``: the PostgreSQL port and the Redis URL (None: SQLite)."""

    pg_port: int | None = None
    redis_url: str | None = None

    def argv(self) -> list[str]:
        if self.pg_port is None or self.redis_url is None:
            return []
        return ["--pg-port", str(self.pg_port), "--redis-url", self.redis_url]


def run_child(
    kind: str, root: Path, n: int, folder: Path, inline: bool, servers: Servers
) -> dict[str, float]:
    argv = [sys.executable, __file__, "--child", kind, "--root", str(root), "--jobs", str(n)]
    argv += ["--folder", str(folder)] + ([] if inline else ["--no-inline"]) + servers.argv()
    if servers.redis_url:
        from tests.servers import flush_redis

        flush_redis(servers.redis_url)  # each measurement starts from an empty queue
    out = subprocess.run(argv, env=_env(root), capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{kind} measurement failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextmanager
def running_servers(database: str) -> Iterator[Servers]:
    """PostgreSQL and Redis for ``--database postgres`` (nothing for SQLite)."""
    if database == "sqlite":
        yield Servers()
        return
    from tests.servers import running_postgres, running_redis

    with running_postgres(durable=True) as pg, running_redis() as redis_url:
        yield Servers(pg.port, redis_url)


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
    parser.add_argument(
        "--database",
        choices=tuple(GOALS),
        default="sqlite",
        help="postgres: records in PostgreSQL, queue on Redis (servers started here)",
    )
    parser.add_argument("--pg-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=("studio", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        servers = Servers(args.pg_port, args.redis_url)
        print(
            json.dumps(child(args.child, args.root, args.jobs, args.folder, args.inline, servers))
        )
        return

    variants = ([("before", args.compare.resolve())] if args.compare else []) + [("studio", ROOT)]
    results: dict[str, list[dict[str, float]]] = {}
    print(f"load average at start: {load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, running_servers(args.database) as servers:
        for r in range(args.rounds):
            order = [*variants, ("bare", ROOT)]
            for label, root in order if r % 2 == 0 else order[::-1]:  # no place favoured
                kind = "bare" if label == "bare" else "studio"
                folder = Path(tmp) / f"{label}-{r}"
                res = run_child(kind, root, args.jobs, folder, args.inline, servers)
                results.setdefault(label, []).append(res)
                shown = ", ".join(
                    f"{k} {v * 1000 if k in ('p50', 'p95') else v:.2f}" for k, v in res.items()
                )
                print(f"round {r + 1} {label:<7} {shown}   (load {load()})", flush=True)
    print(f"load average at the end: {load()}")

    def fig(label: str, key: str) -> float:
        return statistics.median(res[key] for res in results[label])

    def ratios(label: str, key: str) -> list[float]:
        """Each round's figure ÷ the same round's bare Huey."""
        pairs = zip(results[label], results["bare"], strict=True)
        return [ours[key] / bare[key] for ours, bare in pairs]

    def ratio(label: str, key: str) -> float:
        return statistics.median(ratios(label, key))

    def spread(values: list[float]) -> str:
        return f"{min(values):.2f}–{max(values):.2f}" if len(values) > 1 else ""

    labels = [label for label, _ in variants]
    median = f" (median of {args.rounds} rounds)" if args.rounds > 1 else ""
    goal_p95, goal_share = GOALS[args.database]
    baseline = BASELINE[args.database]
    where = {
        "sqlite": "records in SQLite, queue in SQLite",
        "postgres": "records in PostgreSQL 15, queue on Redis",
    }[args.database]
    print(f"\n{args.jobs} short jobs, idle worker (latency) and one burst (throughput){median}")
    print(f"{where}; baseline {baseline}\n")
    head = "".join(f"{label:>10}" for label in labels)
    ratio_head = "".join(f"{label + ' ÷ bare':>16}{'(spread)':>12}" for label in labels)
    print(f"{'metric':<28}{head}{'bare':>11}{ratio_head}   goal")
    rows = [
        ("submit→start p50 (ms)", "p50", 1000, ""),
        ("submit→start p95 (ms)", "p95", 1000, f"p95 < {goal_p95 * 1000:.0f} ms"),
        ("burst throughput (jobs/s)", "jobs_s", 1, f"≥ {goal_share}× {baseline}"),
        ("burst CPU per job (ms)", "cpu_ms", 1, "(submitter + worker processes)"),
    ]
    for name, key, scale, goal in rows:
        ours = [fig(label, key) * scale for label in labels]
        base = fig("bare", key) * scale
        cells = "".join(f"{v:>10.1f}" for v in ours)
        ratio_cells = "".join(
            f"{ratio(label, key):>16.2f}{spread(ratios(label, key)):>12}" for label in labels
        )
        print(f"{name:<28}{cells}{base:>11.1f}{ratio_cells}   {goal}")
    if args.inline:
        print("\nper job without the queue (ms)")
        for name, key in (
            ("submit (record, mirror, log)", "submit_ms"),
            ("run (claim … end)", "run_ms"),
        ):
            print(f"{name:<30}" + "".join(f"{fig(label, key):>10.2f}" for label in labels))
    p95, times = fig("studio", "p95"), ratio("studio", "jobs_s")
    print(
        f"\ngoal p95 < {goal_p95 * 1000:.0f} ms: {'met' if p95 < goal_p95 else 'NOT met'}; ",
        end="",
    )
    met = "met" if times >= goal_share else "NOT met"
    rounds = ", ".join(f"{x:.2f}" for x in ratios("studio", "jobs_s"))
    print(f"goal throughput ≥ {goal_share}× {baseline}: {met} ({times:.2f}×; rounds {rounds})")


if __name__ == "__main__":
    main()
