"""The web layer: Gradio tabs and the REST API. It submits jobs and reads
their records; it never imports torch or runs a pipeline in a request."""

from studio import gradio_stubs

gradio_stubs.skip()  # before any studio module imports Gradio (see gradio_stubs)
