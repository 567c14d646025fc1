"""Jobs / Monitor tab: every job of every tool, the worker's live resources,
the worker diagnostics job, and scenario runs with monitoring."""

from __future__ import annotations

import datetime as dt

import gradio as gr
import pandas as pd

from jobs import queue, store
from jobs.kinds import KINDS, load_tools
from studio import health
from studio.job_panel import job_panel
from studio.ui_user import current_user

PAGE_SIZE = 20
COLUMNS = ["id", "kind", "owner", "status", "stage", "progress", "created", "message"]


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%m-%d %H:%M:%S") if ts else ""


def list_jobs(kind: str, status: str, owner: str, page: float):
    page = max(1, int(page or 1))
    rows, total = store.list_jobs(kind=kind or None, status=status or None, owner=(owner or "").strip() or None,
                                  limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    table = pd.DataFrame([[j["id"], j["kind"], j["owner"], j["status"], j["stage"] or "",
                           f"{round(100 * (j['progress'] or 0))}%", _when(j["created_at"]),
                           j["error"] or j["message"] or ""] for j in rows], columns=COLUMNS)
    pages = max(1, -(-total // PAGE_SIZE))
    return table, f"{total} jobs · page {page} of {pages}"


def worker_view():
    info = health.health()
    lanes = " · ".join(f"{lane}: {'alive' if ok else 'DOWN'}" for lane, ok in info["worker"]["lanes"].items())
    queued = " · ".join(f"{lane} {n} queued / {info['running'][lane]} running" for lane, n in info["queues"].items())
    age = info["worker"]["heartbeat_age_s"]
    text = f"**Worker** {lanes} · heartbeat {age if age is not None else '—'} s ago  \n**Queues** {queued}"
    samples = health.worker_samples(300)
    frame = pd.DataFrame(samples or [], columns=["lane", "t", "cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util"])
    frame["time"] = pd.to_datetime(frame["t"], unit="s")
    return text, frame, frame, frame


def job_timeline(job_id: str):
    samples = store.job_samples(job_id.strip()) if job_id and job_id.strip() else []
    frame = pd.DataFrame(samples or [], columns=["t", "cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util"])
    frame["time"] = pd.to_datetime(frame["t"], unit="s")
    return frame, frame, frame


def pick_job(table: pd.DataFrame, evt: gr.SelectData):
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return str(table.iloc[row]["id"])


def run_diagnostics(request: gr.Request) -> str:
    return queue.submit("system.diagnostics", {}, owner=current_user(request).name)["id"]


def build() -> None:
    from studio.tabs import monitor

    with gr.Tabs():
        with gr.Tab("Jobs", elem_id="tab-jobs-list"):
            build_jobs()
        with gr.Tab("Scenario runs", elem_id="tab-scenarios"):
            monitor.build()


def build_jobs() -> None:
    load_tools()
    with gr.Row():
        worker_md = gr.Markdown("Worker: …", elem_id="worker-status")
        diagnostics = gr.Button("Run worker diagnostics", variant="primary", elem_id="run-diagnostics", scale=0)
    with gr.Row():
        cpu_plot = gr.LinePlot(x="time", y="cpu_percent", color="lane", title="Worker CPU %", height=220)
        mem_plot = gr.LinePlot(x="time", y="rss_mb", color="lane", title="Worker memory (MB)", height=220)
        gpu_plot = gr.LinePlot(x="time", y="gpu_mem_mb", color="lane", title="GPU memory (MB, where NVML reports)",
                               height=220)
    with gr.Row():
        kind = gr.Dropdown(["", *sorted(KINDS)], value="", label="Kind")
        status = gr.Dropdown(["", *store.STATUSES], value="", label="Status")
        owner = gr.Textbox(label="Owner")
        page = gr.Number(value=1, precision=0, minimum=1, label="Page")
        refresh = gr.Button("Refresh", size="sm", scale=0)
    summary = gr.Markdown()
    table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="jobs-table", wrap=True)
    gr.Markdown("Select a row to see the job.")
    panel = job_panel("jobs", label="Selected job")
    with gr.Row():
        job_cpu = gr.LinePlot(x="time", y="cpu_percent", title="Job CPU %", height=200)
        job_mem = gr.LinePlot(x="time", y="rss_mb", title="Job memory (MB)", height=200)
        job_gpu = gr.LinePlot(x="time", y="gpu_mem_mb", title="Job GPU memory (MB)", height=200)

    filters = [kind, status, owner, page]
    timer = gr.Timer(2.0)
    timer.tick(list_jobs, filters, [table, summary], api_visibility="private", show_progress="hidden", queue=False)
    timer.tick(worker_view, None, [worker_md, cpu_plot, mem_plot, gpu_plot], api_name="worker_status",
               show_progress="hidden", queue=False)
    refresh.click(list_jobs, filters, [table, summary], api_name="jobs_list")
    for control in filters:
        control.change(list_jobs, filters, [table, summary], api_visibility="private", show_progress="hidden")
    gr.on([panel.timer.tick, panel.job_id.change], job_timeline, panel.job_id, [job_cpu, job_mem, job_gpu],
          api_visibility="private", show_progress="hidden", queue=False)
    table.select(pick_job, table, panel.job_id, api_visibility="private")
    diagnostics.click(run_diagnostics, None, panel.job_id, api_name="run_diagnostics")
