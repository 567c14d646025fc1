"""Frame review tab → QR codes: simple, artistic (over a picture) and animated
(over a GIF) QR codes, each a ``frames.qr`` job. Defaults and limits come from
:class:`pipelines.frames.qr.QROptions`; the version is automatic unless you
choose a smallest version."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr

from jobs import store
from jobs.tools.frames import submit
from pipelines.errors import StudioError
from pipelines.frames.qr import WORDS_MAX, QROptions
from studio.errors import ui_error
from studio.ui_user import current_user

DEFAULTS = {name: f.default for name, f in QROptions.model_fields.items() if name != "words"}
VERSIONS = ["auto"] + [str(v) for v in range(1, 41)]


def make_qr(
    mode: str,
    words: str,
    version: str,
    level: str,
    colorized: bool,
    contrast: float,
    brightness: float,
    picture: str | None,
    request: gr.Request,
):
    options = {
        "words": (words or "").strip(),
        "version": None if version in (None, "", "auto") else int(version),
        "level": level,
        "colorized": bool(colorized),
        "contrast": float(contrast),
        "brightness": float(brightness),
    }
    if not options["words"]:
        raise gr.Error("Type the text or URL to encode.", print_exception=False)
    try:
        job = submit.submit_qr(
            options, mode, current_user(request), Path(picture) if picture else None
        )
    except StudioError as exc:
        raise ui_error(exc) from None
    return job["id"]


def qr_result(job_id: str, request: gr.Request) -> tuple[Any]:
    """The finished QR image of the caller's job (the job panel asks with its own poll,
    ``extra=``, while the job runs and once when it ends); no change until then."""
    job = None
    if (job_id or "").strip():
        try:
            job = store.job_for(job_id.strip(), current_user(request), "frames.qr")
        except StudioError:
            job = None
    if job is None or job["status"] != "succeeded" or not job["outputs"].get("file"):
        return (gr.update(),)
    path = store.output_path(job["id"], job["outputs"]["file"])
    copy = (
        Path(tempfile.mkdtemp(prefix="studio-qr-")) / path.name
    )  # served from Gradio's temp, not the job folder
    shutil.copyfile(path, copy)
    return (str(copy),)


def build(job_panel) -> None:
    with gr.Row():
        with gr.Column():
            mode = gr.Radio(
                ["simple", "artistic", "animated"],
                value="simple",
                label="Kind",
                info="artistic: over a picture; animated: over a GIF",
                elem_id="frames-qr-mode",
            )
            words = gr.Textbox(
                label="Words (text or URL)", elem_id="frames-qr-words", max_length=WORDS_MAX
            )
            with gr.Row():
                version = gr.Dropdown(
                    VERSIONS,
                    value="auto",
                    label="Version",
                    info="auto: the smallest that fits; a number is the smallest to use",
                    elem_id="frames-qr-version",
                )
                level = gr.Dropdown(
                    ["L", "M", "Q", "H"],
                    value=DEFAULTS["level"],
                    label="Error correction",
                    elem_id="frames-qr-level",
                )
            colorized = gr.Checkbox(
                value=DEFAULTS["colorized"], label="Colorized (keep the picture's colours)"
            )
            contrast = gr.Slider(0.1, 3.0, value=DEFAULTS["contrast"], step=0.1, label="Contrast")
            brightness = gr.Slider(
                0.1, 3.0, value=DEFAULTS["brightness"], step=0.1, label="Brightness"
            )
            picture = gr.File(
                label="Background picture (PNG/JPG/BMP) or GIF",
                type="filepath",
                file_types=[".png", ".jpg", ".jpeg", ".bmp", ".gif"],
            )
            go = gr.Button("Make QR code", variant="primary", elem_id="frames-qr-make")
        with gr.Column():
            result = gr.Image(
                label="QR code", type="filepath", interactive=False, elem_id="frames-qr-result"
            )
            # the image follows the panel's job in the panel's own poll
            panel = job_panel("frames_qr", label="QR job", extra=(qr_result, [result]))
    go.click(
        make_qr,
        [mode, words, version, level, colorized, contrast, brightness, picture],
        panel.job_id,
        api_name="frames_qr",
    )
