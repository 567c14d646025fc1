"""Dataset builder → Videos (seed 000): videos → ``N.mp4`` + ``N.txt`` for video LoRA trainers.

The tab collects the options, submits one job (``jobs.tools.video_dataset``;
the GPU lane when a local model captions) and follows it in the job panel.
When the job ends it shows the preview grid, the clip table with the trainer's
frame-bucket warnings, and the ZIP; below, the list of video datasets. Nothing
here runs the pipeline: it reads the job record and the dataset's folder.

API names (``gradio_client``): ``/videos_check_name``, ``/videos_start``,
``/videos_result``, ``/videos_datasets`` and the panel's ``/videos_job_status``,
``/videos_job_cancel``, ``/videos_job_retry``.
"""

from __future__ import annotations

import datetime as dt
import html

import gradio as gr
import pandas as pd

from jobs import datasets, store
from jobs.inputs import InputError
from jobs.tools import video_dataset as videos
from pipelines.video_dataset.captioning import CAPTION_PRESETS, DEFAULT_CAPTION_METHOD, DEFAULT_CAPTION_PREFIX
from studio.job_panel import job_panel
from studio.ui_user import current_user

PRESET_CHOICES = [("Wan 2.x — 16 fps", "wan"), ("HunyuanVideo — 24 fps", "hunyuan"),
                  ("LTX-Video — 25 fps", "ltx"), ("Custom fps", "custom")]
BUCKETS = ["keep aspect", "832x480", "480x832", "1280x720", "720x1280", "960x960", "512x512", "768x512", "512x768"]
CLIP_COLUMNS = ["clip", "source", "frames", "fps", "duration", "bucket", "warnings", "caption"]
DATASET_COLUMNS = ["name", "clips", "total duration (s)", "status", "created", "task"]


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return "Give the dataset a name."
    try:
        taken = datasets.folder(name).exists()
    except datasets.DatasetNameError as exc:
        return f"⚠️ {exc}"
    return f"⚠️ **{name}** is taken: choose another name." if taken else f"✅ **{name}** is free."


def _resolution(bucket: str):
    if not bucket or bucket == "keep aspect":
        return None
    w, h = bucket.lower().split("x")
    return [int(w), int(h)]


def start(files, server_folder, name, preset, fps, max_side, bucket, split, clip_seconds, frame_policy,
          caption_frames, frames_n, provider, local_model, api_base_url, api_key, api_models, api_retries,
          caption_method, rewrite, prefix, trigger, request: gr.Request):
    """Submit the build; returns (job id, status line). Bad input: a warning, nothing submitted."""
    user = current_user(request)
    paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
    options = {
        "preset": preset or "wan", "fps": fps or None, "max_side": int(max_side) if max_side else None,
        "resolution": _resolution(bucket), "split": split or "none",
        "clip_seconds": clip_seconds or None, "frame_policy": frame_policy or "warn",
        "caption_provider": provider or "none", "local_model": (local_model or "").strip(),
        "api_base_url": (api_base_url or "").strip(), "api_models": api_models or "",
        "api_retries": int(api_retries or 0), "caption_method": caption_method or DEFAULT_CAPTION_METHOD,
        "caption_frames": 1 if caption_frames == "First frame" else int(frames_n or 1),
        "rewrite": bool(rewrite), "prefix": prefix or "", "trigger": (trigger or "").strip(),
    }
    try:
        job = videos.submit_videos((name or "").strip(), options, owner=user.name, files=paths or None,
                                   input_path=(server_folder or "").strip() or None, api_key=(api_key or "").strip())
    except datasets.DatasetExists as exc:
        gr.Warning(str(exc))
        return gr.update(), f"⚠️ {exc}"
    except (ValueError, InputError) as exc:
        gr.Warning(str(exc))
        return gr.update(), f"⚠️ {exc}"
    lane = "GPU lane (local captions)" if job["lane"] == "gpu" else "CPU lane"
    return job["id"], f"Submitted **{job['params']['dataset']}** as job `{job['id']}` ({lane})."


