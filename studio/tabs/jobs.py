"""The Jobs tab (in the "Jobs / Monitor" tab, beside monitor's "Scenario runs"):
every job of every tool, the worker's live resources and its supervisor, the
worker diagnostics job. The list shows the caller's own jobs; an admin sees everyone's,
or one user's with the Owner filter."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import gradio as gr
import pandas as pd

from jobs import queue, store
from jobs.access import owner_filter
from jobs.kinds import KINDS, load_tools
from studio import health
from studio import job_panel as job_panel_module
from studio.job_panel import job_panel, visible_tabs
from studio.page_load import page_load
from studio.ui_user import current_user

CSS = job_panel_module.CSS  # the job panel's look, for every tab's panels

PAGE_SIZE = 20
LIST_POLL_S = 2.0  # the list and the worker charts while jobs are queued or running
LIST_IDLE_POLL_S = 10.0  # … and while nothing is
COLUMNS = ["id", "kind", "owner", "status", "stage", "progress", "created", "machine", "message"]


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%m-%d %H:%M:%S") if ts else ""


def machine_text(job: store.Job) -> str:
    """Where a job ran: its machine, and its GPUs when it had some."""
    host = job["host"] or ""
    return f"{host} · GPU {job['gpus']}" if host and job["gpus"] else host


def list_jobs(kind: str, status: str, owner: str, page: float, request: gr.Request):
    page = min(max(1, int(page or 1)), 10**6)
    owner = owner_filter(current_user(request), (owner or "").strip()[:100] or None)
    rows, total = store.list_jobs(
        kind=kind or None,
        status=status or None,
        owner=owner,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    table = pd.DataFrame(
        [
            [
                j["id"],
                j["kind"],
                j["owner"],
                j["status"],
                j["stage"] or "",
                f"{round(100 * (j['progress'] or 0))}%",
                _when(j["created_at"]),
                machine_text(j),
                j["error"] or j["message"] or "",
            ]
            for j in rows
        ],
        columns=COLUMNS,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    return table, f"{total} jobs · page {page} of {pages}"


def supervisor_text(keeper: dict | None) -> str:
    """One line on the app's worker supervisor ('' when the worker runs on its own)."""
    if keeper is None:
        return ""
    if keeper["state"] == "gave_up":
        return f"  \n<span class='worker-gave-up'>**Worker stopped: {keeper['message']}**</span>"
    line = f"  \n**Supervisor** worker {keeper['state']}"
    if keeper["restarts"]:
        when = _when(keeper["last_exit_at"])
        line += (
            f" · restarted {keeper['restarts']}× (last exit {keeper['last_exit_code']} at {when})"
        )
    return line


def refusal_text(refusal: str | None) -> str:
    """The records' refusal (SQLite written from another machine), or ''."""
    if not refusal:
        return ""
    return f"  \n<span class='worker-gave-up'>**Records refused: {refusal}**</span>"


GPU_TITLE = "GPU memory (MB, where NVML reports)"
JOB_GPU_TITLE = "Job GPU memory (MB)"
METRIC_COLUMNS = ("cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util")


# Points per line of a chart. A job samples itself at every heartbeat (1 s): a two-hour
# edit has 7,200 samples, sent three times at each tick of its panel, and every one of
# them is copied by the browser's event handling and drawn again (docs/architecture.md
# "Polling"); a chart a few hundred pixels wide shows no more than this.
CHART_POINTS = 240
# How a run of consecutive samples becomes one point: its first time, the mean load and
# the peak memory (a peak is what runs out).
_THINNED = {
    "t": "first",
    "cpu_percent": "mean",
    "gpu_util": "mean",
    "rss_mb": "max",
    "gpu_mem_mb": "max",
}


