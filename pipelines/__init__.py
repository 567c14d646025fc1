"""The work: each module takes paths, parameters and a progress callback and
returns results. Nothing here imports gradio or huey; heavy model libraries
are imported lazily inside the model loaders."""
