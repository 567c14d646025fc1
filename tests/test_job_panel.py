"""The job panel's rough edges: tracebacks kept out of the log tail, Retry off
for bad input, no ETA for open-ended work, Cancel grey while disabled."""

from __future__ import annotations

import pytest

from jobs import kinds, queue, runner, store
from pipelines.errors import BadInput
from studio import job_panel

LOG = """[10:00:00] attempt 1 of 3 on worker w1
[10:00:00] stage: loading
[10:00:01] Traceback (most recent call last):
[10:00:01]   File "/srv/jobs/runner.py", line 40, in execute
[10:00:01]     outputs = kind.fn(ctx) or {}
[10:00:01] KeyError: 'x'
[10:00:01]
[10:00:01] During handling of the above exception, another exception occurred:
[10:00:01]
[10:00:01] Traceback (most recent call last):
[10:00:01]   File "/srv/pipelines/a.py", line 3, in f
[10:00:01] ValueError: bad frame
[10:00:01] failed: bad frame"""


def test_tracebacks_leave_the_tail_with_one_hint():
    shown = job_panel.hide_tracebacks(LOG)
    assert "Traceback" not in shown and "File " not in shown and "KeyError" not in shown
    assert shown.count(job_panel.TRACEBACK_HINT) == 1
    assert shown.splitlines()[:2] == LOG.splitlines()[:2]
    assert shown.endswith("failed: bad frame")
    assert job_panel.hide_tracebacks("a\nb") == "a\nb"


@pytest.fixture
def failing_kinds():
    @kinds.job_kind("test.bad_input")
    def bad(ctx):
        raise BadInput("The folder has no photos; choose a folder with .jpg files.")

    @kinds.job_kind("test.crash")
    def crash(ctx):
        raise KeyError("x")

    yield
    kinds.KINDS.pop("test.bad_input", None)
    kinds.KINDS.pop("test.crash", None)


def test_retry_is_off_for_bad_input_only(studio_home, failing_kinds):
    bad = queue.submit("test.bad_input", {}, owner="ana")
    crash = queue.submit("test.crash", {}, owner="ana")
    runner.execute(bad["id"])
    runner.execute(crash["id"])
    bad, crash = store.get_job(bad["id"]), store.get_job(crash["id"])
    assert (bad["status"], crash["status"]) == ("failed", "failed")
    assert bad["outputs"]["error_kind"] == "bad_input" and crash["outputs"]["error_kind"] == "error"
    assert not job_panel.can_retry(bad) and job_panel.can_retry(crash)
    # The user sees the message; the traceback stays in log.txt.
    assert "no photos" in bad["error"]
    assert "Traceback" in (store.job_dir(bad["id"]) / "log.txt").read_text()
    assert "Traceback" not in job_panel.hide_tracebacks(store.read_log(bad["id"], tail=60))


def _job(**fields):
    base = {
        "id": "j1",
        "kind": "system.sleep",
        "owner": "ana",
        "status": "running",
        "progress": 0.5,
        "attempts": 1,
        "max_attempts": 3,
        "stage": "s",
        "item": "",
        "message": "",
        "eta_s": 75.0,
        "error": None,
        "outputs": {},
    }
    return {**base, **fields}


def test_eta_counts_down_to_the_work_not_a_timeout():
    assert "1m 15s" in job_panel.status_html(_job())
    assert "1m 15s" not in job_panel.status_html(_job(kind="monitor.scenario"))
    assert "1m 15s" not in job_panel.status_html(_job(status="succeeded"))
    assert "1m 15s" not in job_panel.status_html(_job(eta_s=None))


def test_charts_have_numeric_axes_and_say_no_gpu():
    from studio.tabs import jobs as jobs_tab

    columns = ["t", "cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util"]
    frame = jobs_tab.chart_frame([[1.0, 5, 10, None, None], [2.0, 7, 11, None, None]], columns)
    assert frame["gpu_mem_mb"].dtype == float and frame["cpu_percent"].dtype == float
    no_gpu = jobs_tab.gpu_chart(frame, "GPU")
    assert no_gpu["title"] == "GPU — no GPU" and no_gpu["value"].empty
    with_gpu = jobs_tab.gpu_chart(jobs_tab.chart_frame([[1.0, 5, 10, 300, 20]], columns), "GPU")
    assert with_gpu["title"] == "GPU" and len(with_gpu["value"]) == 1
    empty = jobs_tab.chart_frame([], columns)  # the first tick of a first run
    assert empty.empty and empty["rss_mb"].dtype == float
    # a job's charts count seconds from its first sample (a 0.9 s job reads 0 … 0.9)
    short = jobs_tab.chart_frame(
        [[1000.25, 5, 10, None, None], [1001.15, 7, 11, None, None]], columns
    )
    assert short["seconds"].tolist() == [0.0, 0.9]


def test_a_long_jobs_charts_send_a_bounded_number_of_points_and_keep_its_peak():
    """A two-hour job sampled every second: its panel's charts (sent at every tick)
    get at most CHART_POINTS points, spanning the whole run, with the memory peak kept."""
    from studio.tabs import jobs as jobs_tab

    columns = ["t", "cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util"]
    samples = [[1000.0 + k, 50.0, 100.0 + (k == 4321) * 900, None, None] for k in range(7200)]
    frame = jobs_tab.chart_frame(samples, columns)
    assert len(frame) <= jobs_tab.CHART_POINTS
    assert frame["seconds"].iloc[0] == 0.0 and frame["seconds"].iloc[-1] > 7100
    assert frame["rss_mb"].max() == 1000.0 and frame["cpu_percent"].tolist() == [50.0] * len(frame)
    assert frame["seconds"].is_monotonic_increasing
    # the worker's charts: each lane thinned on its own, both lanes kept whole in time
    lanes = [
        ["cpu" if k % 2 else "gpu", 1000.0 + k // 2, 10.0 * (k % 2), 1.0, None, None]
        for k in range(1200)
    ]
    worker = jobs_tab.chart_frame(lanes, ["lane", *columns])
    for lane, mean in (("cpu", 10.0), ("gpu", 0.0)):
        mine = worker[worker["lane"] == lane]
        assert len(mine) <= jobs_tab.CHART_POINTS and mine["t"].min() == 1000.0
        assert mine["t"].max() > 1590 and set(mine["cpu_percent"]) == {mean}
    short = jobs_tab.chart_frame(samples[:100], columns)  # a short run: every sample
    assert len(short) == 100


def test_the_result_shows_file_names_not_server_paths(studio_home):
    from jobs.settings import get_settings

    home = str(get_settings().home.resolve())
    shown = job_panel.without_server_paths(
        {
            "output_dir": f"{home}/jobs/ab12/outputs",
            "names": {"mask": f"{home}/jobs/ab12/outputs/m.mp4"},
            "frames": [1, 2],
            "note": "/elsewhere/kept.txt",
        }
    )
    assert shown == {
        "output_dir": "outputs",
        "names": {"mask": "m.mp4"},
        "frames": [1, 2],
        "note": "/elsewhere/kept.txt",
    }
