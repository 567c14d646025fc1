"""Frame review tab → Review: the annotators' screen.

The queue of your recordings not yet confirmed by a reviewer; a frame viewer
stepped and scrubbed in the browser (``static/review.js``: the frame index is
held client-side, frames are fetched by index from the checked route
``/api/v1/review/<id>/frame/<n>`` with a signed link, cached and prefetched
around the cursor); candidate thumbnails (click to jump); mark first / last
(F, L) and Next (N) as Gradio events; notes; exclusion regions (two clicks
on the frame, or typed) with re-detection from the stored metrics; the
change curve and the history of every mark.
"""

from __future__ import annotations

import datetime as dt
import html
import json

import gradio as gr
import pandas as pd

from jobs.tools.frames import records as fr
from jobs.tools.frames import submit
from pipelines.errors import StudioError
from studio.api.frames import links
from studio.errors import ui_error
from studio.page_load import page_load
from studio.ui_user import current_user

HISTORY_COLUMNS = ["when", "user", "mark", "from", "to", "method", "notes"]


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def _video(video_id: str, request: gr.Request | None) -> fr.Video | None:
    """The caller's recording, or None for an empty id; another user's is 'not found'."""
    video_id = (video_id or "").strip()
    if not video_id:
        return None
    try:
        return fr.get_video(video_id, current_user(request))
    except StudioError as exc:
        raise ui_error(exc) from None


def pending_choices(request: gr.Request | None) -> list[tuple[str, str]]:
    return [
        (f"{v.filename} · {v.id} · conf {v.ai_confidence or 0:.2f}", v.id)
        for v in fr.list_pending(current_user(request), limit=200)
    ]


def refresh_queue(video_id: str, request: gr.Request):
    choices = pending_choices(request)
    ids = [c[1] for c in choices]
    note = f"{len(ids)} recording(s) to review" if ids else "Nothing left to review"
    return gr.update(choices=choices, value=video_id if video_id in ids else None), note


def marks_text(video: fr.Video | None) -> str:
    if video is None:
        return "Pick a recording to review."
    first = (
        "—"
        if video.first_frame is None
        else f"{video.first_frame} ({(video.first_time or 0) * 1000:.1f} ms)"
    )
    last = (
        "—"
        if video.last_frame is None
        else f"{video.last_frame} ({(video.last_time or 0) * 1000:.1f} ms)"
    )
    state = {
        "reviewed": f"reviewed by {video.reviewed_by}",
        "in_review": f"in review ({video.reviewed_by})",
    }
    return (
        f"First: **{first}** · Last: **{last}** · Latency: **{_ms(video.latency_ms)} ms** · method "
        f"{video.marking_method or '—'} · {state.get(video.review_status, 'not reviewed yet')}"
    )


def history_table(video: fr.Video | None, request: gr.Request | None) -> pd.DataFrame:
    rows = fr.history(video.id, current_user(request)) if video is not None else []
    when = [dt.datetime.fromtimestamp(h.at).strftime("%m-%d %H:%M:%S") for h in rows]
    return pd.DataFrame(
        [
            [
                w,
                h.user,
                h.which,
                "" if h.from_frame is None else h.from_frame,
                h.to_frame,
                h.method,
                h.notes,
            ]
            for w, h in zip(when, rows, strict=True)
        ],
        columns=HISTORY_COLUMNS,
    )


def curve_frame(video: fr.Video | None) -> pd.DataFrame:
    """The scene-change curve plus vertical lines at the first/last marks."""
    cols = ["time_ms", "value", "series"]
    if video is None or not video.analysed:
        return pd.DataFrame([], columns=cols)
    c = fr.change_curve(video)
    df = pd.DataFrame(
        {"time_ms": [t * 1000 for t in c["time"]], "value": c["change"], "series": "scene change"}
    )
    top = max(c["change"] or [0]) or 1.0
    marks = [("first mark", video.first_time), ("last mark", video.last_time)]
    lines = [[t * 1000, v, name] for name, t in marks if t is not None for v in (0.0, top)]
    return pd.concat([df, pd.DataFrame(lines, columns=cols)], ignore_index=True)


def viewer_html(video: fr.Video | None, token: str = "", start: int | None = None) -> str:
    """The browser viewer: the frame, the scrubber and ±1/±10. ``static/review.js``
    takes over from the data attributes (index, signed link, frame times)."""
    if video is None or not video.analysed or not video.frame_count:
        return "<div id='frames-viewer'><p>Pick a recording to review.</p></div>"
    n = video.frame_count
    start = max(0, min(n - 1, (video.first_frame or 0) if start is None else start))
    times = json.dumps([round(float(t), 6) for t in fr.frame_times(video.id)])
    src = f"api/v1/review/{video.id}/frame/{start}?max_side=720&t={token}"
    return (
        f"<div id='frames-viewer' data-video='{video.id}' data-n='{n}' data-start='{start}' "
        f"data-token='{token}' data-times='{times}'>"
        f"<div class='frames-stage'><img id='frames-img' alt='frame' src='{src}'><div id='frames-regions'></div>"
        f"</div><input type='range' id='frames-scrub' min='0' max='{n - 1}' step='1' value='{start}'>"
        "<div class='frames-bar'><button data-step='-10'>−10</button><button data-step='-1'>−1</button>"
        f"<span id='frames-pos'>Frame {start} · {n} frames</span>"
        "<button data-step='1'>+1</button><button data-step='10'>+10</button></div>"
        "<small id='frames-region-note'></small></div>"
    )


