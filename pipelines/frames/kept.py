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
from dataclasses import dataclass

import numpy as np

KEEP_LEVEL = 4  # grey levels of a grid cell (the detector needs at least 6)
MAX_KEPT_BYTES = 96 * 2**20
I420_FORMATS = {"yuv420p", "yuvj420p"}


@dataclass
class FrameSample:
    """A decoded frame's part that :class:`KeptFrames` needs (:meth:`KeptFrames.sample`)."""

    pts: int
    width: int
    height: int
    rotation: int
    chroma: tuple[np.ndarray, np.ndarray] | None  # U, V point-sampled; None: not I420


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
        if self._unchanged(grid) or frame.format.name not in I420_FORMATS or self.full:
            return
        self._keep(self.sample(frame, round(frame.rotation or 0) % 360), luma, grid)

    def sample(self, frame, rotation: int) -> FrameSample:
        """What keeping ``frame`` needs of the decoded picture, read while the decoder's
        buffer is alive: its chroma point-sampled as a kept frame stores it (None when not
        I420), timestamp and size. For a pass that decides what to keep later, in order
        (:meth:`offer_sample`); ``rotation``: the recording's."""
        w, h = frame.width, frame.height
        chroma = None
        if frame.format.name in I420_FORMATS:
            step, (tw, th) = self._geometry(w, h)
            planes = []
            for k in (1, 2):
                plane = frame.planes[k]
                c = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
                planes.append(np.ascontiguousarray(c[::step, ::step][: th // 2, : tw // 2]))
            chroma = (planes[0], planes[1])
        return FrameSample(int(frame.pts), w, h, rotation, chroma)

    def offer_sample(self, sample: FrameSample, luma: np.ndarray, grid: np.ndarray) -> None:
        """:meth:`offer` of a frame read before (:meth:`sample`), in decoding order."""
        if not self._unchanged(grid) and sample.chroma is not None and not self.full:
            self._keep(sample, luma, grid)

    def _keep(self, sample: FrameSample, luma: np.ndarray, grid: np.ndarray) -> None:
        """Store a changed frame's copy (checked by the caller), within the budget."""
        if sample.chroma is None:
            return
        if not self._step:
            self._step, self._size = self._geometry(sample.width, sample.height)
            self.rotation = sample.rotation
        tw, th = self._size
        u, v = sample.chroma
        if u.shape != (th // 2, tw // 2):
            return  # odd geometry: leave it to the second read
        # The luma as the metrics read it, shrunk only when a thumbnail is written (a few
        # candidates, against every changed frame: 0.5 ms each at 1.5x, INTER_AREA).
        y = luma if luma.base is None else luma.copy()  # a view of the decoder's buffer: copied
        size = y.nbytes + u.nbytes * 2
        if self.bytes + size > self.max_bytes:
            self.full = True
            return
        self.frames[sample.pts] = (y, u, v)
        self.bytes += size
        self._last_grid = grid

    def _unchanged(self, grid: np.ndarray) -> bool:
        """Is ``grid`` within ``KEEP_LEVEL`` of the last kept frame's, in every cell?"""
        import cv2

        return (
            self._last_grid is not None
            and cv2.norm(grid, self._last_grid, cv2.NORM_INF) <= KEEP_LEVEL  # largest difference
        )

    def _geometry(self, w: int, h: int) -> tuple[int, tuple[int, int]]:
        """(step, size) of a kept copy of a ``w`` x ``h`` recording: an even step (the chroma
        planes are point-sampled every step/2-th pixel; 1 for small recordings) and the
        size it gives."""
        need = max(w, h) / self.max_side
        step = 1 if need <= 1 else 2 * math.ceil(need / 2)
        return step, (max(2, w // step // 2 * 2), max(2, h // step // 2 * 2))

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
