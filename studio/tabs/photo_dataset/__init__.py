"""Dataset builder → Photos: photos in, a deduplicated, cropped, captioned LoRA dataset out (seed 002).

1. Inputs and options → "Build dataset" submits a ``photo_dataset.build`` job (the panel shows it).
2. Review, read from the dataset's folder on the server (manifest.json and previews):
   the cluster gallery (select a photo, toggle keep/drop), the rejected list with
   reasons, crop boxes (sliders with a live preview), captions in a grid.
   Flips and crop boxes wait in the dataset's pending edits, in the tool's records (a reload
   keeps them); "Save & repackage" sends them with the caption edits to a
   ``photo_dataset.repackage`` job.
"""

from studio.tabs.photo_dataset.review import REVIEW_OUTPUTS, gallery_names, read_pending, review_for
from studio.tabs.photo_dataset.tab import build

__all__ = ["REVIEW_OUTPUTS", "build", "gallery_names", "read_pending", "review_for"]
