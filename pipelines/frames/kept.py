"""Small colour copies of the frames where the screen changed, kept during the
decoding pass, so the candidate thumbnails need no second decode.

The detector's candidates are frames where some cell of the detection grid
changed (a first lasting change, a settle, a large step). During the pass a
frame is kept when its grid differs from the last kept frame's by more than
``KEEP_LEVEL`` grey levels in some cell — a bit below the detector's smallest
threshold — as a small I420 image (luma area-averaged from the subsampled
luma the metrics already read — kept as read, every 4th row and column, and
shrunk when its thumbnail is written — chroma point-sampled): about 200 KB for a
1080×2400 recording (270×600 luma, 90×200 chroma, a 180×400 thumbnail), at most
``MAX_KEPT_BYTES`` in all. A candidate that was not kept (a slow fade, the budget spent) is read
from the recording as before (:func:`.analysis.write_thumbnails`).
"""

from __future__ import annotations

import math

import numpy as np

KEEP_LEVEL = 4  # grey levels of a grid cell (the detector needs at least 6)
MAX_KEPT_BYTES = 96 * 2**20
I420_FORMATS = {"yuv420p", "yuvj420p"}


class KeptFrames:
    """Frames kept by their timestamp (``pts``); ``image(pts)`` gives an upright RGB ``PIL.Image``."""

    def __init__(self, max_side: int, max_bytes: int = MAX_KEPT_BYTES):
        self.max_side = max_side
        self.max_bytes = max_bytes
        self.frames: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.bytes = 0
        self.full = False  # the budget was spent: later changes were not kept
        self.rotation = 0
        self._last_grid: np.ndarray | None = None
        self._step = 0
        self._size = (0, 0)

    def offer(self, frame, luma: np.ndarray, grid: np.ndarray) -> None:
        """Keep ``frame`` (a decoded ``av.VideoFrame``) when its detection grid changed since
        the last kept frame. ``luma``: its Y plane, whole or every n-th row and column (the
        metrics' subsampled plane: shrinking that costs a fraction of reading the plane again)."""
        import cv2

        if (
            self._last_grid is not None
            and cv2.norm(grid, self._last_grid, cv2.NORM_INF) <= KEEP_LEVEL  # largest difference
        ):
            return
        if frame.format.name not in I420_FORMATS or self.full:
            return
        if not self._step:
            w, h = frame.width, frame.height
            # An even step (the chroma planes are point-sampled every step/2-th pixel); 1 for
            # small recordings.
            need = max(w, h) / self.max_side
            self._step = 1 if need <= 1 else 2 * math.ceil(need / 2)
            self._size = (max(2, w // self._step // 2 * 2), max(2, h // self._step // 2 * 2))
            self.rotation = round(frame.rotation or 0) % 360
        tw, th = self._size
        step = self._step
        # The luma as the metrics read it, shrunk only when a thumbnail is written (a few
        # candidates, against every changed frame: 0.5 ms each at 1.5x, INTER_AREA).
        y = luma if luma.base is None else luma.copy()  # a view of the decoder's buffer: copied
        chroma = []
        for k in (1, 2):
            plane = frame.planes[k]
            c = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
            chroma.append(np.ascontiguousarray(c[::step, ::step][: th // 2, : tw // 2]))
        if chroma[0].shape != (th // 2, tw // 2):
            return  # odd geometry: leave it to the second read
        size = y.nbytes + chroma[0].nbytes * 2
        if self.bytes + size > self.max_bytes:
            self.full = True
            return
        self.frames[int(frame.pts)] = (y, chroma[0], chroma[1])
        self.bytes += size
        self._last_grid = grid

    def __contains__(self, pts: int) -> bool:
        return int(pts) in self.frames

    def __len__(self) -> int:
        return len(self.frames)

    def image(self, pts: int):
        """The kept frame as an upright RGB ``PIL.Image`` (its longer side ≤ ``max_side``)."""
        import cv2
        from PIL import Image

        from .video import to_display

        y, u, v = self.frames[int(pts)]
        th, tw = u.shape[0] * 2, u.shape[1] * 2
        y = cv2.resize(y, (tw, th), interpolation=cv2.INTER_AREA)
        i420 = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(th * 3 // 2, tw)
        rgb = cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)
        return Image.fromarray(to_display(rgb, self.rotation))
