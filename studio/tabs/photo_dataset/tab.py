"""The photo tab's layout and events: inputs and options, the build job's panel, the review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from jobs import datasets
from jobs.tools import photo_dataset as photos
from pipelines import examples as example_media
from pipelines.errors import StudioError
from studio.errors import ui_error
from studio.examples import examples
from studio.job_panel import LATER, job_panel
from studio.page_load import page_load
from studio.tabs.photo_dataset.actions import (
    check_sizes,
    crop_choice,
    crop_preview,
    discard,
    lines,
    pick_from_gallery,
    pick_from_table,
    pick_kept,
    save,
    set_crop,
    toggle,
)
from studio.tabs.photo_dataset.options_form import options_form
from studio.tabs.photo_dataset.review import (
    GRID_COLUMNS,
    REJECTED_COLUMNS,
    follow_job,
    list_names,
    load_review,
)
from studio.ui_user import current_user


def build() -> None:
    fields: list[tuple[str, str, Any]] = []  # (group, option, component): the options JSON

    def add(group: str, key: str, component):
        fields.append((group, key, component))
        return component

    gr.Markdown(
        "Turn a ZIP or folder of photos into a LoRA dataset: quality filter → near-duplicate clusters → "
        "crop around the subject → captions → `NNNN.jpg` + `NNNN.txt` ZIP with trainer configs."
    )
    with gr.Row():
        with gr.Column(scale=3):
            upload = gr.File(
                label="ZIP or photos",
                file_count="multiple",
                elem_id="photos-upload",
                file_types=[
                    ".zip",
                    ".jpg",
                    ".jpeg",
                    ".png",
                    ".webp",
                    ".heic",
                    ".heif",
                    ".bmp",
                    ".tif",
                    ".tiff",
                ],
            )
            server = gr.Textbox(
                label="…or a folder or ZIP on this server",
                info="Only folders your administrator has opened to the studio can be read.",
                elem_id="photos-server-path",
            )
            form = options_form(add)
            min_side, provider, api_key = form["min_side"], form["provider"], form["api_key"]
            local_box, api_box = form["local_box"], form["api_box"]
        with gr.Column(scale=2):
            # name, the check, Build and the job's progress together: the progress is in view when you press Build
            name = gr.Textbox(
                label="Dataset name", placeholder="e.g. alice_v1", elem_id="photos-name"
            )
            size_note = gr.Markdown("", elem_id="photos-size-check")
            with gr.Row():
                lower_btn = gr.Button(
                    "Lower the minimum size", visible=False, size="sm", elem_id="photos-lower-min"
                )
                build_btn = gr.Button("Build dataset", variant="primary", elem_id="photos-build")
            keep_all_at = gr.State(0)
            panel = job_panel("photos", label="Build job", extra=LATER)  # follow() below
    examples(
        [upload, name],
        lambda home: (example_media.photos(home), "example_photos"),
        label="Example: five photos with a near-duplicate and a blurry one (click, then Build dataset)",
        elem_id="photos-examples",
    )

    gr.Markdown("### Review")
    with gr.Row():
        dataset = gr.Dropdown(
            label="Dataset", choices=[], allow_custom_value=True, elem_id="photos-dataset", scale=3
        )
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="photos-refresh")
    summary = gr.Markdown("Build a dataset, or choose one above.", elem_id="photos-summary")
    shown = gr.Textbox(visible=False)  # manifest mtime of what is on screen
    with gr.Row():  # one selection for every view: click a photo anywhere, or choose it here
        selected = gr.Dropdown(
            label="Selected photo",
            choices=[],
            value=None,
            allow_custom_value=False,
            elem_id="photos-selected",
            scale=3,
            info="Click a photo in Kept, Groups or Left out, or choose it here.",
        )
        toggle_btn = gr.Button("Keep / drop the selected photo", elem_id="photos-toggle", scale=1)
    with gr.Tabs():
        with gr.Tab("Kept", elem_id="photos-tab-kept"):
            kept_gallery = gr.Gallery(
                label="Kept photos: what goes into the dataset",
                columns=8,
                height=420,
                allow_preview=False,
                elem_id="photos-kept",
            )
        with gr.Tab("Groups", elem_id="photos-tab-clusters"):
            gallery = gr.Gallery(
                label="Groups of near-duplicates: kept and dropped photos",
                columns=6,
                height=420,
                allow_preview=False,
                elem_id="photos-clusters",
            )
        with gr.Tab("Left out", elem_id="photos-tab-rejected"):
            rejected = gr.Dataframe(
                headers=REJECTED_COLUMNS,
                interactive=False,
                wrap=True,
                elem_id="photos-rejected",
                column_widths=["30%", "12%", "46%", "12%"],
            )
        with gr.Tab("Crop", elem_id="photos-tab-crop"), gr.Row():
            with gr.Column():
                crop_info = gr.Markdown("Select a kept photo to see and change its crop.")
                x0 = gr.Slider(0, 4096, 0, step=1, label="left (x0)")
                y0 = gr.Slider(0, 4096, 0, step=1, label="top (y0)")
                x1 = gr.Slider(0, 4096, 1024, step=1, label="right (x1)")
                y1 = gr.Slider(0, 4096, 1024, step=1, label="bottom (y1)")
                set_crop_btn = gr.Button("Use this crop", elem_id="photos-set-crop")
            crop_view = gr.Image(label="Crop preview", type="pil", interactive=False, height=360)
        with gr.Tab("Captions", elem_id="photos-tab-captions"):
            grid = gr.Dataframe(
                headers=GRID_COLUMNS,
                interactive=True,
                static_columns=[0, 1, 3],
                wrap=True,
                elem_id="photos-captions",
                column_widths=["8%", "20%", "52%", "20%"],
            )
    with gr.Row():
        save_btn = gr.Button("Save & repackage", variant="primary", elem_id="photos-save")
        discard_btn = gr.Button("Discard pending flips and crops", elem_id="photos-discard")
    download = gr.File(label="dataset.zip", interactive=False, elem_id="photos-download")

    # --- events
    components = [comp for _, _, comp in fields]

    def submit(files, server_path, dataset_name, key, request: gr.Request, *values):
        options: dict[str, dict] = {}
        for (group, option, _), value in zip(fields, values, strict=True):
            if option in ("identity_words", "api_models"):
                value = lines(value)
            options.setdefault(group, {})[option] = value
        paths = [Path(f if isinstance(f, str) else f.name) for f in files or []]
        user = current_user(request)
        try:
            job = photos.start_build(
                dataset_name,
                user,
                options,
                files=paths,
                server_paths=[server_path] if (server_path or "").strip() else [],
                api_key=key or "",
            )
        except StudioError as exc:
            raise ui_error(exc) from None
        name_ = job["params"]["name"]
        return job["id"], gr.update(
            choices=[m["name"] for m in datasets.list_all(user, "photos", user.name)], value=name_
        )

    provider.change(
        lambda p: (gr.update(visible=p == "local"), gr.update(visible=p == "api")),
        provider,
        [local_box, api_box],
        api_visibility="private",
        queue=False,
    )
    build_btn.click(
        submit,
        [upload, server, name, api_key, *components],
        [panel.job_id, dataset],
        api_name="dataset_photos_build",
    )

    review = [summary, kept_gallery, gallery, rejected, grid, selected, download, shown]
    dataset.change(load_review, dataset, review, api_name="dataset_photos_review")
    refresh.click(list_names, None, dataset, api_name="dataset_photos_list").then(
        load_review, dataset, review, api_visibility="private"
    )
    page_load.add(list_names, None, dataset)
    # the review follows the panel's job (its poll, no timer of the tab's own)
    panel.follow(follow_job, [panel.job_id, *review], [dataset, shown])

    kept_gallery.select(pick_kept, dataset, selected, api_visibility="private")
    gallery.select(pick_from_gallery, dataset, selected, api_visibility="private")
    rejected.select(pick_from_table, rejected, selected, api_visibility="private")
    toggle_btn.click(toggle, [dataset, selected], review, api_name="dataset_photos_toggle")

    boxes = [x0, y0, x1, y1]
    selected.change(
        crop_choice, [dataset, selected], [*boxes, crop_info], api_visibility="private"
    ).then(crop_preview, [dataset, selected, *boxes], crop_view, api_visibility="private")
    for slider in boxes:
        slider.release(
            crop_preview,
            [dataset, selected, *boxes],
            crop_view,
            api_visibility="private",
            show_progress="hidden",
        )
    set_crop_btn.click(
        set_crop, [dataset, selected, *boxes], summary, api_name="dataset_photos_set_crop"
    )

    # before the run: the minimum size against the inputs' headers
    sizes_in, sizes_out = [upload, server, min_side], [size_note, lower_btn, keep_all_at]
    upload.change(
        check_sizes,
        sizes_in,
        sizes_out,
        api_name="dataset_photos_check_sizes",
        show_progress="hidden",
    )
    server.blur(check_sizes, sizes_in, sizes_out, api_visibility="private", show_progress="hidden")
    server.submit(
        check_sizes, sizes_in, sizes_out, api_visibility="private", show_progress="hidden"
    )
    min_side.change(
        check_sizes, sizes_in, sizes_out, api_visibility="private", show_progress="hidden"
    )
    lower_btn.click(lambda v: v, keep_all_at, min_side, api_visibility="private", queue=False)

    save_btn.click(save, [dataset, grid], panel.job_id, api_name="dataset_photos_save")
    discard_btn.click(discard, dataset, review, api_name="dataset_photos_discard")
