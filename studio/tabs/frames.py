"""Frame review tab (seed 001): measure app latency from screen recordings.

Sub-tabs, in the order a user works:

- **Upload & analyse**: recordings (mp4, mov, webm, mkv) or a server folder →
  one ``frames.analyze`` job per recording (CPU lane). The request only saves
  the files under ``STUDIO_HOME/media/frames/<video_id>/`` (size limit from the
  settings); probing and decoding happen in the job, so a corrupt file fails
  its own job with a message and the others go on.
- **Review** (the annotators' screen): the queue of recordings that need a
  reviewer; a frame viewer with a slider, ±1/±10 steps and keyboard shortcuts
  (←/→ one frame, Shift+←/→ ten, F mark first, L mark last, N next recording;
  ignored while typing in a field); the scene-change curve with the marks;
  candidate galleries (click one to jump to it); notes; exclusion rectangles
  (re-detection from the stored metrics, a quick job); the history of every mark.
- **Tasks**: group recordings, statistics, CSV/XLSX export (a ``frames.export`` job).
- **QR codes**: simple, artistic and animated QR codes (``frames.qr`` jobs).

Frame images in the viewer are read in the request: ONE frame per event
(``jobs.tools.frames.records.frame_image``: a seek to the keyframe before it and a few
decodes, through a small per-process LRU of open readers). That is bounded
I/O, like serving a thumbnail; anything that scans a whole recording is a job.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import shutil
from pathlib import Path

import gradio as gr
import pandas as pd

from jobs.tools.frames import records as fr
from jobs import queue, store
from jobs.inputs import InputError, check_size, server_path
from studio.job_panel import job_panel
from studio.ui_user import current_user

VIEW_SIDE = 720  # longer side of the viewer image (px)
VIDEO_COLUMNS = ["id", "file", "status", "step", "first", "last", "latency ms", "method", "reviewed by", "error"]
HISTORY_COLUMNS = ["when", "user", "mark", "from", "to", "method", "notes"]
TASK_VIDEO_COLUMNS = ["order", "id", "file", "status", "first", "last", "latency ms", "method", "reviewer"]

CSS = """
#frames-marks { font-size: 1.05em; }
#frames-frame img { object-fit: contain; }
.frames-keys kbd { border: 1px solid var(--border-color-primary); border-radius: 3px; padding: 0 4px; }
"""

# Keyboard shortcuts of the Review sub-tab: they click the buttons by elem_id,
# only while the Review panel is visible and never while the user types.
HEAD = """
<script>
(function () {
  if (window.__framesKeys) return;
  window.__framesKeys = true;
  document.addEventListener('keydown', function (e) {
    var t = e.target, tag = (t && t.tagName || '').toLowerCase();
    if (tag === 'input' || tag === 'textarea' || tag === 'select' || (t && t.isContentEditable)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var panel = document.getElementById('frames-review');
    if (!panel || panel.offsetParent === null) return;
    var id = null, k = (e.key || '').toLowerCase();
    if (e.key === 'ArrowLeft') id = e.shiftKey ? 'frames-back10' : 'frames-back1';
    else if (e.key === 'ArrowRight') id = e.shiftKey ? 'frames-fwd10' : 'frames-fwd1';
    else if (k === 'f') id = 'frames-mark-first';
    else if (k === 'l') id = 'frames-mark-last';
    else if (k === 'n') id = 'frames-next';
    if (!id) return;
    var el = document.getElementById(id);
    var button = el && (el.tagName === 'BUTTON' ? el : el.querySelector('button'));
    if (!button) return;
    e.preventDefault();
    button.click();
  });
})();
</script>
"""


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%m-%d %H:%M:%S") if ts else ""


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


# -- Upload & analyse -------------------------------------------------------------------

def videos_table() -> pd.DataFrame:
    from studio.api.frames import video_status

    rows = []
    for v in fr.list_videos(limit=100):
        s = video_status(v)
        rows.append([v["id"], v["filename"], s["status"], f"{s['current_step'] or ''} {s['progress']}%",
                     v["first_frame"], v["last_frame"], fr.latency_ms(v), v["marking_method"] or "",
                     v["reviewed_by"] or "", s["error_message"] or ""])
    return pd.DataFrame(rows, columns=VIDEO_COLUMNS)


def _save_into_media(source: Path, owner: str, batch_id: str) -> dict:
    """Keep an uploaded file under media/frames/<id>/ (a hard link when possible) and record it."""
    check_size(source)
    video_id = fr.new_id()
    name = fr.check_filename(source.name)
    target = fr.video_dir(video_id) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return fr.create_video(name, owner, video_id=video_id, path=target, batch_id=batch_id)


def analyse(files: list | None, folder: str, request: gr.Request):
    """Queue one analysis job per recording; returns (message, first job id, table)."""
    from studio.api.frames import _submit_analysis

    user = current_user(request).name
    batch_id = fr.new_id()
    queued, problems = [], []
    for f in files or []:
        path = Path(getattr(f, "name", f))
        try:
            queued.append(_submit_analysis(_save_into_media(path, user, batch_id), user))
        except (InputError, fr.FrameInputError) as exc:
            problems.append(f"{path.name}: {exc}")
    if folder and folder.strip():
        try:
            root = server_path(folder)
            sources = [root] if root.is_file() else sorted(
                p for p in root.iterdir() if p.is_file() and p.suffix.lower() in fr.VIDEO_EXTENSIONS)
            if not sources:
                problems.append(f"{folder}: no recordings ({', '.join(fr.VIDEO_EXTENSIONS)}) in this folder.")
            for source in sources:
                video = fr.create_video(source.name, user, source_path=source, batch_id=batch_id)
                queued.append(_submit_analysis(video, user))
        except (InputError, fr.FrameInputError) as exc:
            problems.append(str(exc))
    if not queued and not problems:
        gr.Warning("Choose recordings to upload or give a server folder.")
        return "", gr.update(), videos_table()
    for p in problems:
        gr.Warning(p)
    lines = [f"Queued {len(queued)} analysis job(s) (batch `{batch_id}`). Each recording is probed in its job; "
             "a broken file fails alone."] + [f"- `{q['video_id']}` {q['filename']} → job `{q['job_id']}`" for q in queued]
    lines += [f"- ⚠ {html.escape(p)}" for p in problems]
    return "\n".join(lines), (queued[0]["job_id"] if queued else gr.update()), videos_table()


# -- Review -------------------------------------------------------------------------------

def _video_or_none(video_id: str) -> dict | None:
    video_id = (video_id or "").strip()
    if not video_id:
        return None
    try:
        return fr.get_video(video_id)
    except fr.NotFound:
        return None


def pending_choices() -> list[tuple[str, str]]:
    return [(f"{v['filename']} · {v['id']} · conf {v['ai_confidence'] or 0:.2f}", v["id"]) for v in fr.list_pending(limit=200)]


def refresh_queue(video_id: str):
    choices = pending_choices()
    ids = [c[1] for c in choices]
    return gr.update(choices=choices, value=video_id if video_id in ids else None), f"{len(ids)} recording(s) need review"


def marks_text(video: dict | None, index: int | None = None) -> str:
    if video is None:
        return "Pick a recording to review."
    times = None
    here = ""
    if index is not None and video.get("frame_count"):
        try:
            times = fr.frame_times(video["id"])
            here = f"**Frame {int(index)}** at {times[int(index)] * 1000:.1f} ms · "
        except (fr.FrameInputError, IndexError):
            here = ""
    first = "—" if video["first_frame"] is None else f"{video['first_frame']} ({video['first_time'] * 1000:.1f} ms)"
    last = "—" if video["last_frame"] is None else f"{video['last_frame']} ({video['last_time'] * 1000:.1f} ms)"
    by = f" · reviewed by {video['reviewed_by']}" if video["reviewed_by"] else " · not reviewed yet"
    return (f"{here}First: **{first}** · Last: **{last}** · Latency: **{_ms(fr.latency_ms(video))} ms** "
            f"· method {video['marking_method'] or '—'}{by}")


def history_table(video_id: str) -> pd.DataFrame:
    try:
        rows = fr.history(video_id)
    except fr.NotFound:
        rows = []
    return pd.DataFrame([[_when(h["at"]), h["user"], h["which"], "" if h["from_frame"] is None else h["from_frame"],
                          h["to_frame"], h["method"], h["notes"]] for h in rows], columns=HISTORY_COLUMNS)


def curve_frame(video: dict | None, index: int | None = None) -> pd.DataFrame:
    """The scene-change curve plus vertical lines at the first/last marks and the current frame."""
    cols = ["time_ms", "value", "series"]
    if video is None or video["status"] != "completed":
        return pd.DataFrame([], columns=cols)
    c = fr.change_curve(video["id"])
    df = pd.DataFrame({"time_ms": [t * 1000 for t in c["time"]], "value": c["change"], "series": "scene change"})
    top = max(c["change"] or [0]) or 1.0
    marks = [("first mark", video["first_time"]), ("last mark", video["last_time"])]
    if index is not None and 0 <= int(index) < len(c["time"]):
        marks.append(("current frame", c["time"][int(index)]))
    lines = [[t * 1000, v, name] for name, t in marks if t is not None for v in (0.0, top)]
    return pd.concat([df, pd.DataFrame(lines, columns=cols)], ignore_index=True)


def _gallery(video: dict, which: str) -> list[tuple[str, str]]:
    items = []
    for c in (video["detection"] or {}).get(f"{which}_candidates") or []:
        if c.get("thumbnail") and Path(c["thumbnail"]).is_file():
            items.append((c["thumbnail"], f"frame {c['index']} · {c['time'] * 1000:.0f} ms · {c['score']:.2f}"))
    return items


def frame_view(video_id: str, index: float, rects_text: str = ""):
    """The viewer image (with the exclusion regions drawn on it) and the marks
    line for one frame (a single-frame read)."""
    video = _video_or_none(video_id)
    if video is None or video["status"] != "completed":
        return None, marks_text(video)
    try:
        image = fr.frame_image(video["id"], int(index or 0), VIEW_SIDE)
    except fr.FrameInputError as exc:
        gr.Warning(str(exc))
        image = None
    if image is not None:
        image = draw_regions(image, rects_text)
    return image, marks_text(video, int(index or 0))


def draw_regions(image, rects_text: str):
    """The exclusion rectangles (fractions) shaded on the frame; unreadable lines are skipped."""
    from PIL import ImageDraw

    try:
        rects = parse_rects(rects_text)
    except ValueError:
        return image
    if not rects:
        return image
    w, h = image.size
    overlay = image.convert("RGBA")
    shade = ImageDraw.Draw(overlay, "RGBA")
    for r in rects:
        box = (r["x"] * w, r["y"] * h, (r["x"] + r["w"]) * w, (r["y"] + r["h"]) * h)
        shade.rectangle(box, fill=(255, 0, 0, 60), outline=(255, 0, 0, 255), width=2)
    return overlay.convert("RGB")


def click_region(image, rects_text: str, corner: list | None, evt: gr.SelectData):
    """Draw an exclusion rectangle with two clicks on the frame: one corner, then the opposite one."""
    if image is None:
        return gr.update(), None
    w, h = image.size
    x, y = evt.index[0] / w, evt.index[1] / h
    if not corner:
        gr.Info("Corner set: click the opposite corner of the region to exclude.")
        return gr.update(), [x, y]
    x0, y0 = min(corner[0], x), min(corner[1], y)
    rw, rh = abs(x - corner[0]), abs(y - corner[1])
    if rw < 0.005 or rh < 0.005:
        gr.Warning("That region is too small: click two opposite corners.")
        return gr.update(), None
    line = f"{x0:.3f},{y0:.3f},{rw:.3f},{rh:.3f}"
    text = "\n".join(ln for ln in [*(rects_text or "").splitlines(), line] if ln.strip())
    return text, None


def load_review(video_id: str):
    """Everything of the Review screen for one recording."""
    video = _video_or_none(video_id)
    empty = (gr.update(value=0, maximum=1), None, marks_text(None), curve_frame(None), [], [],
             history_table(""), "", "", "")
    if video is None:
        if (video_id or "").strip():
            gr.Warning(f"No recording with id {video_id.strip()!r}.")
        return empty
    if video["status"] != "completed":
        gr.Info(f"{video['filename']} is {video['status']}"
                + (f": {video['error']}" if video["error"] else "; review it once the analysis is done."))
        return empty
    start = video["first_frame"] or 0
    n = video["frame_count"]
    rects = "\n".join(f"{r['x']},{r['y']},{r['w']},{r['h']}" for r in video["exclusions"] or [])
    image, text = frame_view(video["id"], start, rects)
    warn = "; ".join(video["warnings"] or [])
    info = (f"**{html.escape(video['filename'])}** · {video['width']}×{video['height']} · {n} frames · "
            f"{video['fps']:.2f} fps · {video['duration']:.2f} s · detector confidence {video['ai_confidence'] or 0:.2f}"
            + (f"  \n⚠ {html.escape(warn)}" if warn else ""))
    return (gr.update(value=start, maximum=max(0, n - 1)), image, text, curve_frame(video, start),
            _gallery(video, "first"), _gallery(video, "last"), history_table(video["id"]), video["notes"], rects, info)


def step(video_id: str, index: float, delta: int):
    video = _video_or_none(video_id)
    if video is None or not video["frame_count"]:
        return gr.update()
    return min(max(0, int(index or 0) + delta), video["frame_count"] - 1)


def _mark(which: str, video_id: str, index: float, notes: str, request: gr.Request):
    video = _video_or_none(video_id)
    if video is None:
        gr.Warning("Pick a recording to review first.")
        return gr.update(), gr.update(), gr.update()
    user = current_user(request).name
    try:
        video = fr.mark(video["id"], user, **{f"{which}_frame": int(index)}, notes=notes or None)
    except (fr.FrameInputError, fr.NotFound) as exc:
        gr.Warning(str(exc))
        return gr.update(), gr.update(), gr.update()
    gr.Info(f"{which.capitalize()} frame set to {int(index)} · latency {_ms(fr.latency_ms(video))} ms")
    return marks_text(video, int(index)), history_table(video["id"]), curve_frame(video, int(index))


def mark_first(video_id: str, index: float, notes: str, request: gr.Request):
    return _mark("first", video_id, index, notes, request)


def mark_last(video_id: str, index: float, notes: str, request: gr.Request):
    return _mark("last", video_id, index, notes, request)


def save_notes(video_id: str, notes: str, request: gr.Request):
    video = _video_or_none(video_id)
    if video is None:
        gr.Warning("Pick a recording to review first.")
        return gr.update()
    fr.update_video(video["id"], notes=notes or "")
    gr.Info("Notes saved")
    return marks_text(fr.get_video(video["id"]))


def next_video(video_id: str) -> str:
    ids = [v["id"] for v in fr.list_pending(limit=200)]
    others = [i for i in ids if i != (video_id or "").strip()]
    if not others:
        gr.Info("No other recording needs review.")
        return gr.update()
    return others[0]


def jump_to_candidate(which: str, video_id: str, evt: gr.SelectData):
    video = _video_or_none(video_id)
    if video is None:
        return gr.update()
    shown = [c for c in (video["detection"] or {}).get(f"{which}_candidates") or []
             if c.get("thumbnail") and Path(c["thumbnail"]).is_file()]
    return shown[evt.index]["index"] if 0 <= evt.index < len(shown) else gr.update()


def jump_to_first(video_id: str, evt: gr.SelectData):
    return jump_to_candidate("first", video_id, evt)


def jump_to_last(video_id: str, evt: gr.SelectData):
    return jump_to_candidate("last", video_id, evt)


def parse_rects(text: str) -> list[dict]:
    from pipelines.frames import parse_exclusions

    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return [r.to_dict() for r in parse_exclusions(lines)]


def _rects_or_warn(text: str) -> list[dict] | None:
    """The typed or drawn regions, or None after telling the user what is wrong with them."""
    try:
        return parse_rects(text)
    except ValueError as exc:
        gr.Warning(str(exc))
        return None


def redetect(video_id: str, rects_text: str, request: gr.Request):
    video = _video_or_none(video_id)
    if video is None or not fr.metrics_path(video["id"]).is_file():
        gr.Warning("Pick an analysed recording first.")
        return gr.update()
    rects = _rects_or_warn(rects_text)
    if rects is None:
        return gr.update()
    job = queue.submit("frames.detect", {"video_ids": [video["id"]], "exclusions": rects},
                       owner=current_user(request).name)
    gr.Info("Detection queued (from the stored metrics, no decoding); reload the recording when it is done.")
    return job["id"]


# -- Tasks ----------------------------------------------------------------------------------

def task_choices() -> list[tuple[str, str]]:
    return [(f"{t['name']} · {t['id']}", t["id"]) for t in fr.list_tasks(limit=500)]


def video_choices() -> list[tuple[str, str]]:
    return [(f"{v['filename']} · {v['id']} · {v['status']}", v["id"]) for v in fr.list_videos(limit=500)]


def task_view(task_id: str):
    if not task_id:
        return "Pick or create a task.", pd.DataFrame([], columns=TASK_VIDEO_COLUMNS), "", ""
    try:
        task = fr.get_task(task_id)
    except fr.NotFound:
        return f"No task with id {task_id!r}.", pd.DataFrame([], columns=TASK_VIDEO_COLUMNS), "", ""
    s = fr.task_statistics(task_id)
    stats = (f"**{html.escape(task['name'])}** · {s['count']} recordings · {s['completed']} completed "
             f"({s['reviewed']} reviewed) · {s['failed']} failed · {s['processing']} processing  \n"
             f"first→last over {s['measured']} measured: avg **{_ms(s['avg_ms'])} ms** · min {_ms(s['min_ms'])} · "
             f"max {_ms(s['max_ms'])} · p50 {_ms(s['p50_ms'])} · p90 {_ms(s['p90_ms'])} ms · "
             f"frames avg {s['avg_frames'] if s['avg_frames'] is not None else '—'}")
    rows = [[r["order"], r["video_id"], r["video"], r["status"], r["first_frame"], r["last_frame"],
             None if r["first_time"] is None or r["last_time"] is None else round((r["last_time"] - r["first_time"]) * 1000, 1),
             r["marking_method"], r["reviewer"]] for r in fr.task_stats_rows(task_id)]
    rects = "\n".join(f"{r['x']},{r['y']},{r['w']},{r['h']}" for r in task["exclusions"] or [])
    return stats, pd.DataFrame(rows, columns=TASK_VIDEO_COLUMNS), task["description"], rects


def create_task(name: str, description: str, request: gr.Request):
    try:
        task = fr.create_task(name, current_user(request).name, description)
    except fr.FrameInputError as exc:
        gr.Warning(str(exc))
        return gr.update()
    gr.Info(f"Task {task['name']} created")
    return gr.update(choices=task_choices(), value=task["id"])


def rename_task(task_id: str, name: str, description: str):
    if not task_id:
        gr.Warning("Pick a task first.")
        return gr.update()
    try:
        fr.update_task(task_id, name=name or None, description=description)
    except (fr.FrameInputError, fr.NotFound) as exc:
        gr.Warning(str(exc))
    return gr.update(choices=task_choices(), value=task_id)


def delete_task(task_id: str):
    if not task_id:
        gr.Warning("Pick a task first.")
        return gr.update()
    fr.delete_task(task_id)
    gr.Info("Task deleted; its recordings are kept.")
    return gr.update(choices=task_choices(), value=None)


def add_to_task(task_id: str, video_ids: list[str] | None):
    if not task_id or not video_ids:
        gr.Warning("Pick a task and the recordings to add.")
        return task_view(task_id)
    result = fr.add_videos(task_id, list(video_ids))
    for f in result["failed_videos"]:
        gr.Warning(f"{f['video_id']}: {f['reason']}")
    return task_view(task_id)


def remove_from_task(task_id: str, video_ids: list[str] | None):
    for vid in video_ids or []:
        try:
            fr.remove_video(task_id, vid)
        except (fr.NotFound, fr.FrameInputError) as exc:
            gr.Warning(str(exc))
    return task_view(task_id)


def order_task(task_id: str, order_text: str):
    ids = [p.strip() for p in (order_text or "").replace(",", " ").split() if p.strip()]
    try:
        fr.order_videos(task_id, ids)
    except (fr.FrameInputError, fr.NotFound) as exc:
        gr.Warning(str(exc))
    return task_view(task_id)


def export_task(task_id: str, fmt: str, request: gr.Request):
    if not task_id:
        gr.Warning("Pick a task first.")
        return gr.update()
    return queue.submit("frames.export", {"task_id": task_id, "format": fmt}, owner=current_user(request).name)["id"]


def redetect_task(task_id: str, rects_text: str, request: gr.Request):
    if not task_id:
        gr.Warning("Pick a task first.")
        return gr.update()
    rects = _rects_or_warn(rects_text)
    if rects is None:
        return gr.update()
    fr.update_task(task_id, exclusions=rects)
    ids = [v["id"] for v in fr.task_videos(task_id) if fr.metrics_path(v["id"]).is_file()]
    if not ids:
        gr.Warning("The task has no analysed recordings.")
        return gr.update()
    return queue.submit("frames.detect", {"video_ids": ids, "exclusions": rects}, owner=current_user(request).name)["id"]


# -- QR ---------------------------------------------------------------------------------------

def make_qr(mode: str, words: str, version: float | None, level: str, colorized: bool, contrast: float,
            brightness: float, picture: str | None, request: gr.Request):
    if not (words or "").strip():
        gr.Warning("Type the text or URL to encode.")
        return gr.update()
    files = {}
    if mode != "simple":
        if not picture:
            gr.Warning(f"A {mode} QR code needs a background " + ("GIF." if mode == "animated" else "picture."))
            return gr.update()
        files = {f"picture{Path(picture).suffix.lower()}": picture}
    params = {"mode": mode, "words": words, "version": int(version) if version else None, "level": level,
              "colorized": bool(colorized), "contrast": float(contrast), "brightness": float(brightness)}
    return queue.submit("frames.qr", params, owner=current_user(request).name, files=files)["id"]


def qr_result(job_id: str, shown: str | None):
    job = None
    if (job_id or "").strip():
        try:
            job = store.get_job(job_id.strip())
        except store.JobNotFound:
            job = None
    if job is None or job["status"] != "succeeded" or not job["outputs"].get("file"):
        return gr.update()
    path = store.output_path(job["id"], job["outputs"]["file"])
    return gr.update() if shown and Path(shown).name == path.name else str(path)


# -- the tab ------------------------------------------------------------------------------------

def build() -> None:
    with gr.Tabs():
        with gr.Tab("Upload & analyse", elem_id="tab-frames-upload"):
            _build_upload()
        with gr.Tab("Review", elem_id="tab-frames-review"):
            _build_review()
        with gr.Tab("Tasks", elem_id="tab-frames-tasks"):
            _build_tasks()
        with gr.Tab("QR codes", elem_id="tab-frames-qr"):
            _build_qr()


def _build_upload() -> None:
    gr.Markdown("Upload screen recordings (mp4, mov, webm, mkv) or name a server folder; each recording gets "
                "its own analysis job: metadata, per-frame brightness / sharpness / scene change, and the "
                "first/last frame with ranked candidates.")
    with gr.Row():
        files = gr.File(label="Recordings", file_count="multiple", elem_id="frames-files",
                        file_types=[".mp4", ".mov", ".webm", ".mkv"])
        with gr.Column():
            folder = gr.Textbox(label="…or a server file/folder (inside STUDIO_ALLOWED_ROOTS)", elem_id="frames-folder")
            go = gr.Button("Analyse", variant="primary", elem_id="frames-analyse")
    message = gr.Markdown(elem_id="frames-upload-message")
    with gr.Row():
        gr.Markdown("### Recordings")
        refresh = gr.Button("Refresh", size="sm", scale=0)
    table = gr.Dataframe(headers=VIDEO_COLUMNS, interactive=False, elem_id="frames-videos", wrap=True)
    panel = job_panel("frames", label="Analysis job")
    go.click(analyse, [files, folder], [message, panel.job_id, table], api_name="frames_analyse")
    refresh.click(videos_table, None, table, api_name="frames_videos")
    gr.on([panel.timer.tick], videos_table, None, table, api_visibility="private", show_progress="hidden", queue=False)


def _build_review() -> None:
    with gr.Column(elem_id="frames-review"):
        with gr.Row():
            pending = gr.Dropdown(label="Needs review", choices=[], elem_id="frames-pending", scale=3)
            video_id = gr.Textbox(label="Recording id", elem_id="frames-review-id", scale=2)
            with gr.Column(scale=1, min_width=160):
                queue_note = gr.Markdown()
                reload = gr.Button("Refresh queue", size="sm", elem_id="frames-refresh-queue")
                nxt = gr.Button("Next recording (N)", size="sm", elem_id="frames-next")
        info = gr.Markdown(elem_id="frames-review-info")
        gr.Markdown("<span class='frames-keys'><kbd>←</kbd>/<kbd>→</kbd> one frame · <kbd>Shift</kbd>+<kbd>←</kbd>/"
                    "<kbd>→</kbd> ten · <kbd>F</kbd> mark first · <kbd>L</kbd> mark last · <kbd>N</kbd> next "
                    "recording (not while typing in a field)</span>")
        with gr.Row():
            with gr.Column(scale=3):
                image = gr.Image(label="Frame", type="pil", interactive=False, height=560, elem_id="frames-frame",
                                 show_label=False)
                slider = gr.Slider(0, 1, value=0, step=1, label="Frame", elem_id="frames-slider")
                with gr.Row():
                    back10 = gr.Button("−10", size="sm", elem_id="frames-back10")
                    back1 = gr.Button("−1", size="sm", elem_id="frames-back1")
                    fwd1 = gr.Button("+1", size="sm", elem_id="frames-fwd1")
                    fwd10 = gr.Button("+10", size="sm", elem_id="frames-fwd10")
                with gr.Row():
                    first_btn = gr.Button("Mark first (F)", variant="primary", elem_id="frames-mark-first")
                    last_btn = gr.Button("Mark last (L)", variant="primary", elem_id="frames-mark-last")
                marks = gr.Markdown(marks_text(None), elem_id="frames-marks")
            with gr.Column(scale=2):
                plot = gr.LinePlot(x="time_ms", y="value", color="series", title="Scene change and marks",
                                   x_title="time (ms)", y_title="change", height=240, elem_id="frames-curve")
                first_gallery = gr.Gallery(label="First-frame candidates (click to jump)", columns=5, height=170,
                                           allow_preview=False, elem_id="frames-first-candidates")
                last_gallery = gr.Gallery(label="Last-frame candidates (click to jump)", columns=5, height=170,
                                          allow_preview=False, elem_id="frames-last-candidates")
                notes = gr.Textbox(label="Notes (saved with the next mark)", lines=2, elem_id="frames-notes")
                save = gr.Button("Save notes", size="sm")
                with gr.Accordion("Exclusion regions (status-bar clock, spinners)", open=False):
                    gr.Markdown("Click two opposite corners on the frame to add a region, or type them.")
                    rects = gr.Textbox(label="Rectangles x,y,w,h (fractions 0..1), one per line", lines=3,
                                       elem_id="frames-exclusions")
                    corner = gr.State(None)
                    redo = gr.Button("Re-detect with these regions", size="sm", elem_id="frames-redetect")
        gr.Markdown("### History of the marks")
        history = gr.Dataframe(headers=HISTORY_COLUMNS, interactive=False, elem_id="frames-history", wrap=True)
        panel = job_panel("frames_detect", label="Detection job")

    loaded = [slider, image, marks, plot, first_gallery, last_gallery, history, notes, rects, info]
    reload.click(refresh_queue, video_id, [pending, queue_note], api_name="frames_review_queue")
    gr.Timer(5).tick(refresh_queue, video_id, [pending, queue_note], api_visibility="private",
                     show_progress="hidden", queue=False)  # new analyses join the queue by themselves
    root = gr.context.Context.root_block
    if root is not None:
        root.load(refresh_queue, video_id, [pending, queue_note], api_visibility="private", queue=False)
    pending.input(lambda v: v or gr.update(), pending, video_id, api_visibility="private", queue=False)
    video_id.change(load_review, video_id, loaded, api_name="frames_review_load")
    nxt.click(next_video, video_id, video_id, api_name="frames_next")
    slider.change(frame_view, [video_id, slider, rects], [image, marks], api_name="frames_frame",
                  trigger_mode="always_last", show_progress="hidden")
    image.select(click_region, [image, rects, corner], [rects, corner], api_visibility="private")
    rects.change(frame_view, [video_id, slider, rects], [image, marks], api_visibility="private",
                 trigger_mode="always_last", show_progress="hidden")
    for button, delta, name in ((back10, -10, "back10"), (back1, -1, "back1"), (fwd1, 1, "fwd1"), (fwd10, 10, "fwd10")):
        button.click(lambda v, i, d=delta: step(v, i, d), [video_id, slider], slider, api_name=f"frames_step_{name}",
                     queue=False, show_progress="hidden")
    first_btn.click(mark_first, [video_id, slider, notes], [marks, history, plot], api_name="frames_mark_first")
    last_btn.click(mark_last, [video_id, slider, notes], [marks, history, plot], api_name="frames_mark_last")
    save.click(save_notes, [video_id, notes], marks, api_name="frames_save_notes")
    first_gallery.select(jump_to_first, video_id, slider, api_visibility="private")
    last_gallery.select(jump_to_last, video_id, slider, api_visibility="private")
    redo.click(redetect, [video_id, rects], panel.job_id, api_name="frames_redetect")


def _build_tasks() -> None:
    with gr.Row():
        task = gr.Dropdown(label="Task", choices=[], elem_id="frames-task", scale=3)
        refresh = gr.Button("Refresh", size="sm", scale=0)
    stats = gr.Markdown("Pick or create a task.", elem_id="frames-task-stats")
    with gr.Row():
        name = gr.Textbox(label="Name", elem_id="frames-task-name")
        description = gr.Textbox(label="Description")
        with gr.Column(min_width=140):
            create = gr.Button("Create task", variant="primary", size="sm", elem_id="frames-task-create")
            rename = gr.Button("Rename / describe", size="sm")
            delete = gr.Button("Delete task (keeps recordings)", variant="stop", size="sm")
    with gr.Row():
        videos = gr.Dropdown(label="Recordings", choices=[], multiselect=True, elem_id="frames-task-videos", scale=3)
        with gr.Column(min_width=140):
            add = gr.Button("Add to task", size="sm", elem_id="frames-task-add")
            remove = gr.Button("Remove from task", size="sm")
    with gr.Row():
        order = gr.Textbox(label="Order: recording ids, first to last", scale=3)
        order_btn = gr.Button("Apply order", size="sm", scale=0)
    table = gr.Dataframe(headers=TASK_VIDEO_COLUMNS, interactive=False, elem_id="frames-task-table", wrap=True)
    with gr.Row():
        fmt = gr.Radio(["excel", "csv"], value="excel", label="Export format")
        export = gr.Button("Export", elem_id="frames-task-export")
    with gr.Accordion("Exclusion regions for every recording of the task", open=False):
        rects = gr.Textbox(label="Rectangles x,y,w,h (fractions 0..1), one per line", lines=3)
        redo = gr.Button("Re-detect the task's recordings", size="sm")
    panel = job_panel("frames_tasks", label="Export / detection job")

    shown = [stats, table, description, rects]
    refresh.click(lambda t: (gr.update(choices=task_choices(), value=t), gr.update(choices=video_choices())),
                  task, [task, videos], api_name="frames_tasks_refresh")
    root = gr.context.Context.root_block
    if root is not None:
        root.load(lambda: (gr.update(choices=task_choices()), gr.update(choices=video_choices())), None,
                  [task, videos], api_visibility="private", queue=False)
    task.change(task_view, task, shown, api_name="frames_task")
    create.click(create_task, [name, description], task, api_name="frames_task_create")
    rename.click(rename_task, [task, name, description], task, api_name="frames_task_update")
    delete.click(delete_task, task, task, api_name="frames_task_delete")
    add.click(add_to_task, [task, videos], shown, api_name="frames_task_add")
    remove.click(remove_from_task, [task, videos], shown, api_name="frames_task_remove")
    order_btn.click(order_task, [task, order], shown, api_name="frames_task_order")
    export.click(export_task, [task, fmt], panel.job_id, api_name="frames_task_export")
    redo.click(redetect_task, [task, rects], panel.job_id, api_name="frames_task_redetect")


def _build_qr() -> None:
    with gr.Row():
        with gr.Column():
            mode = gr.Radio(["simple", "artistic", "animated"], value="simple", label="Kind",
                            info="artistic: over a picture; animated: over a GIF", elem_id="frames-qr-mode")
            words = gr.Textbox(label="Words (text or URL)", elem_id="frames-qr-words")
            with gr.Row():
                version = gr.Number(value=None, precision=0, minimum=1, maximum=40, label="Version 1-40 (empty: auto)")
                level = gr.Dropdown(["L", "M", "Q", "H"], value="H", label="Error correction")
            colorized = gr.Checkbox(label="Colorized (keep the picture's colours)")
            contrast = gr.Slider(0.1, 3.0, value=1.0, step=0.1, label="Contrast")
            brightness = gr.Slider(0.1, 3.0, value=1.0, step=0.1, label="Brightness")
            picture = gr.File(label="Background picture (PNG/JPG/BMP) or GIF", type="filepath",
                              file_types=[".png", ".jpg", ".jpeg", ".bmp", ".gif"])
            go = gr.Button("Make QR code", variant="primary", elem_id="frames-qr-make")
        with gr.Column():
            result = gr.Image(label="QR code", type="filepath", interactive=False, elem_id="frames-qr-result")
            panel = job_panel("frames_qr", label="QR job")
    go.click(make_qr, [mode, words, version, level, colorized, contrast, brightness, picture], panel.job_id,
             api_name="frames_qr")
    gr.on([panel.timer.tick, panel.job_id.change], qr_result, [panel.job_id, result], result, api_visibility="private",
          show_progress="hidden", queue=False)
