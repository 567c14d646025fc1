"""Dance generation (seed 004): a reference image and a driving dance video
become an animated video of the reference person.

- ``config``: the experiment config (seed 004's fields and defaults) — one schema
  for REST, the tab and both generators;
- ``poses``, ``draw``, ``align``: MediaPipe poses as OpenPose-18 skeletons in
  DWPose's colours, aligned to the reference, and SteadyDancer's negative
  augmentation;
- ``prepare``: SteadyDancer's input folder (``ref_image.png``,
  ``driving_video.mp4``, ``prompt.txt``, ``positive/``, ``negative/``) and a pose preview;
- ``steadydancer``: the official code as a child process (command line, progress
  from its output);
- ``wan_animate``: diffusers' ``WanAnimatePipeline`` in the GPU worker;
- ``video``: PyAV reading, writing and the decode check of results.

Only ``config`` is imported here: MediaPipe, OpenCV, PyAV and torch load when a
step runs.
"""

from pipelines.dance.config import (
    BACKENDS,
    DEFAULT_PROMPT,
    STEADYDANCER_SIZES,
    ConfigOverrides,
    DanceConfig,
    frame_size,
    make_config,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_PROMPT",
    "STEADYDANCER_SIZES",
    "ConfigOverrides",
    "DanceConfig",
    "frame_size",
    "make_config",
]
