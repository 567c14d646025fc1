"""The job panel every tool tab embeds: progress bar, stage, ETA, log tail,
output files, cancel and retry. It polls the job record with ``gr.Timer``;
the job id lives in a textbox (not in browser state), so the user can paste
an id, reload the page, or come back later."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from typing import Any

import gradio as gr

from jobs import queue, store
from studio.ui_user import current_user


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m {seconds % 60:02d}s"


def status_html(job: dict[str, Any] | None) -> str:
    if job is None:
        return "<div class='job-status'>No job selected.</div>"
    pct = round(100 * (job["progress"] or 0))
    rows = [
        ("Job", f"{job['id']} · {job['kind']} · {job['owner']}"),
        ("Status", f"<b class='status-{job['status']}'>{job['status']}</b>"
                   + (f" · attempt {job['attempts']}/{job['max_attempts']}" if job["attempts"] else "")),
        ("Stage", job.get("stage") or "—"),
        ("Item", job.get("item") or "—"),
        ("ETA", _fmt_eta(job.get("eta_s")) if job["status"] == "running" else "—"),
        ("Message", job.get("message") or "—"),
    ]
    if job.get("error"):
        rows.append(("Error", f"<span class='job-error'>{html.escape(job['error'])}</span>"))
    body = "".join(f"<tr><th>{k}</th><td>{v if k in ('Status', 'Error') else html.escape(str(v))}</td></tr>"
                   for k, v in rows)
    return (f"<div class='job-status' data-status='{job['status']}'>"
            f"<progress max='100' value='{pct}' style='width:100%'></progress> <span>{pct}%</span>"
            f"<table>{body}</table></div>")


def output_files(job: dict[str, Any] | None) -> list[str]:
    if not job:
        return []
    folder = store.job_dir(job["id"])
    return [str(folder / name) for name in job["outputs"].get("files", []) if (folder / name).is_file()]


def read_job(job_id: str) -> dict[str, Any] | None:
    job_id = (job_id or "").strip()
    if not job_id:
        return None
    try:
        return store.get_job(job_id)
    except store.JobNotFound:
        return None


@dataclass
class JobPanel:
    job_id: gr.Textbox
    status: gr.HTML
    log: gr.Textbox
    files: gr.File
    result: gr.JSON
    cancel: gr.Button
    retry: gr.Button
    timer: gr.Timer


def render(job_id: str):
    job = read_job(job_id)
    if job_id and job is None:
        return (f"<div class='job-status'>No job with id {html.escape(job_id)}.</div>", "", [], None,
                gr.update(interactive=False), gr.update(interactive=False))
    log = store.read_log(job["id"], tail=60) if job else ""
    result = {k: v for k, v in job["outputs"].items() if k != "files"} if job else None
    active = bool(job) and job["status"] not in store.FINAL
    return (status_html(job), log, output_files(job), result or None,
            gr.update(interactive=active), gr.update(interactive=bool(job) and job["status"] in ("failed", "cancelled")))


def _act(action, job_id: str, request: gr.Request):
    user = current_user(request)
    try:
        action(job_id.strip(), user=user.name, is_admin=user.is_admin)
    except (store.JobNotFound, store.JobStateError, PermissionError) as exc:
        gr.Warning(str(exc))
    return render(job_id)


def _restore(current: str, remembered: str, done: bool):
    if done or current or not remembered:
        return gr.update(), True
    return remembered, True


def _cancel(job_id: str, request: gr.Request):
    return _act(queue.cancel, job_id, request)


def _retry(job_id: str, request: gr.Request):
    return _act(queue.retry, job_id, request)


def job_panel(name: str, label: str = "Job", poll_s: float = 1.0) -> JobPanel:
    """Build the panel inside the current Blocks context. ``name`` prefixes
    the panel's API endpoints (e.g. ``frames_job_status``)."""
    with gr.Group(elem_classes=["job-panel"]):
        job_id = gr.Textbox(label=f"{label} id", placeholder="submit a job, or paste a job id",
                            elem_id=f"{name}-job-id")
        status = gr.HTML(status_html(None), elem_id=f"{name}-job-status")
        result = gr.JSON(label="Result", visible=True)
        with gr.Row():
            cancel = gr.Button("Cancel", variant="stop", size="sm", interactive=False, elem_id=f"{name}-cancel")
            retry = gr.Button("Retry", size="sm", interactive=False, elem_id=f"{name}-retry")
        files = gr.File(label="Outputs", file_count="multiple", interactive=False, height=120)
        log = gr.Textbox(label="Log (tail)", lines=8, max_lines=12, autoscroll=True, interactive=False)
    timer = gr.Timer(poll_s)
    # The browser remembers only the id of the panel's last job, so a reload
    # (or coming back tomorrow) shows it again; the work itself is on the server.
    last_job = gr.BrowserState("", storage_key=f"studio-{name}-last-job")
    outputs = [status, log, files, result, cancel, retry]
    panel = JobPanel(job_id, status, log, files, result, cancel, retry, timer)
    timer.tick(render, job_id, outputs, api_visibility="private", show_progress="hidden", queue=False)
    job_id.change(render, job_id, outputs, api_name=f"{name}_job_status", show_progress="hidden")
    job_id.change(lambda value: value, job_id, last_job, api_visibility="private", queue=False)
    # Tabs render their contents when first shown, and the panel's timer starts
    # with them: its first tick puts the remembered job id back.
    restored = gr.State(False)
    timer.tick(_restore, [job_id, last_job, restored], [job_id, restored], api_visibility="private",
               show_progress="hidden", queue=False)
    cancel.click(_cancel, job_id, outputs, api_name=f"{name}_job_cancel")
    retry.click(_retry, job_id, outputs, api_name=f"{name}_job_retry")
    return panel
