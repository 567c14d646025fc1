"""Frame review tab → Upload & analyse: recordings (mp4, mov, webm, mkv) or a
server folder → one ``frames.analyze`` job per recording (CPU lane). The event
only keeps the files under ``STUDIO_HOME/media/frames/<video_id>/``; probing
and decoding happen in the job, so a broken file fails alone. The table of
your recordings refreshes itself only while one of them is being analysed."""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr
import pandas as pd

from jobs.tools.frames import records as fr
from jobs.tools.frames import submit
from pipelines import examples as example_media
from pipelines.errors import StudioError
from studio.api.frames.views import video_status
from studio.examples import examples
from studio.job_panel import visible_tabs
from studio.page_load import page_load
from studio.ui_user import current_user

VIDEO_COLUMNS = [
    "id",
    "file",
    "status",
    "step",
    "first",
    "last",
    "latency ms",
    "method",
    "reviewed by",
    "error",
]
POLL_S = 2.0


def _busy(videos: list[fr.Video]) -> bool:
    return any(v.status in ("uploading", "processing") for v in videos)


def videos_table(request: gr.Request | None):
    """The caller's recordings, and whether the table should keep refreshing (something is in the works)."""
    videos = fr.list_videos(current_user(request), limit=100)
    rows = []
    for v in videos:
        st = video_status(v, "")
        rows.append(
            [
                v.id,
                v.filename,
                st.status,
                f"{st.current_step or ''} {st.progress}%",
                v.first_frame,
                v.last_frame,
                v.latency_ms,
                v.marking_method or "",
                v.reviewed_by or "",
                st.error_message or "",
            ]
        )
    return pd.DataFrame(rows, columns=VIDEO_COLUMNS), gr.Timer(active=_busy(videos))


def analyse(files: list | None, folder: str, request: gr.Request):
    """Queue one analysis job per recording; returns (message, first job id, table, timer)."""
    user = current_user(request)
    batch_id = fr.new_id()
    queued: list[submit.Queued] = []
    problems: list[str] = []
    for f in files or []:
        path = Path(getattr(f, "name", f))
        try:
            queued.append(submit.add_saved_file(path, user, batch_id))
        except StudioError as exc:
            problems.append(f"{path.name}: {exc}")
    if folder and folder.strip():
        try:
            found, skipped = submit.add_server_recordings(folder, user, batch_id)
            queued += found
            problems += skipped
        except StudioError as exc:
            problems.append(str(exc))
    if not queued and not problems:
        gr.Warning("Choose recordings to upload or give a server folder.")
        return "", gr.update(), *videos_table(request)
    for p in problems:
        gr.Warning(p)
    ok = [q for q in queued if q.job_id]
    lines = [
        f"Queued {len(ok)} analysis job(s) (batch `{batch_id}`). Each recording is probed in its job; "
        "a broken file fails alone."
    ]
    lines += [f"- `{q.video_id}` {html.escape(q.filename)} → job `{q.job_id}`" for q in ok]
    lines += [f"- ⚠ {html.escape(p)}" for p in problems]
    lines += [
        f"- ⚠ {html.escape(q.filename)}: {html.escape(q.message)}" for q in queued if not q.job_id
    ]
    return "\n".join(lines), (ok[0].job_id if ok else gr.update()), *videos_table(request)


def build(job_panel) -> None:
    gr.Markdown(
        "Upload screen recordings (mp4, mov, webm, mkv) or name a server folder; each recording gets "
        "its own analysis job: metadata, per-frame brightness / sharpness / scene change, and the "
        "first/last frame with ranked candidates."
    )
    with gr.Row():
        files = gr.File(
            label="Recordings",
            file_count="multiple",
            elem_id="frames-files",
            file_types=list(fr.VIDEO_EXTENSIONS),
        )
        with gr.Column():
            folder = gr.Textbox(
                label="…or a file or folder on the server",
                info="Only folders the admin allowed can be read.",
                elem_id="frames-folder",
            )
            go = gr.Button("Analyse", variant="primary", elem_id="frames-analyse")
    examples(
        [files],
        lambda home: ([example_media.recording(home)],),
        label="Example: a screen recording of an app launch (click, then Analyse)",
        elem_id="frames-examples",
    )
    message = gr.Markdown(elem_id="frames-upload-message")
    with gr.Row():
        gr.Markdown("### Your recordings")
        refresh = gr.Button("Refresh", size="sm", scale=0)
    table = gr.Dataframe(
        headers=VIDEO_COLUMNS,
        interactive=False,
        elem_id="frames-videos",
        wrap=False,
        column_widths=["10%", "15%", "9%", "11%", "6%", "6%", "10%", "8%", "10%", "15%"],
    )
    timer = gr.Timer(POLL_S, active=False)
    visible_tabs.leave_alone(timer)  # videos_table stops it when idle
    panel = job_panel("frames", label="Analysis job")
    go.click(
        analyse, [files, folder], [message, panel.job_id, table, timer], api_name="frames_analyse"
    )
    refresh.click(videos_table, None, [table, timer], api_name="frames_videos")
    timer.tick(
        videos_table,
        None,
        [table, timer],
        api_visibility="private",
        show_progress="hidden",
        queue=False,
    )
    page_load.add(videos_table, None, [table, timer])  # starts the refresh, never stops it