def candidates_html(video: fr.Video | None, token: str = "") -> str:
    """The detector's candidates for both marks as thumbnails; a click jumps the viewer there."""
    if video is None or not video.analysed:
        return ""

    def row(which: str) -> str:
        chosen = video.mark_frame(which)
        items = []
        for c in video.candidates(which):
            thumb = c.get("thumbnail")
            img = (
                f"<img alt='' src='api/v1/review/{video.id}/thumbs/{html.escape(thumb.rsplit('/', 1)[-1])}"
                f"?t={token}'>"
                if thumb
                else ""
            )
            cls = "frames-cand chosen" if c["index"] == chosen else "frames-cand"
            items.append(
                f"<button class='{cls}' data-index='{int(c['index'])}' title='{html.escape(c['reason'])}'>"
                f"{img}{int(c['index'])} · {c['score']:.2f}</button>"
            )
        return f"<div class='frames-cands' id='frames-{which}-candidates'><h4>{which}</h4>{''.join(items)}</div>"

    return row("first") + row("last")


def load_review(video_id: str, request: gr.Request):
    """Everything of the Review screen for one recording."""
    video = _video(video_id, request)
    if video is not None and not video.analysed:
        gr.Info(
            f"{video.filename} is {video.status}"
            + (f": {video.error}" if video.error else "; review it once the analysis is done.")
        )
        video = None
    if video is None:
        return (
            viewer_html(None),
            candidates_html(None),
            marks_text(None),
            curve_frame(None),
            history_table(None, request),
            "",
            "",
            "",
        )
    token = links.sign(video.id, current_user(request))
    rects = "\n".join(f"{r['x']},{r['y']},{r['w']},{r['h']}" for r in video.exclusions or [])
    warn = "; ".join(video.warnings or [])
    info = (
        f"**{html.escape(video.filename)}** · {video.width}×{video.height} · {video.frame_count} frames · "
        f"{video.fps or 0:.2f} fps · {video.duration or 0:.2f} s · detector confidence "
        f"{video.ai_confidence or 0:.2f}" + (f"  \n⚠ {html.escape(warn)}" if warn else "")
    )
    return (
        viewer_html(video, token),
        candidates_html(video, token),
        marks_text(video),
        curve_frame(video),
        history_table(video, request),
        video.notes,
        rects,
        info,
    )


def _mark(which: str, video_id: str, cursor: str, notes: str, request: gr.Request):
    video = _video(video_id, request)
    if video is None:
        raise gr.Error("Pick a recording to review first.", print_exception=False)
    try:
        index = int(str(cursor).strip())
    except ValueError:
        raise gr.Error(
            "No frame under the cursor: step to a frame first.", print_exception=False
        ) from None
    try:
        video = fr.mark(
            video.id, current_user(request), **{f"{which}_frame": index}, notes=notes or None
        )
    except StudioError as exc:
        raise ui_error(exc) from None
    gr.Info(f"{which.capitalize()} frame set to {index} · latency {_ms(video.latency_ms)} ms")
    return marks_text(video), history_table(video, request), curve_frame(video)


def mark_first(video_id: str, cursor: str, notes: str, request: gr.Request):
    return _mark("first", video_id, cursor, notes, request)


def mark_last(video_id: str, cursor: str, notes: str, request: gr.Request):
    return _mark("last", video_id, cursor, notes, request)


def save_notes(video_id: str, notes: str, request: gr.Request):
    video = _video(video_id, request)
    if video is None:
        raise gr.Error("Pick a recording to review first.", print_exception=False)
    try:
        video = fr.set_notes(video.id, current_user(request), notes)
    except StudioError as exc:
        raise ui_error(exc) from None
    gr.Info("Notes saved")
    return marks_text(video)


def next_video(video_id: str, request: gr.Request):
    """The next recording of the queue (not yet confirmed by a reviewer); says so when none is left."""
    ids = [v.id for v in fr.list_pending(current_user(request), limit=200)]
    others = [i for i in ids if i != (video_id or "").strip()]
    if not others:
        gr.Info("Nothing left to review: every recording has both marks confirmed.")
        return gr.update()
    return others[0]


def parse_rects(text: str) -> list[dict[str, float]]:
    from pipelines.frames import parse_exclusions

    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return [r.to_dict() for r in parse_exclusions(lines)]


