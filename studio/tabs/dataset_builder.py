"""Dataset builder tab: photos → LoRA image dataset; videos → video dataset."""

from __future__ import annotations

import gradio as gr

from studio.job_panel import visible_tabs


def build() -> None:
    from studio.tabs import photo_dataset, video_dataset

    with gr.Tabs():
        with (
            gr.Tab("Photos", elem_id="tab-dataset-photos") as photos_tab,
            visible_tabs.tab("tab-dataset-photos"),
        ):
            photo_dataset.build()
        with (
            gr.Tab("Videos", elem_id="tab-dataset-videos") as videos_tab,
            visible_tabs.tab("tab-dataset-videos"),
        ):
            video_dataset.build()
    # the timers of a sub-tab (its job panel, the review's refresh) run only while it is shown
    visible_tabs.wire([("tab-dataset-photos", photos_tab), ("tab-dataset-videos", videos_tab)])
