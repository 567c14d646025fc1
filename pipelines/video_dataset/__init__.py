"""Dataset builder for videos (seed 000): videos -> ``N.mp4`` + ``N.txt`` for
video LoRA trainers (diffusion-pipe, musubi-tuner).

Entry point: :func:`build_video_dataset`. CLI: ``python -m pipelines.video_dataset build``.
"""

# The names below are imported on first use (``__init__.pyi`` lists them), so
# importing one module of the package (its options, its model table) does not
# import the whole pipeline: a worker's lanes start faster.
import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
