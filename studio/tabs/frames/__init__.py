"""Frame review tab (seed 001): measure app latency from screen recordings.

Sub-tabs, in the order a user works: **Upload & analyse** (:mod:`.upload`),
**Review** (:mod:`.review`, the annotators' screen, stepped in the browser),
**Tasks** (:mod:`.tasks`), **QR codes** (:mod:`.qr`). Every event names the
logged-in user; the records check the owner (``jobs.access``), so each user
sees and changes only their own recordings and tasks (admins: all).

The tab's stylesheet and the review viewer's script are static files next to
this module (``static/frames.css``, ``static/review.js``), handed to the page
through ``CSS`` and ``HEAD`` (``studio.server`` collects them).
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio.job_panel import job_panel
from studio.tabs.frames import qr, review, tasks, upload

STATIC = Path(__file__).parent / "static"
CSS = (STATIC / "frames.css").read_text(encoding="utf-8")
HEAD = f"<script>\n{(STATIC / 'review.js').read_text(encoding='utf-8')}\n</script>\n"


def build() -> None:
    with gr.Tabs():
        with gr.Tab("Upload & analyse", elem_id="tab-frames-upload"):
            upload.build(job_panel)
        with gr.Tab("Review", elem_id="tab-frames-review"):
            review.build(job_panel)
        with gr.Tab("Tasks", elem_id="tab-frames-tasks"):
            tasks.build(job_panel)
        with gr.Tab("QR codes", elem_id="tab-frames-qr"):
            qr.build(job_panel)
