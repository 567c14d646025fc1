"""The build options of the photo tab (quality filter, duplicates, crop, captions), each
component added to the options JSON through ``add(group, option, component)``; defaults
from the pipeline's option dataclasses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from jobs.settings import get_settings


def options_form(add: Callable[[str, str, Any], Any]) -> dict[str, Any]:
    """The option accordions; returns the components the tab wires events to."""
    from pipelines.captions import CaptionOptions
    from pipelines.photo_dataset import CropOptions, DedupOptions, QualityOptions

    q, d, c, cap = QualityOptions(), DedupOptions(), CropOptions(), CaptionOptions()
    with gr.Accordion("Quality filter", open=False), gr.Row():
        min_side = add(
            "quality",
            "min_side",
            gr.Number(
                q.min_side,
                label="min shorter side (px)",
                precision=0,
                minimum=1,
                elem_id="photos-min-side",
                info="Photos smaller than this on their shorter side are left out.",
            ),
        )
        add(
            "quality",
            "min_sharpness",
            gr.Number(
                q.min_sharpness,
                label="min sharpness",
                info="Blurrier photos are left out (typical 30-150).",
            ),
        )
        add(
            "quality",
            "min_brightness",
            gr.Number(q.min_brightness, label="min brightness (0-255)"),
        )
        add(
            "quality",
            "max_brightness",
            gr.Number(q.max_brightness, label="max brightness (0-255)"),
        )
    with gr.Accordion("Duplicates and burst shots", open=False):
        gr.Markdown(
            "Copies of one photo, and shots of one person in the same place and pose taken in a "
            "burst, form a group; each group keeps its sharpest photos. Higher numbers below "
            "mean photos must be more alike to be grouped.",
            elem_classes=["help"],
        )
        with gr.Row():
            add(
                "dedup",
                "keep_per_cluster",
                gr.Number(
                    d.keep_per_cluster,
                    label="photos kept per group",
                    precision=0,
                    minimum=1,
                    elem_id="photos-keep-per-cluster",
                ),
            )
            add(
                "dedup",
                "phash_max_distance",
                gr.Slider(
                    0,
                    32,
                    d.phash_max_distance,
                    step=1,
                    label="copy tolerance",
                    info="How different two copies of one photo may look (0 = identical, of 64).",
                ),
            )
            add(
                "dedup",
                "use_faces",
                gr.Checkbox(d.use_faces, label="group burst shots by face and pose"),
            )
        with gr.Row():
            add(
                "dedup",
                "face_sim_th2",
                gr.Slider(
                    0,
                    1,
                    d.face_sim_th2,
                    step=0.01,
                    label="same face (strong)",
                    info="Face likeness that counts as the same person.",
                ),
            )
            add(
                "dedup",
                "face_sim_th1",
                gr.Slider(
                    0,
                    1,
                    d.face_sim_th1,
                    step=0.01,
                    label="same face (weak)",
                    info="A weaker likeness, accepted with near-identical crops.",
                ),
            )
            add(
                "dedup",
                "pose_sim_th",
                gr.Slider(0, 1, d.pose_sim_th, step=0.01, label="same pose"),
            )
        with gr.Row():
            add(
                "dedup",
                "face_ssim_th1",
                gr.Slider(
                    0,
                    1,
                    d.face_ssim_th1,
                    step=0.01,
                    label="face crops alike (with a strong match)",
                ),
            )
            add(
                "dedup",
                "face_ssim_th2",
                gr.Slider(
                    0,
                    1,
                    d.face_ssim_th2,
                    step=0.01,
                    label="face crops alike (with a weak match)",
                ),
            )
        with gr.Row():
            add(
                "dedup",
                "bbox_tol_c",
                gr.Slider(
                    0,
                    0.5,
                    d.bbox_tol_c,
                    step=0.01,
                    label="face position tolerance",
                    info="Share of the photo the face may move.",
                ),
            )
            add(
                "dedup",
                "bbox_tol_wh",
                gr.Slider(0, 0.5, d.bbox_tol_wh, step=0.01, label="face size tolerance"),
            )
    with gr.Accordion("Crop", open=False), gr.Row():
        add(
            "crop",
            "mode",
            gr.Radio(
                ["square", "buckets"],
                value=c.mode,
                label="crop",
                info="square: size×size; buckets: aspect-ratio buckets of ~size² area",
            ),
        )
        add(
            "crop",
            "size",
            gr.Number(c.size, label="size (px)", precision=0, elem_id="photos-crop-size"),
        )
        add(
            "crop",
            "image_format",
            gr.Radio(["jpg", "png"], value=c.image_format, label="format"),
        )
    with gr.Accordion("Captions", open=False):
        with gr.Row():
            provider = add(
                "caption",
                "provider",
                gr.Radio(
                    ["none", "local", "api"],
                    value=cap.provider,
                    label="provider",
                    info="none: trigger word only · local: a VLM in the GPU worker · api: OpenAI-compatible",
                ),
            )
            add(
                "caption",
                "style",
                gr.Radio(["sentence", "tags"], value=cap.style, label="style"),
            )
        with gr.Row():
            add(
                "caption",
                "trigger",
                gr.Textbox(
                    label="trigger word",
                    placeholder="ohwx",
                    elem_id="photos-trigger",
                    info="A rare word the LoRA learns for your subject.",
                ),
            )
            add(
                "caption",
                "prefix",
                gr.Textbox(label="prefix", placeholder="a photo of a woman,"),
            )
        add(
            "caption",
            "instruction",
            gr.Textbox(label="instruction (empty: the default for the style)", lines=2),
        )
        add(
            "caption",
            "identity_words",
            gr.Textbox(
                label="identity words (warn when a caption names them)",
                placeholder="Alice, Alice Smith",
            ),
        )
        with gr.Group(visible=cap.provider == "local") as local_box:
            add(
                "caption",
                "local_model",
                gr.Textbox(cap.local_model, label="local model: Hugging Face id or folder"),
            )
        with gr.Group(visible=cap.provider == "api") as api_box:
            with gr.Row():
                add(
                    "caption",
                    "api_endpoint",
                    gr.Dropdown(
                        ["", *sorted(get_settings().endpoints)],
                        value="",
                        label="API endpoint (STUDIO_API_ENDPOINTS)",
                    ),
                )
                add(
                    "caption",
                    "api_base_url",
                    gr.Textbox(label="API base URL (admins)", placeholder="https://host/v1"),
                )
                api_key = gr.Textbox(label="API key (never stored)", type="password")
            add(
                "caption",
                "api_models",
                gr.Textbox(label="models, in priority order (one per line)", lines=2),
            )
            with gr.Row():
                add(
                    "caption",
                    "api_retries",
                    gr.Number(cap.api_retries, label="retries per model", precision=0),
                )
                add(
                    "caption",
                    "api_timeout",
                    gr.Number(cap.api_timeout, label="timeout (s)"),
                )
    return {
        "min_side": min_side,
        "provider": provider,
        "local_box": local_box,
        "api_box": api_box,
        "api_key": api_key,
    }
