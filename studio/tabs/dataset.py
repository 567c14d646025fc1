"""Dataset builder tab: photos → LoRA image dataset; videos → video dataset."""

from __future__ import annotations

import gradio as gr


def build() -> None:
    from studio.tabs import dataset_photos, dataset_videos

    with gr.Tabs():
        with gr.Tab("Photos", elem_id="tab-dataset-photos"):
            dataset_photos.build()
        with gr.Tab("Videos", elem_id="tab-dataset-videos"):
            dataset_videos.build()