def thinned(frame: pd.DataFrame, points: int = CHART_POINTS) -> pd.DataFrame:
    """At most ``points`` rows per lane (or in all, without a ``lane`` column): each
    row stands for a run of consecutive samples (:data:`_THINNED`). Rows in time order."""
    lanes = frame["lane"] if "lane" in frame else pd.Series(0, index=frame.index)
    counts = lanes.map(lanes.value_counts())
    if frame.empty or counts.max() <= points:
        return frame
    step = -(-counts // points)  # ceil: samples per point, per lane
    runs = frame.assign(_run=frame.groupby(lanes, sort=False).cumcount() // step, _lane=lanes)
    how = {column: rule for column, rule in _THINNED.items() if column in frame}
    if "lane" in frame:
        how["lane"] = "first"
    out = runs.groupby(["_lane", "_run"], sort=False).agg(how).reset_index(drop=True)
    return out.sort_values("t", kind="stable").reset_index(drop=True)[list(frame.columns)]


def chart_frame(samples: list, columns: list[str]) -> pd.DataFrame:
    """Samples as a chart's data: numbers as floats (a missing value is a gap,
    not a "null" tick), at most :data:`CHART_POINTS` per line (:func:`thinned`), times
    as datetimes and as seconds since the first sample (a job's charts: a sub-second
    job's time axis would read ".900")."""
    frame = pd.DataFrame(samples or [], columns=columns)
    for column in METRIC_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["t"] = pd.to_numeric(frame["t"], errors="coerce").astype(float)
    frame = thinned(frame)
    frame["time"] = pd.to_datetime(frame["t"], unit="s")
    t = frame["t"]
    frame["seconds"] = (t - t.min()).round(2) if len(t) else t
    return frame


def _chart(frame: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The columns one chart draws (a line per lane when there are lanes)."""
    return frame[[x, y, *(["lane"] if "lane" in frame else [])]]


def gpu_chart(frame: pd.DataFrame, title: str):
    """The GPU chart, or an empty one titled "no GPU" when no sample has a GPU value."""
    if frame["gpu_mem_mb"].notna().any():
        return gr.update(value=frame, title=title)
    return gr.update(value=frame.iloc[0:0], title=f"{title} — no GPU")


def _lane_name(lane: dict) -> str:
    return f"{lane['lane']} {lane['gpu']}" if lane["gpu"] else lane["lane"]


def _lane_text(lane: dict, shared: bool = False) -> str:
    """A lane process on its machine's line; ``shared``: other processes of the machine
    have its name (STUDIO_CPU_WORKERS CPU lanes), so its pid tells them apart."""
    name = _lane_name(lane) + (f" (pid {lane['pid']})" if shared else "")
    load = lane["load"]
    parts = [f"{name}{'' if lane['alive'] else ' DOWN'}"]
    if load.get("cpu_percent") is not None:
        parts.append(f"CPU {load['cpu_percent']:.0f}%")
    if load.get("gpu_util") is not None:
        parts.append(f"GPU {load['gpu_util']:.0f}%")
    if load.get("jobs"):
        parts.append(f"{load['jobs']} running")
    parts.append(f"beat {lane['heartbeat_age_s']:.1f} s ago")
    return " ".join(parts)


def machines_text(machines: list[dict]) -> str:
    """One line per machine: its lanes, each with its GPU, load and last beat."""
    lines = []
    for machine in machines:
        state = "" if machine["alive"] else " (no heartbeat)"
        names = Counter(_lane_name(lane) for lane in machine["lanes"])
        lanes = " · ".join(
            _lane_text(lane, names[_lane_name(lane)] > 1) for lane in machine["lanes"]
        )
        lines.append(f"  \n**Machine {machine['host']}**{state}: {lanes}")
    return "".join(lines)


def worker_view():
    info = health.health()
    lanes = " · ".join(
        f"{lane}: {'alive' if ok else 'DOWN'}" for lane, ok in info["worker"]["lanes"].items()
    )
    queued = " · ".join(
        f"{lane} {n} queued / {info['running'][lane]} running" for lane, n in info["queues"].items()
    )
    age = info["worker"]["heartbeat_age_s"]
    text = (
        f"**Worker** {lanes} · heartbeat {age if age is not None else '—'} s ago  \n**Queues** {queued}"
        + machines_text(info["machines"])
        + supervisor_text(info["worker"]["supervisor"])
        + refusal_text(info["records"]["refused"])
    )
    frame = chart_frame(
        health.worker_samples(300), ["lane", "t", "cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util"]
    )
    return (
        text,
        _chart(frame, "time", "cpu_percent"),
        _chart(frame, "time", "rss_mb"),
        gpu_chart(_chart(frame, "time", "gpu_mem_mb"), GPU_TITLE),
    )


def job_timeline(job_id: str, request: gr.Request):
    job = store.find_job(job_id, current_user(request))
    samples = store.job_samples(job["id"]) if job else []
    frame = chart_frame(samples, ["t", "cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util"])
    return (
        _chart(frame, "seconds", "cpu_percent"),
        _chart(frame, "seconds", "rss_mb"),
        gpu_chart(_chart(frame, "seconds", "gpu_mem_mb"), JOB_GPU_TITLE),
    )


def pick_job(table: pd.DataFrame, evt: gr.SelectData):
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return str(table.iloc[row]["id"])


def run_diagnostics(request: gr.Request) -> str:
    return queue.submit("system.diagnostics", {}, owner=current_user(request).name)["id"]


def refresh(kind: str, status: str, owner: str, page: float, idle_s: float, request: gr.Request):
    """The list, the worker line and its charts in one request; every
    LIST_POLL_S while jobs are queued or running, slower (×2 up to
    LIST_IDLE_POLL_S) while nothing is."""
    table, summary = list_jobs(kind, status, owner, page, request)
    text, cpu, mem, gpu = worker_view()
    busy = bool(
        sum(store.count_by_lane("queued").values()) + sum(store.count_by_lane("running").values())
    )
    interval = (
        LIST_POLL_S if busy else min(LIST_IDLE_POLL_S, max(LIST_POLL_S, 2 * float(idle_s or 0)))
    )
    # the pace only: a tick answered after the tab was left must not restart it
    return table, summary, text, cpu, mem, gpu, gr.Timer(value=interval), interval


def first_view(kind: str, status: str, owner: str, page: float, request: gr.Request):
    """The list, the worker line and its charts as the page opens (the timer, paused
    while another tab is shown, keeps them fresh from then on)."""
    return *list_jobs(kind, status, owner, page, request), *worker_view()


def build_jobs() -> None:
    load_tools()
    with gr.Row():
        worker_md = gr.Markdown("Worker: …", elem_id="worker-status")
        diagnostics = gr.Button(
            "Run worker diagnostics", variant="primary", elem_id="run-diagnostics", scale=0
        )
        worker_api = gr.Button(
            "Worker status", visible=False
        )  # the /worker_status endpoint for scripts
    with gr.Row():
        cpu_plot = gr.LinePlot(
            x="time",
            y="cpu_percent",
            color="lane",
            title="Worker CPU %",
            elem_id="worker-cpu",
            height=220,
            y_lim=[0, None],
        )
        mem_plot = gr.LinePlot(
            x="time",
            y="rss_mb",
            color="lane",
            title="Worker memory (MB)",
            elem_id="worker-memory",
            height=220,
            y_lim=[0, None],
        )
        gpu_plot = gr.LinePlot(
            x="time",
            y="gpu_mem_mb",
            color="lane",
            title=GPU_TITLE,
            height=220,
            elem_id="worker-gpu",
            y_lim=[0, None],
        )
    with gr.Row():
        kind = gr.Dropdown(["", *sorted(KINDS)], value="", label="Kind")
        status = gr.Dropdown(["", *store.STATUSES], value="", label="Status")
        owner = gr.Textbox(
            label="Owner (admins)",
            max_length=100,
            info="Admins: one user's jobs. Others always see their own.",
        )
        page = gr.Number(value=1, precision=0, minimum=1, label="Page")
        refresh_btn = gr.Button("Refresh", size="sm", scale=0)
    summary = gr.Markdown()
    table = gr.Dataframe(
        headers=COLUMNS,
        interactive=False,
        elem_id="jobs-table",
        wrap=True,
        column_widths=["9%", "13%", "8%", "8%", "10%", "9%", "11%", "10%", "22%"],
    )
    gr.Markdown("Select a row to see the job.")
    job_plot = {"x": "seconds", "x_title": "seconds since start", "height": 200, "render": False}
    job_cpu = gr.LinePlot(y="cpu_percent", title="Job CPU %", y_lim=[0, None], **job_plot)
    job_mem = gr.LinePlot(y="rss_mb", title="Job memory (MB)", y_lim=[0, None], **job_plot)
    job_gpu = gr.LinePlot(y="gpu_mem_mb", title=JOB_GPU_TITLE, y_lim=[0, None], **job_plot)
    panel = job_panel(
        "jobs", label="Selected job", extra=(job_timeline, [job_cpu, job_mem, job_gpu])
    )
    with gr.Row():
        for plot in (job_cpu, job_mem, job_gpu):
            plot.render()

    filters = [kind, status, owner, page]
    idle = gr.State(0.0)
    timer = gr.Timer(LIST_POLL_S)
    timer.tick(
        refresh,
        [*filters, idle],
        [table, summary, worker_md, cpu_plot, mem_plot, gpu_plot, timer, idle],
        api_visibility="private",
        show_progress="hidden",
        queue=False,
    )
    visible_tabs.poll_while_shown(timer)
    page_load.add(first_view, filters, [table, summary, worker_md, cpu_plot, mem_plot, gpu_plot])
    worker_api.click(
        worker_view, None, [worker_md, cpu_plot, mem_plot, gpu_plot], api_name="worker_status"
    )
    refresh_btn.click(list_jobs, filters, [table, summary], api_name="jobs_list")
    for control in filters:
        control.change(
            list_jobs, filters, [table, summary], api_visibility="private", show_progress="hidden"
        )
    table.select(pick_job, table, panel.job_id, api_visibility="private")
    diagnostics.click(run_diagnostics, None, panel.job_id, api_name="run_diagnostics")
