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
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from jobs import datasets, store
from jobs.access import User
from jobs.settings import get_settings
from jobs.tools import video_dataset as videos
from pipelines import examples as example_media
from pipelines.errors import StudioError
from pipelines.names import DatasetNameError, validate_dataset_name
from pipelines.video_dataset.captioning import CAPTION_PRESETS
from pipelines.video_dataset.options import DEFAULTS, VideoOptions, field_help
from studio.errors import ui_error
from studio.examples import examples
from studio.job_panel import job_panel
from studio.page_load import page_load
from studio.ui_user import current_user

PRESET_CHOICES = [
    ("Wan 2.x — 16 fps", "wan"),
    ("HunyuanVideo — 24 fps", "hunyuan"),
    ("LTX-Video — 25 fps", "ltx"),
    ("Custom fps", "custom"),
]
BUCKETS = [
    "keep aspect",
    "832x480",
    "480x832",
    "1280x720",
    "720x1280",
    "960x960",
    "512x512",
    "768x512",
    "512x768",
]
CLIP_COLUMNS = ["clip", "source", "frames", "fps", "duration", "bucket", "warnings", "caption"]
CLIP_WIDTHS = ["7%", "14%", "7%", "6%", "8%", "7%", "21%", "30%"]
DATASET_COLUMNS = ["name", "clips", "total duration (s)", "status", "created", "task"]
DATASET_WIDTHS = ["28%", "9%", "16%", "13%", "14%", "20%"]


def check_name(name: str, request: gr.Request) -> str:
    """Is the name free among the caller's own datasets (names are per owner)?"""
    name = (name or "").strip()
    if not name:
        return "Give the dataset a name."
    try:
        validate_dataset_name(name)
    except DatasetNameError as exc:
        return f"⚠️ {exc}"
    return (
        f"⚠️ **{name}** is taken: choose another name."
        if datasets.exists(name, current_user(request).name)
        else f"✅ **{name}** is free."
    )


def _resolution(bucket: str) -> list[int] | None:
    if not bucket or bucket == "keep aspect":
        return None
    w, h = bucket.lower().split("x")
    return [int(w), int(h)]


# The option controls, in the order start() receives their values; each is a VideoOptions field.
OPTION_FIELDS = [
    "preset",
    "fps",
    "max_side",
    "resolution",
    "split",
    "clip_seconds",
    "frame_policy",
    "caption_provider",
    "caption_method",
    "caption_frames",
    "local_model",
    "api_endpoint",
    "api_base_url",
    "api_models",
    "api_retries",
    "rewrite",
    "prefix",
    "trigger",
]


def options_from_controls(values: list[Any]) -> dict[str, Any]:
    """The tab's control values as VideoOptions JSON (empty numbers: the default)."""
    data = dict(zip(OPTION_FIELDS, values, strict=True))
    data["resolution"] = _resolution(data.get("resolution") or "")
    for key in ("fps", "max_side", "clip_seconds"):
        data[key] = data[key] or None
    if data.get("max_side"):
        data["max_side"] = int(data["max_side"])
    data["caption_frames"] = int(data.get("caption_frames") or 1)
    data["api_retries"] = int(
        data["api_retries"] if data.get("api_retries") is not None else DEFAULTS["api_retries"]
    )
    return data


def start(files, server_folder, name, api_key, request: gr.Request, *values):
    """Submit the build; returns (job id, status line). Bad input: a message, nothing submitted."""
    user = current_user(request)
    paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
    try:
        job = videos.submit_videos(
            (name or "").strip(),
            options_from_controls(values),
            user,
            files=paths or None,
            input_path=(server_folder or "").strip() or None,
            api_key=(api_key or "").strip(),
        )
    except StudioError as exc:
        raise ui_error(exc) from None
    lane = "GPU lane (local captions)" if job["lane"] == "gpu" else "CPU lane"
    return job["id"], f"Submitted **{job['params']['dataset']}** as job `{job['id']}` ({lane})."