def result_view(job_id: str):
    """After the job: (preview image, clip table, warnings, ZIP)."""
    empty = (None, pd.DataFrame(columns=CLIP_COLUMNS), "", None)
    job_id = (job_id or "").strip()
    if not job_id:
        return empty
    try:
        job = store.get_job(job_id)
    except store.JobNotFound:
        return empty
    if job["kind"] not in videos.KINDS:
        return empty
    if job["status"] not in store.FINAL:
        return None, pd.DataFrame(columns=CLIP_COLUMNS), f"Building… ({job['status']})", None
    out = job["outputs"]
    name = job["params"].get("dataset", "")
    folder = datasets.folder(name) if name else None
    preview = folder / "preview.jpg" if folder else None
    zip_path = store.job_dir(job_id) / "outputs" / f"{name}.zip"
    rows = []
    for c in out.get("clips", []):
        rows.append([c["file"], c["source"], c["frames"], c["fps"], round(c["duration"], 2), c["bucket"] or "—",
                     "; ".join(c["warnings"]), c["caption"]])
    if not rows and folder is not None and folder.is_dir():  # cancelled or failed: the clips kept on disk
        from pipelines.video_dataset.dataset import clip_numbers

        for n in clip_numbers(folder):
            txt = folder / f"{n}.txt"
            rows.append([f"{n}.mp4", "", "", "", "", "", "", txt.read_text(encoding="utf-8").strip()
                         if txt.is_file() else ""])
    notes = []
    if job["status"] != "succeeded":
        notes.append(f"**{job['status']}**" + (f": {html.escape(job['error'])}" if job.get("error") else "")
                     + (f" — {len(rows)} finished clips kept." if rows else ""))
    skipped = out.get("skipped", [])
    if skipped:
        notes.append("**Skipped:** " + "; ".join(html.escape(s["reason"]) for s in skipped))
    warned = sum(1 for r in rows if r[6])
    if warned:
        notes.append(f"**Trainer bucket warnings** on {warned} clip(s): see the warnings column.")
    if out.get("clips"):
        notes.append(f"{len(out['clips'])} clips, {out.get('total_duration', 0):.1f} s in `{folder}`.")
    return (str(preview) if preview and preview.is_file() else None, pd.DataFrame(rows, columns=CLIP_COLUMNS),
            "  \n".join(notes), str(zip_path) if zip_path.is_file() else None)


def list_datasets():
    from pipelines.video_dataset.dataset import summarize_dataset

    rows = []
    for meta in datasets.list_all("videos"):
        s = summarize_dataset(meta["path"])
        rows.append([meta["name"], s.clips, round(s.total_duration, 1), meta["status"],
                     dt.datetime.fromtimestamp(meta["created_at"]).strftime("%m-%d %H:%M"), meta.get("job_id") or ""])
    return pd.DataFrame(rows, columns=DATASET_COLUMNS)


def datasets_when_done(job_id: str):
    """The datasets list again once the panel's job has ended (not on every tick)."""
    job = None
    try:
        job = store.get_job((job_id or "").strip()) if (job_id or "").strip() else None
    except store.JobNotFound:
        pass
    return list_datasets() if job and job["status"] in store.FINAL else gr.update()


def pick_dataset(table: pd.DataFrame, evt: gr.SelectData):
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return str(table.iloc[row]["task"])


