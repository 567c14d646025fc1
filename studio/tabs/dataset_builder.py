"""Dataset builder tab: photos → LoRA image dataset; videos → video dataset."""

from __future__ import annotations

import gradio as gr


def build() -> None:
    from studio.tabs import photo_dataset, video_dataset

    with gr.Tabs():
        with gr.Tab("Photos", elem_id="tab-dataset-photos"):
            photo_dataset.build()
        with gr.Tab("Videos", elem_id="tab-dataset-videos"):
            video_dataset.build()