def redetect(video_id: str, rects_text: str, request: gr.Request):
    video = _video(video_id, request)
    if video is None:
        raise gr.Error("Pick an analysed recording first.", print_exception=False)
    try:
        job = submit.submit_detect([video.id], current_user(request), parse_rects(rects_text))
    except ValueError as exc:
        raise ui_error(exc) from None
    gr.Info(
        "Detection queued (from the stored metrics, no decoding); reload the recording when it is done."
    )
    return job["id"]


def build(job_panel) -> None:
    with gr.Column(elem_id="frames-review"):
        with gr.Row(equal_height=True):
            pending = gr.Dropdown(
                label="To review (not yet confirmed)", choices=[], elem_id="frames-pending", scale=3
            )
            video_id = gr.Textbox(label="Recording id", elem_id="frames-review-id", scale=2)
            queue_note = gr.Markdown(elem_id="frames-queue-note")
            with gr.Column(scale=1, min_width=150):
                reload = gr.Button("Refresh queue", size="sm", elem_id="frames-refresh-queue")
                nxt = gr.Button("Next recording (N)", size="sm", elem_id="frames-next")
        info = gr.Markdown(elem_id="frames-review-info")
        with gr.Row():
            with gr.Column(scale=3):
                viewer = gr.HTML(viewer_html(None), elem_id="frames-viewer-box")
            with gr.Column(scale=2):
                gr.Markdown(
                    "<span class='frames-keys'><kbd>←</kbd>/<kbd>→</kbd> one frame · <kbd>Shift</kbd>+"
                    "<kbd>←</kbd>/<kbd>→</kbd> ten · <kbd>F</kbd> first · <kbd>L</kbd> last · "
                    "<kbd>N</kbd> next (not while typing)</span>"
                )
                with gr.Row():
                    first_btn = gr.Button(
                        "Mark first (F)", variant="primary", elem_id="frames-mark-first"
                    )
                    last_btn = gr.Button(
                        "Mark last (L)", variant="primary", elem_id="frames-mark-last"
                    )
                marks = gr.Markdown(marks_text(None), elem_id="frames-marks")
                cursor = gr.Textbox("0", elem_id="frames-cursor", show_label=False, container=False)
                candidates = gr.HTML("", elem_id="frames-cands-box")
                with gr.Row(equal_height=True):
                    notes = gr.Textbox(
                        label="Notes (saved with the next mark)",
                        lines=1,
                        max_lines=3,
                        elem_id="frames-notes",
                        scale=3,
                    )
                    save = gr.Button("Save notes", size="sm", scale=1)
                plot = gr.LinePlot(
                    x="time_ms",
                    y="value",
                    color="series",
                    title="Scene change and marks",
                    x_title="time (ms)",
                    y_title="change",
                    height=200,
                    elem_id="frames-curve",
                )
                with gr.Accordion("Exclusion regions (status-bar clock, spinners)", open=False):
                    gr.Markdown(
                        "Click two opposite corners on the frame to add a region, or type them."
                    )
                    rects = gr.Textbox(
                        label="Rectangles x,y,w,h (fractions 0..1), one per line",
                        lines=3,
                        elem_id="frames-exclusions",
                    )
                    redo = gr.Button(
                        "Re-detect with these regions", size="sm", elem_id="frames-redetect"
                    )
        with gr.Accordion("History of the marks", open=False):
            history = gr.Dataframe(
                headers=HISTORY_COLUMNS,
                interactive=False,
                elem_id="frames-history",
                wrap=True,
                column_widths=["14%", "10%", "8%", "10%", "10%", "10%", "38%"],
            )
        panel = job_panel("frames_detect", label="Detection job")

    loaded = [viewer, candidates, marks, plot, history, notes, rects, info]
    reload.click(refresh_queue, video_id, [pending, queue_note], api_name="frames_review_queue")
    page_load.add(refresh_queue, video_id, [pending, queue_note])
    pending.input(
        lambda v: v or gr.update(), pending, video_id, api_visibility="private", queue=False
    )
    video_id.change(load_review, video_id, loaded, api_name="frames_review_load")
    video_id.change(
        refresh_queue, video_id, [pending, queue_note], api_visibility="private", queue=False
    )
    nxt.click(next_video, video_id, video_id, api_name="frames_next")
    first_btn.click(
        mark_first, [video_id, cursor, notes], [marks, history, plot], api_name="frames_mark_first"
    )
    last_btn.click(
        mark_last, [video_id, cursor, notes], [marks, history, plot], api_name="frames_mark_last"
    )
    for button in (first_btn, last_btn):
        button.click(
            refresh_queue, video_id, [pending, queue_note], api_visibility="private", queue=False
        )
    save.click(save_notes, [video_id, notes], marks, api_name="frames_save_notes")
    redo.click(redetect, [video_id, rects], panel.job_id, api_name="frames_redetect")
