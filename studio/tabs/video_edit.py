"""Video edit (seed 003): mask what a text names in every frame and edit it
as an instruction says, temporally smoothed.

The user picks a clip (upload, or a file inside STUDIO_ALLOWED_ROOTS), types
what to mask and what to do, then *Preview mask* (one frame), *Preview edit*
(seed's ``single_frame`` mode) and *Run* (the whole clip). Each button submits
a job (``jobs.tools.video_edit``) and returns at once; the job panel follows
it (stage, frame n/N, ETA, log). When a job ends, its pictures, the three
players (input | mask | output) and the downloads fill in from the job's
folder, so a reload or another day shows the same. No model runs here.

Every option in the Advanced accordion comes from
``pipelines.video_edit.VideoEditOptions`` (defaults, limits, help).

API names (``gradio_client``): ``/video_edit_preview_mask``,
``/video_edit_preview_edit``, ``/video_edit_run``, ``/video_edit_result``,
``/video_edit_models``, and the panel's ``/video_edit_job_status``,
``/video_edit_job_cancel``, ``/video_edit_job_retry``.
"""

from __future__ import annotations

import html
import typing
from pathlib import Path
from typing import Any

import gradio as gr
from pydantic import ValidationError

from jobs import store
from jobs.tools import video_edit as edits
from pipelines import examples as example_media
from pipelines.errors import StudioError
from pipelines.video_edit.models import available_models
from pipelines.video_edit.options import nest_extra, option_defaults, option_fields
from studio.errors import ui_error
from studio.examples import examples
from studio.job_panel import job_panel
from studio.page_load import page_load
from studio.ui_user import current_user

TEXTS = {"model_path", "sam_path", "clipseg_path"}
OPTION_NAMES = list(option_fields())
LABELS = {
    "mode": "Mode (Run)",
    "max_frames": "Max frames (0: all)",
    "image_guidance_scale": "Image guidance",
    "guidance_scale": "Text guidance",
    "erode_kernel": "Erode kernel (px)",
    "num_inference_steps": "Steps",
    "apply_smoothing": "Temporal smoothing",
    "smoothing_window": "Smoothing window (frames)",
    "smoothing_alpha": "Smoothing alpha",
    "seed": "Seed",
    "frame_index": "Frame (previews, single_frame)",
    "model_path": "InstructPix2Pix model",
    "sam_path": "SAM3 model",
    "clipseg_path": "CLIPSeg model",
    "mask_backend": "Mask backend",
    "mask_threshold": "Mask threshold",
    "feather": "Feather (px)",
    "working_size": "Working size (px)",
    "batch_size": "Batch size",
    "gpus": "GPUs (0: one; several: balanced)",
}


def _limits(field) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in field.metadata:
        for attr, key in (
            ("ge", "minimum"),
            ("gt", "minimum"),
            ("le", "maximum"),
            ("lt", "maximum"),
        ):
            if getattr(m, attr, None) is not None:
                out[key] = getattr(m, attr)
    return out


def _control(name: str, field, default: Any):
    """One Advanced control for an option, from its pydantic field."""
    label, info = LABELS.get(name, name), field.description
    args = [a for a in typing.get_args(field.annotation) if a is not type(None)]
    kind = args[0] if args else field.annotation
    elem = f"video-edit-{name.replace('_', '-')}"
    if typing.get_origin(field.annotation) is typing.Literal:
        return gr.Dropdown(
            list(typing.get_args(field.annotation)),
            value=default,
            label=label,
            info=info,
            elem_id=elem,
        )
    if field.annotation is bool:
        return gr.Checkbox(value=default, label=label, info=info, elem_id=elem)
    if name in TEXTS:
        return gr.Textbox(
            value=default or "",
            label=label,
            info=info,
            max_length=1000,
            elem_id=elem,
            placeholder="default: environment variable, models folder or HF cache",
        )
    integer = kind is int or field.annotation is int
    limits = _limits(field)
    if default is None:  # an optional number (max_frames): 0 stands for "none"
        default, limits["minimum"] = 0, 0
    return gr.Number(
        value=default,
        label=label,
        info=info,
        precision=0 if integer else None,
        elem_id=elem,
        **limits,
    )


def _values(names: list[str], values: tuple) -> dict[str, Any]:
    fields = option_fields()
    out: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        if name in TEXTS:
            value = (value or "").strip() or None
        elif value in ("", None) or (value == 0 and fields[name].default is None):
            value = None  # an empty optional number, or its 0
        elif fields[name].annotation in (int, int | None):
            value = int(value)
        out[name] = value
    return out