def _own_job(job_id: str, user: User) -> dict[str, Any] | None:
    try:
        return store.job_for(job_id, user, videos.KINDS)
    except store.JobNotFound:
        return None


def result_view(job_id: str, request: gr.Request):
    """After the job: (preview image, clip table, warnings, ZIP)."""
    empty = (None, pd.DataFrame(columns=CLIP_COLUMNS), "", None)
    job = _own_job((job_id or "").strip(), current_user(request))
    if job is None:
        return empty
    if job["status"] not in store.FINAL:
        return None, pd.DataFrame(columns=CLIP_COLUMNS), f"Building… ({job['status']})", None
    out = job["outputs"]
    name = job["params"].get("dataset", "")
    try:  # the dataset the job was made for, if it is still that record
        folder: Path | None = datasets.bound_folder(job["params"])
    except StudioError:
        folder = None
    preview = store.job_dir(job["id"]) / "outputs" / videos.PREVIEW
    zip_path = store.job_dir(job["id"]) / "outputs" / f"{name}.zip"
    rows = []
    for c in out.get("clips", []):
        rows.append(
            [
                c["file"],
                c["source"],
                c["frames"],
                c["fps"],
                round(c["duration"], 2),
                c["bucket"] or "—",
                "; ".join(c["warnings"]),
                c["caption"],
            ]
        )
    if (
        not rows and folder is not None and folder.is_dir()
    ):  # cancelled or failed: the clips kept on disk
        from pipelines.video_dataset.dataset import clip_numbers

        for n in clip_numbers(folder):
            txt = folder / f"{n}.txt"
            rows.append(
                [
                    f"{n}.mp4",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    txt.read_text(encoding="utf-8").strip() if txt.is_file() else "",
                ]
            )
    notes = []
    if job["status"] != "succeeded":
        notes.append(
            f"**{job['status']}**"
            + (f": {html.escape(job['error'])}" if job.get("error") else "")
            + (f" — {len(rows)} finished clips kept." if rows else "")
        )
    skipped = out.get("skipped", [])
    bad = [s for s in skipped if "bad clip" in s["reason"]]
    if bad:
        notes.append(
            f"**Bad clips left out ({len(bad)}):** "
            + "; ".join(html.escape(s["reason"]) for s in bad)
        )
    if len(skipped) > len(bad):
        notes.append(
            "**Left out:** " + "; ".join(html.escape(s["reason"]) for s in skipped if s not in bad)
        )
    notes += [f"**Note:** {html.escape(n)}" for n in out.get("notes", [])]
    warned = sum(1 for r in rows if r[6])
    if warned:
        notes.append(f"**Trainer bucket warnings** on {warned} clip(s): see the warnings column.")
    if out.get("clips"):
        notes.append(
            f"{len(out['clips'])} clips, {out.get('total_duration', 0):.1f} s in `{folder}`."
        )
    return (
        str(preview) if preview.is_file() else None,
        pd.DataFrame(rows, columns=CLIP_COLUMNS),
        "  \n".join(notes),
        str(zip_path) if zip_path.is_file() else None,
    )


def list_datasets(request: gr.Request):
    from pipelines.video_dataset.dataset import summarize_dataset

    rows = []
    for meta in datasets.list_all(current_user(request), "videos", current_user(request).name):
        s = summarize_dataset(meta["path"])
        rows.append(
            [
                meta["name"],
                s.clips,
                round(s.total_duration, 1),
                meta["status"],
                dt.datetime.fromtimestamp(meta["created_at"]).strftime("%m-%d %H:%M"),
                meta.get("job_id") or "",
            ]
        )
    return pd.DataFrame(rows, columns=DATASET_COLUMNS)


def datasets_when_done(job_id: str, request: gr.Request):
    """The datasets list again once the panel's job has ended (not on every tick)."""
    job = _own_job((job_id or "").strip(), current_user(request))
    return list_datasets(request) if job and job["status"] in store.FINAL else gr.update()


def pick_dataset(table: pd.DataFrame, evt: gr.SelectData):
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return str(table.iloc[row]["task"])