def build() -> None:
    gr.Markdown("Turn videos into a video LoRA dataset: each video (or clip) converted to the trainer's frame "
                "rate as `N.mp4` with its caption `N.txt`, plus `dataset.toml` for diffusion-pipe.")
    with gr.Row():
        with gr.Column(scale=3):
            files = gr.File(label="Videos or a ZIP", file_count="multiple", file_types=["video", ".zip"],
                            elem_id="videos-files", height=140)
            server_folder = gr.Textbox(label="…or a server folder (inside the allowed roots)",
                                       placeholder="/data/videos/shoot1", elem_id="videos-server-folder")
            with gr.Row():
                name = gr.Textbox(label="Dataset name", placeholder="wan_dance_v1", elem_id="videos-name", scale=3)
                check = gr.Button("Check name", size="sm", scale=1, elem_id="videos-check")
            name_status = gr.Markdown(elem_id="videos-name-status")
        with gr.Column(scale=2):
            preset = gr.Radio(PRESET_CHOICES, value="wan", label="Trainer preset (frame rate)", elem_id="videos-preset")
            fps = gr.Number(label="Custom fps", value=None, minimum=0, maximum=240, visible=False)
            with gr.Row():
                max_side = gr.Number(label="Max side (px, empty: keep)", value=None, minimum=0, precision=0)
                bucket = gr.Dropdown(BUCKETS, value="keep aspect", label="Resolution bucket (crop)")
            with gr.Row():
                split = gr.Radio([("No split", "none"), ("Fixed seconds", "fixed"), ("Scene cuts", "scenes")],
                                 value="none", label="Split")
                clip_seconds = gr.Number(label="Clip seconds", value=None, minimum=0)
            frame_policy = gr.Radio([("Warn", "warn"), ("Trim to 4k+1", "trim"), ("Drop too short", "drop")],
                                    value="warn", label="Frame buckets")
    with gr.Accordion("Captions", open=True):
        with gr.Row():
            provider = gr.Radio([("None (prefix only)", "none"), ("Local model", "local"),
                                 ("OpenAI-compatible API", "api")], value="none", label="Caption provider",
                                elem_id="videos-provider")
            caption_method = gr.Dropdown([(p.label, p.name) for p in CAPTION_PRESETS.values()],
                                         value=DEFAULT_CAPTION_METHOD, label="Caption method")
            caption_frames = gr.Radio(["First frame", "Sampled frames"], value="First frame", label="Frames")
            frames_n = gr.Slider(2, 16, value=4, step=1, label="Sampled frames (N)")
        with gr.Row():
            local_model = gr.Textbox(label="Local model (HF id or folder; empty: the method's Florence-2)",
                                     placeholder="florence-community/Florence-2-base")
            api_base_url = gr.Textbox(label="API base URL", placeholder="https://host/v1")
            api_key = gr.Textbox(label="API key", type="password", placeholder="never stored")
        with gr.Row():
            api_models = gr.Textbox(label="API models, in priority order (comma or one per line)", lines=2,
                                    placeholder="qwen-vl-max, gpt-4o-mini")
            api_retries = gr.Number(label="Retries per model", value=2, minimum=0, maximum=10, precision=0)
            rewrite = gr.Checkbox(label="LLM rewrite of each caption (needs the API)", value=False)
        with gr.Row():
            prefix = gr.Textbox(label="Prefix", value=DEFAULT_CAPTION_PREFIX)
            trigger = gr.Textbox(label="Trigger word (first in every caption)", placeholder="ohwx")
    start_btn = gr.Button("Start", variant="primary", elem_id="videos-start")
    start_status = gr.Markdown(elem_id="videos-start-status")
    panel = job_panel("videos")
    with gr.Group(elem_id="videos-result"):
        notes = gr.Markdown(elem_id="videos-result-notes")
        preview = gr.Image(label="Preview: first frames with captions", type="filepath", interactive=False,
                           elem_id="videos-preview", height=420)
        clip_table = gr.Dataframe(headers=CLIP_COLUMNS, interactive=False, wrap=True, elem_id="videos-clips",
                                  label="Clips")
        zip_file = gr.File(label="Dataset ZIP", interactive=False, elem_id="videos-zip", height=80)
    with gr.Row():
        gr.Markdown("### Video datasets")
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="videos-refresh")
    table = gr.Dataframe(headers=DATASET_COLUMNS, interactive=False, elem_id="videos-datasets")
    gr.Markdown("Select a row to open its build in the job panel above.")

    preset.change(lambda p: gr.update(visible=p == "custom"), preset, fps, api_visibility="private", queue=False)
    check.click(check_name, name, name_status, api_name="videos_check_name")
    name.blur(check_name, name, name_status, api_visibility="private", queue=False)
    start_btn.click(
        start,
        [files, server_folder, name, preset, fps, max_side, bucket, split, clip_seconds, frame_policy,
         caption_frames, frames_n, provider, local_model, api_base_url, api_key, api_models, api_retries,
         caption_method, rewrite, prefix, trigger],
        [panel.job_id, start_status], api_name="videos_start",
    )
    result_outputs = [preview, clip_table, notes, zip_file]
    panel.job_id.change(result_view, panel.job_id, result_outputs, api_name="videos_result", show_progress="hidden")
    panel.status.change(result_view, panel.job_id, result_outputs, api_visibility="private", show_progress="hidden")
    panel.status.change(datasets_when_done, panel.job_id, table, api_visibility="private",
                        show_progress="hidden")
    refresh.click(list_datasets, None, table, api_name="videos_datasets")
    table.select(pick_dataset, table, panel.job_id, api_visibility="private")
    root = gr.context.Context.root_block
    if root is not None:
        root.load(list_datasets, None, table, api_visibility="private")