def _submit(
    what: str,
    names: list[str],
    video: str | None,
    server: str,
    mask_prompt: str,
    edit_prompt: str,
    values: tuple,
    request: gr.Request,
) -> tuple[str, str]:
    user = current_user(request)
    fields = {
        "mask_prompt": mask_prompt or "",
        "edit_prompt": edit_prompt or "",
        **nest_extra(_values(names, values)),
    }
    if what == "mask" and not fields["edit_prompt"].strip():
        fields["edit_prompt"] = "(mask preview)"
    try:
        result = edits.submit(
            fields,
            user,
            upload=Path(video) if video else None,
            server_video=None if video else (server or "").strip(),
            what=what,
        )  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ui_error(ValueError(problems)) from None
    except (StudioError, ValueError) as exc:
        raise ui_error(exc) from None
    verb = {"mask": "Mask preview", "edit": "Edit preview", "run": "Video edit"}[what]
    return result[
        "studio_job_id"
    ], f"{verb} queued: job `{result['studio_job_id']}` ({result['lane']} lane)."


def preview_mask(video, server, mask_prompt, edit_prompt, request: gr.Request, *values):
    """Queue a mask preview of one frame (frame_index); returns (job id, note)."""
    return _submit("mask", OPTION_NAMES, video, server, mask_prompt, edit_prompt, values, request)


def preview_edit(video, server, mask_prompt, edit_prompt, request: gr.Request, *values):
    """Queue an edit preview of one frame (seed's single_frame mode); returns (job id, note)."""
    return _submit("edit", OPTION_NAMES, video, server, mask_prompt, edit_prompt, values, request)


def run(video, server, mask_prompt, edit_prompt, request: gr.Request, *values):
    """Queue the edit of the clip; returns (job id, note)."""
    return _submit("run", OPTION_NAMES, video, server, mask_prompt, edit_prompt, values, request)


def _own_job(job_id: str, request: gr.Request) -> dict[str, Any] | None:
    job_id = (job_id or "").strip()
    if not job_id:
        return None
    try:
        return store.job_for(job_id, current_user(request), edits.KINDS)
    except store.JobNotFound:
        return None


def show_result(job_id: str, request: gr.Request):
    """(mask preview, edit preview, input player, mask player, output player, downloads, note) for a job."""
    keep = gr.update()
    job = _own_job(job_id, request)
    if job is None or job["status"] != "succeeded":
        note = "" if job is None else f"Job `{job['id']}` is {job['status']}."
        return keep, keep, keep, keep, keep, keep, note
    outputs = job["outputs"]
    folder = Path(outputs.get("output_dir") or store.job_dir(job["id"]) / "outputs")
    names = outputs.get("names", {})

    def path(key: str) -> str | None:
        name = names.get(key)
        return str(folder / name) if name and (folder / name).is_file() else None

    what = outputs.get("what", "run")
    note = html.escape(outputs.get("message") or "")
    if what == "mask":
        return path("mask_png"), keep, keep, keep, keep, keep, f"Mask preview: {note}"
    if what == "edit":
        return (
            path("mask_png"),
            path("compare_png"),
            keep,
            keep,
            keep,
            keep,
            f"Edit preview: {note}",
        )
    source = job["params"].get("input", {})
    upload = (
        store.job_dir(job["id"]) / "inputs" / source["upload"] if source.get("upload") else None
    )
    input_video = str(upload) if upload and upload.is_file() else None
    if input_video is None and source.get("server_path"):
        note += f" (input: server file {html.escape(source['server_path'])})"
    files = [p for p in (path("output"), path("mask"), path("log"), path("status")) if p]
    return (
        path("mask_png") or keep,
        path("compare_png") or keep,
        input_video,
        path("mask"),
        path("output"),
        files,
        f"Done: {note}",
    )


def models_markdown() -> str:
    rows = ["| model | role | here? | where / how to get it |", "|---|---|---|---|"]
    for m in available_models(edits.search_dirs()):
        where = m["where"] if m["available"] else m["how_to_get"]
        rows.append(
            f"| {m['model']} | {m['role']} | {'✅' if m['available'] else '—'} | "
            f"{html.escape(str(where or ''))} |"
        )
    return "\n".join(rows)