def build() -> None:
    d, h = DEFAULTS, field_help  # every default and help line comes from VideoOptions
    gr.Markdown(
        "Turn videos into a video LoRA dataset: each video (or clip) converted to the trainer's frame "
        "rate as `N.mp4` with its caption `N.txt`, plus `dataset.toml` for diffusion-pipe."
    )
    with gr.Row():
        with gr.Column(scale=3):
            files = gr.File(
                label="Videos or a ZIP",
                file_count="multiple",
                file_types=["video", ".zip"],
                elem_id="videos-files",
                height=140,
            )
            server_folder = gr.Textbox(
                label="…or a folder on the server",
                placeholder="/data/videos/shoot1",
                info="Only folders the studio's admin has opened for reading can be used.",
                elem_id="videos-server-folder",
                max_length=4096,
            )
            with gr.Row():
                name = gr.Textbox(
                    label="Dataset name",
                    placeholder="wan_dance_v1",
                    elem_id="videos-name",
                    scale=3,
                    max_length=64,
                )
                check = gr.Button("Check name", size="sm", scale=1, elem_id="videos-check")
            name_status = gr.Markdown(elem_id="videos-name-status")
            examples(
                [files, name],
                lambda home: (example_media.videos(home), "example_clips"),
                label="Example: two short clips (click, then Start)",
                elem_id="videos-examples",
            )
            # Start and the job's progress together: in view when you press Start
            start_btn = gr.Button("Start", variant="primary", elem_id="videos-start")
            start_status = gr.Markdown(elem_id="videos-start-status")
            panel = job_panel("videos")
        with gr.Column(scale=2):
            preset = gr.Radio(
                PRESET_CHOICES,
                value=d["preset"],
                label="Trainer preset (frame rate)",
                info=h("preset"),
                elem_id="videos-preset",
            )
            fps = gr.Number(
                label="Custom fps",
                value=d["fps"],
                minimum=0,
                maximum=240,
                visible=False,
                info=h("fps"),
            )
            with gr.Row():
                max_side = gr.Number(
                    label="Max side (px, empty: keep)",
                    value=d["max_side"],
                    minimum=0,
                    maximum=8192,
                    precision=0,
                )
                bucket = gr.Dropdown(
                    BUCKETS,
                    value="keep aspect",
                    label="Resolution bucket (crop)",
                    info=h("resolution"),
                )
            with gr.Row():
                split = gr.Radio(
                    [("No split", "none"), ("Fixed seconds", "fixed"), ("Scene cuts", "scenes")],
                    value=d["split"],
                    label="Split",
                    info=h("split"),
                )
                clip_seconds = gr.Number(
                    label="Clip seconds", value=d["clip_seconds"], minimum=0, maximum=3600
                )
            frame_policy = gr.Radio(
                [("Warn", "warn"), ("Trim to 4k+1", "trim"), ("Drop too short", "drop")],
                value=d["frame_policy"],
                label="Frame buckets",
                info=h("frame_policy"),
            )
    with gr.Accordion(
        "Captions (default: the prefix only; open to caption with a model or an API)",
        open=False,
        elem_id="videos-captions",
    ):
        with gr.Row():
            provider = gr.Radio(
                [
                    ("None (prefix only)", "none"),
                    ("Local model", "local"),
                    ("OpenAI-compatible API", "api"),
                ],
                value=d["caption_provider"],
                label="Caption provider",
                info=h("caption_provider"),
                elem_id="videos-provider",
            )
            caption_method = gr.Dropdown(
                [(p.label, p.name) for p in CAPTION_PRESETS.values()],
                value=d["caption_method"],
                label="Caption method",
            )
            caption_frames = gr.Slider(
                1,
                16,
                value=d["caption_frames"],
                step=1,
                label="Frames to caption",
                info=h("caption_frames"),
            )
        with gr.Row():
            local_model = gr.Textbox(
                label="Local model",
                info=h("local_model"),
                value=d["local_model"],
                placeholder="florence-community/Florence-2-base",
                max_length=500,
            )
            api_endpoint = gr.Dropdown(
                ["", *sorted(get_settings().endpoints)],
                value="",
                label="API endpoint",
                info=h("api_endpoint"),
            )
            api_base_url = gr.Textbox(
                label="API base URL (admins)",
                value=d["api_base_url"],
                placeholder="https://host/v1",
                max_length=500,
            )
            api_key = gr.Textbox(
                label="API key", type="password", placeholder="never stored", max_length=500
            )
        with gr.Row():
            api_models = gr.Textbox(
                label="API models, in priority order (comma or one per line)",
                lines=2,
                placeholder="qwen-vl-max, gpt-4o-mini",
            )
            api_retries = gr.Number(
                label="Retries per model",
                value=d["api_retries"],
                minimum=0,
                maximum=10,
                precision=0,
            )
            rewrite = gr.Checkbox(
                label="LLM rewrite of each caption (needs the API)",
                value=d["rewrite"],
                info=h("rewrite"),
            )
        with gr.Row():
            prefix = gr.Textbox(label="Prefix", value=d["prefix"], info=h("prefix"), max_length=500)
            trigger = gr.Textbox(
                label="Trigger word (first in every caption)",
                value=d["trigger"],
                placeholder="ohwx",
                max_length=100,
            )
    with gr.Group(elem_id="videos-result"):
        notes = gr.Markdown(elem_id="videos-result-notes")
        preview = gr.Image(
            label="Preview: first frames with captions",
            type="filepath",
            interactive=False,
            elem_id="videos-preview",
            height=420,
        )
        clip_table = gr.Dataframe(
            headers=CLIP_COLUMNS,
            interactive=False,
            wrap=True,
            elem_id="videos-clips",
            label="Clips",
            column_widths=CLIP_WIDTHS,
        )
        zip_file = gr.File(label="Dataset ZIP", interactive=False, elem_id="videos-zip", height=80)
    with gr.Row():
        gr.Markdown("### Video datasets")
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="videos-refresh")
    table = gr.Dataframe(
        headers=DATASET_COLUMNS,
        interactive=False,
        elem_id="videos-datasets",
        column_widths=DATASET_WIDTHS,
    )
    gr.Markdown("Select a row to open its build in the job panel above.")

    controls = {
        "preset": preset,
        "fps": fps,
        "max_side": max_side,
        "resolution": bucket,
        "split": split,
        "clip_seconds": clip_seconds,
        "frame_policy": frame_policy,
        "caption_provider": provider,
        "caption_method": caption_method,
        "caption_frames": caption_frames,
        "local_model": local_model,
        "api_endpoint": api_endpoint,
        "api_base_url": api_base_url,
        "api_models": api_models,
        "api_retries": api_retries,
        "rewrite": rewrite,
        "prefix": prefix,
        "trigger": trigger,
    }
    assert list(controls) == OPTION_FIELDS and set(OPTION_FIELDS) <= set(VideoOptions.model_fields)
    preset.change(
        lambda p: gr.update(visible=p == "custom"),
        preset,
        fps,
        api_visibility="private",
        queue=False,
    )
    check.click(check_name, name, name_status, api_name="videos_check_name")
    name.blur(check_name, name, name_status, api_visibility="private", queue=False)
    start_btn.click(
        start,
        [files, server_folder, name, api_key, *controls.values()],
        [panel.job_id, start_status],
        api_name="videos_start",
    )
    result_outputs = [preview, clip_table, notes, zip_file]
    panel.job_id.change(
        result_view, panel.job_id, result_outputs, api_name="videos_result", show_progress="hidden"
    )
    panel.status.change(
        result_view, panel.job_id, result_outputs, api_visibility="private", show_progress="hidden"
    )
    panel.status.change(
        datasets_when_done, panel.job_id, table, api_visibility="private", show_progress="hidden"
    )
    refresh.click(list_datasets, None, table, api_name="videos_datasets")
    table.select(pick_dataset, table, panel.job_id, api_visibility="private")
    page_load.add(list_datasets, None, table)
