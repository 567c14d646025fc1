"""The web layer: Gradio tabs and the REST API. It submits jobs and reads
their records; it never imports torch or runs a pipeline in a request."""
