"""Frame review tab → Tasks: group your recordings, statistics, CSV/XLSX
export (a ``frames.export`` job), exclusion regions for all of a task's
recordings (a ``frames.detect`` job)."""

from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from jobs.tools.frames import records as fr
from jobs.tools.frames import submit
from jobs.tools.frames import tasks as fr_tasks
from pipelines.errors import StudioError
from studio.errors import ui_error
from studio.page_load import page_load
from studio.tabs.frames.review import parse_rects
from studio.ui_user import current_user

TASK_VIDEO_COLUMNS = [
    "order",
    "id",
    "file",
    "status",
    "first",
    "last",
    "latency ms",
    "method",
    "reviewer",
]


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def task_choices(request: gr.Request | None) -> list[tuple[str, str]]:
    return [
        (f"{t.name} · {t.id}", t.id) for t in fr_tasks.list_tasks(current_user(request), limit=500)
    ]


def video_choices(request: gr.Request | None) -> list[tuple[str, str]]:
    return [
        (f"{v.filename} · {v.id} · {v.status}", v.id)
        for v in fr.list_videos(current_user(request), limit=500)
    ]


def refresh_choices(task_id: str | None, request: gr.Request):
    # No task picked: the value is left alone (sending None again would fire the
    # dropdown's change event, and the task view's refresh, at every page load).
    picked = {} if task_id is None else {"value": task_id}
    return gr.update(choices=task_choices(request), **picked), gr.update(
        choices=video_choices(request)
    )


def initial_choices(request: gr.Request):
    return refresh_choices(None, request)


def task_view(task_id: str, request: gr.Request):
    empty = pd.DataFrame([], columns=TASK_VIDEO_COLUMNS)
    if not task_id:
        return "Pick or create a task.", empty, "", ""
    user = current_user(request)
    try:
        task = fr_tasks.get_task(task_id, user)
    except StudioError as exc:
        return str(exc), empty, "", ""
    s = fr_tasks.task_statistics(task_id, user)
    stats = (
        f"**{html.escape(task.name)}** · {s['count']} recordings · {s['completed']} analysed "
        f"({s['reviewed']} reviewed) · {s['failed']} failed · {s['processing']} being analysed  \n"
        f"first→last over {s['measured']} measured: avg **{_ms(s['avg_ms'])} ms** · min {_ms(s['min_ms'])} · "
        f"max {_ms(s['max_ms'])} · p50 {_ms(s['p50_ms'])} · p90 {_ms(s['p90_ms'])} ms · "
        f"frames avg {s['avg_frames'] if s['avg_frames'] is not None else '—'}"
    )
    rows = [
        [
            r["order"],
            r["video_id"],
            r["video"],
            r["status"],
            r["first_frame"],
            r["last_frame"],
            None
            if r["first_time"] is None or r["last_time"] is None
            else round((r["last_time"] - r["first_time"]) * 1000, 1),
            r["marking_method"],
            r["reviewer"],
        ]
        for r in fr_tasks.task_stats_rows(task_id, user)
    ]
    rects = "\n".join(f"{r['x']},{r['y']},{r['w']},{r['h']}" for r in task.exclusions or [])
    return stats, pd.DataFrame(rows, columns=TASK_VIDEO_COLUMNS), task.description, rects


def _run(fn, *args):
    try:
        return fn(*args)
    except StudioError as exc:
        raise ui_error(exc) from None


def _need_task(task_id: str) -> None:
    if not task_id:
        raise gr.Error("Pick a task first.", print_exception=False)


def create_task(name: str, description: str, request: gr.Request):
    task = _run(fr_tasks.create_task, name, current_user(request), description)
    gr.Info(f"Task {task.name} created")
    return gr.update(choices=task_choices(request), value=task.id)


def rename_task(task_id: str, name: str, description: str, request: gr.Request):
    _need_task(task_id)
    _run(fr_tasks.update_task, task_id, current_user(request), name or None, description)
    return gr.update(choices=task_choices(request), value=task_id)


def delete_task(task_id: str, request: gr.Request):
    _need_task(task_id)
    _run(fr_tasks.delete_task, task_id, current_user(request))
    gr.Info("Task deleted; its recordings are kept.")
    return gr.update(choices=task_choices(request), value=None)