def build() -> None:
    defaults = option_defaults()
    fields = option_fields()
    gr.Markdown(
        "Mask what you name in every frame (SAM3, CLIPSeg, or MediaPipe for people) and edit it as you say "
        "(InstructPix2Pix on the crop around the mask, smoothed over time). Try **Preview mask** and "
        "**Preview edit** on one frame, then **Run** on the clip. Jobs run in the worker: you can close "
        "the browser and come back."
    )
    with gr.Row():
        with gr.Column(scale=1):
            video = gr.Video(
                label="Clip (upload)", sources=["upload"], elem_id="video-edit-upload", height=240
            )
            server = gr.Textbox(
                label="…or a video file on the server",
                placeholder="/data/clips/take1.mp4",
                info="Only inside the folders the admin opened (STUDIO_ALLOWED_ROOTS).",
                max_length=1000,
                elem_id="video-edit-server-path",
            )
            mask_prompt = gr.Textbox(
                label="What to mask",
                placeholder="hair · person · the red car",
                max_length=300,
                elem_id="video-edit-mask-prompt",
            )
            edit_prompt = gr.Textbox(
                label="What to do",
                placeholder="make the hair red",
                max_length=300,
                elem_id="video-edit-edit-prompt",
            )
            examples(
                [video, mask_prompt, edit_prompt],
                example_media.video_edit,
                label="Example: a person walking → a bronze statue (click, then Preview mask or Run)",
                elem_id="video-edit-examples",
            )
            with gr.Accordion("Advanced", open=False, elem_id="video-edit-advanced"):
                controls = {
                    name: _control(name, field, defaults[name]) for name, field in fields.items()
                }
            with gr.Row():
                preview_mask_btn = gr.Button("Preview mask", elem_id="video-edit-preview-mask")
                preview_edit_btn = gr.Button("Preview edit", elem_id="video-edit-preview-edit")
                run_btn = gr.Button("Run", variant="primary", elem_id="video-edit-run")
            submitted = gr.Markdown(elem_id="video-edit-submitted")
        with gr.Column(scale=1):
            panel = job_panel("video_edit")
            with gr.Row():
                mask_view = gr.Image(
                    label="Mask preview (overlay)",
                    type="filepath",
                    interactive=False,
                    height=220,
                    elem_id="video-edit-mask-view",
                )
                edit_view = gr.Image(
                    label="Edit preview: input | mask | edited",
                    type="filepath",
                    interactive=False,
                    height=220,
                    elem_id="video-edit-edit-view",
                )
    note = gr.Markdown(elem_id="video-edit-note")
    with gr.Row(equal_height=True):
        player_in = gr.Video(
            label="Input", interactive=False, elem_id="video-edit-player-input", height=300
        )
        player_mask = gr.Video(
            label="Mask", interactive=False, elem_id="video-edit-player-mask", height=300
        )
        player_out = gr.Video(
            label="Output", interactive=False, elem_id="video-edit-player-output", height=300
        )
    downloads = gr.File(
        label="Downloads: output, mask video, log, status.json",
        file_count="multiple",
        interactive=False,
        height=110,
        elem_id="video-edit-downloads",
    )
    with gr.Accordion("Models on this machine", open=False, elem_id="video-edit-models-box"):
        models = gr.Markdown(elem_id="video-edit-models")
        page_load.add(models_markdown, None, models)  # read at every page load
        refresh = gr.Button("Refresh", size="sm", elem_id="video-edit-models-refresh")

    assert list(controls) == OPTION_NAMES
    inputs = [video, server, mask_prompt, edit_prompt, *controls.values()]
    preview_mask_btn.click(
        preview_mask, inputs, [panel.job_id, submitted], api_name="video_edit_preview_mask"
    )
    preview_edit_btn.click(
        preview_edit, inputs, [panel.job_id, submitted], api_name="video_edit_preview_edit"
    )
    run_btn.click(run, inputs, [panel.job_id, submitted], api_name="video_edit_run")
    outputs = [mask_view, edit_view, player_in, player_mask, player_out, downloads, note]
    panel.job_id.change(
        show_result, panel.job_id, outputs, api_name="video_edit_result", show_progress="hidden"
    )
    panel.result.change(
        show_result, panel.job_id, outputs, api_visibility="private", show_progress="hidden"
    )
    refresh.click(models_markdown, None, models, api_name="video_edit_models")