def add_to_task(task_id: str, video_ids: list[str] | None, request: gr.Request):
    if not task_id or not video_ids:
        raise gr.Error("Pick a task and the recordings to add.", print_exception=False)
    result = _run(fr_tasks.add_videos, task_id, current_user(request), list(video_ids))
    for f in result["failed_videos"]:
        gr.Warning(f"{f['video_id']}: {f['reason']}")
    return task_view(task_id, request)


def remove_from_task(task_id: str, video_ids: list[str] | None, request: gr.Request):
    _need_task(task_id)
    for vid in video_ids or []:
        _run(fr_tasks.remove_video, task_id, current_user(request), vid)
    return task_view(task_id, request)


def order_task(task_id: str, order_text: str, request: gr.Request):
    _need_task(task_id)
    ids = [p.strip() for p in (order_text or "").replace(",", " ").split() if p.strip()]
    _run(fr_tasks.order_videos, task_id, current_user(request), ids)
    return task_view(task_id, request)


def export_task(task_id: str, fmt: str, request: gr.Request):
    _need_task(task_id)
    return _run(submit.submit_export, task_id, current_user(request), fmt)["id"]


def redetect_task(task_id: str, rects_text: str, request: gr.Request):
    _need_task(task_id)
    try:
        rects = parse_rects(rects_text)
    except ValueError as exc:
        raise ui_error(exc) from None
    return _run(submit.submit_task_detect, task_id, current_user(request), rects)["id"]


def build(job_panel) -> None:
    with gr.Row():
        task = gr.Dropdown(label="Task", choices=[], elem_id="frames-task", scale=3)
        refresh = gr.Button("Refresh", size="sm", scale=0)
    stats = gr.Markdown("Pick or create a task.", elem_id="frames-task-stats")
    with gr.Row():
        name = gr.Textbox(label="Name", elem_id="frames-task-name", max_length=fr_tasks.NAME_MAX)
        description = gr.Textbox(label="Description", max_length=fr_tasks.DESCRIPTION_MAX)
        with gr.Column(min_width=140):
            create = gr.Button(
                "Create task", variant="primary", size="sm", elem_id="frames-task-create"
            )
            rename = gr.Button("Rename / describe", size="sm")
            delete = gr.Button("Delete task (keeps recordings)", variant="stop", size="sm")
    with gr.Row():
        videos = gr.Dropdown(
            label="Recordings", choices=[], multiselect=True, elem_id="frames-task-videos", scale=3
        )
        with gr.Column(min_width=140):
            add = gr.Button("Add to task", size="sm", elem_id="frames-task-add")
            remove = gr.Button("Remove from task", size="sm")
    with gr.Row():
        order = gr.Textbox(label="Order: recording ids, first to last", scale=3)
        order_btn = gr.Button("Apply order", size="sm", scale=0)
    table = gr.Dataframe(
        headers=TASK_VIDEO_COLUMNS,
        interactive=False,
        elem_id="frames-task-table",
        wrap=False,
        column_widths=["7%", "14%", "19%", "11%", "7%", "7%", "11%", "10%", "14%"],
    )
    with gr.Row():
        fmt = gr.Radio(["excel", "csv"], value="excel", label="Export format")
        export = gr.Button("Export", elem_id="frames-task-export")
    with gr.Accordion("Exclusion regions for every recording of the task", open=False):
        rects = gr.Textbox(label="Rectangles x,y,w,h (fractions 0..1), one per line", lines=3)
        redo = gr.Button("Re-detect the task's recordings", size="sm")
    panel = job_panel("frames_tasks", label="Export / detection job")

    shown = [stats, table, description, rects]

    refresh.click(refresh_choices, task, [task, videos], api_name="frames_tasks_refresh")
    page_load.add(initial_choices, None, [task, videos])
    task.change(task_view, task, shown, api_name="frames_task")
    create.click(create_task, [name, description], task, api_name="frames_task_create")
    rename.click(rename_task, [task, name, description], task, api_name="frames_task_update")
    delete.click(delete_task, task, task, api_name="frames_task_delete")
    add.click(add_to_task, [task, videos], shown, api_name="frames_task_add")
    remove.click(remove_from_task, [task, videos], shown, api_name="frames_task_remove")
    order_btn.click(order_task, [task, order], shown, api_name="frames_task_order")
    export.click(export_task, [task, fmt], panel.job_id, api_name="frames_task_export")
    redo.click(redetect_task, [task, rects], panel.job_id, api_name="frames_task_redetect")
