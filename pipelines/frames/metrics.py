"""One decoding pass over a recording: per-frame metrics and a tiny thumbnail stack.

Per frame we keep, as numpy arrays (saved together in one ``metrics.npz``):

- ``pts`` / ``times``: the stream timestamps and seconds from the first frame
  (``(pts - pts[0]) * time_base``), so variable frame rate recordings get true times;
- ``keyframe``: whether the decoded frame was a keyframe;
- ``brightness``: mean luma 0..1;
- ``sharpness``: variance of the Laplacian of the working-size luma (higher = sharper);
- ``change``: mean absolute luma difference to the previous frame, 0..1 (scene change score);
- ``thumbs``: the frame reduced to ``THUMB_LONG`` px on its longer side (grey, upright).
  Each thumbnail pixel is a *cell* of the detection grid; first/last detection
  with any exclusion rectangles runs on this stack alone, without decoding again.

Memory stays bounded: only the previous working frame and the thumbnails
(75×33 bytes per frame for a 1080×2400 phone, ~9 MB for 60 s at 60 fps) are kept.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..progress import NullProgress, Progress
from .video import FrameReviewError, _open, rotation_steps

if TYPE_CHECKING:
    from .kept import KeptFrames

WORK_LONG = 320  # about the working resolution (longer side) for brightness / sharpness / change
THUMB_LONG = 72  # detection grid (longer side, at least), one cell per thumbnail pixel
METRICS_VERSION = 1
LUMA_FORMATS = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"}


@dataclass
class FrameMetrics:
    source: str
    width: int  # displayed size of the recording
    height: int
    rotation: int
    time_base: Fraction
    pts: np.ndarray  # int64 [N]
    times: np.ndarray  # float64 [N], seconds from the first frame
    keyframe: np.ndarray  # bool [N]
    brightness: np.ndarray  # float32 [N], 0..1
    sharpness: np.ndarray  # float32 [N], variance of Laplacian
    change: np.ndarray  # float32 [N], 0..1
    thumbs: np.ndarray  # uint8 [N, th, tw], upright

    def __len__(self) -> int:
        return len(self.pts)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            version=METRICS_VERSION,
            source=self.source,
            size_rotation=np.array([self.width, self.height, self.rotation]),
            time_base=np.array([self.time_base.numerator, self.time_base.denominator]),
            pts=self.pts,
            times=self.times,
            keyframe=self.keyframe,
            brightness=self.brightness,
            sharpness=self.sharpness,
            change=self.change,
            thumbs=self.thumbs,
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> FrameMetrics:
        path = Path(path)
        if not path.is_file():
            raise FrameReviewError(
                f"metrics file not found: {path}. Run the analysis of the recording first."
            )
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) != METRICS_VERSION:
                raise FrameReviewError(
                    f"{path} was written by another version of the analysis; analyse the recording again."
                )
            w, h, rot = (int(v) for v in z["size_rotation"])
            num, den = (int(v) for v in z["time_base"])
            return cls(
                str(z["source"]),
                w,
                h,
                rot,
                Fraction(num, den),
                z["pts"],
                z["times"],
                z["keyframe"],
                z["brightness"],
                z["sharpness"],
                z["change"],
                z["thumbs"],
            )


def _reduction(width: int, height: int) -> tuple[int, tuple[int, int], tuple[int, int]]:
    """(row/column subsampling step, working size, thumbnail size) for a stored frame size.

    The working frame is the luma reduced by an integer factor ``k`` (longer side
    about ``WORK_LONG``): every ``k//2``-th row and column is read, then 2×2
    areas are averaged. Reading a quarter of the rows keeps the per-frame cost
    far below the decoder's; UI strokes thinner than ``k//2`` px may be missed.
    """
    k = max(1, round(max(width, height) / WORK_LONG))
    sub = max(1, k // 2)
    work = (max(1, width // k), max(1, height // k))
    # The detection grid is the working frame reduced by a whole factor (about
    # THUMB_LONG or more on the longer side): an exact area average, 6x cheaper than a
    # fractional one, which matters at one call per frame.
    f = max(1, max(work) // THUMB_LONG)
    return sub, work, (max(1, work[0] // f), max(1, work[1] // f))


def _gather_dtype(sub: int) -> np.dtype | None:
    """The unsigned integer type ``sub`` bytes wide whose low byte is the first of them, if any.

    Reading a row of luma as such integers and narrowing them to ``uint8`` keeps
    every ``sub``-th pixel: the same pixels as ``row[::sub]``, in a contiguous,
    vectorised pass instead of a strided byte gather (about 2x faster)."""
    if sys.byteorder != "little" or sub not in (2, 4, 8):
        return None
    return np.dtype(f"<u{sub}")


class _Reductions:
    """The per-frame work of the pass, in decoding order (one thread at a time)."""

    def __init__(self, path: Path, keep: KeptFrames | None):
        self.path, self.keep = path, keep
        self.pts: list[int] = []
        self.key: list[bool] = []
        self.bright: list[float] = []
        self.sharp: list[float] = []
        self.change: list[float] = []
        self.thumbs: list[np.ndarray] = []
        self.prev: np.ndarray | None = None
        self.first_wh: tuple[int, int] | None = None
        self.k_rot = 0

    def _setup(self, frame) -> None:
        self.k_rot = rotation_steps(round(frame.rotation or 0) % 360)
        self.first_wh = (frame.width, frame.height)
        self.sub, self.work_size, self.thumb_size = _reduction(frame.width, frame.height)
        th_w, th_h = self.thumb_size
        self.grid_crop = (th_h * (self.work_size[1] // th_h), th_w * (self.work_size[0] // th_w))
        self.luma = frame.format.name in LUMA_FORMATS
        self.wide = _gather_dtype(self.sub) if self.luma else None
        self.cols = -(-frame.width // self.sub)  # columns of row[::sub]

    def reduce(self, frame) -> np.ndarray:
        """The frame's part that needs its planes: timestamps, the subsampled luma, the working
        frame and the grid; the frame is offered to ``keep``. Returns the working frame for
        :meth:`stats` (the decoded frame can go back to the decoder at once)."""
        import cv2

        if self.first_wh is None:
            self._setup(frame)
        width, height = frame.width, frame.height
        if (width, height) != self.first_wh:
            raise FrameReviewError(
                f"{self.path.name}: the picture size changes mid-recording; record again at a "
                "fixed size."
            )
        sub = self.sub
        # Luma plane (already grey for yuv420p/nv12...): no colour conversion, no copy.
        if self.luma:
            plane = frame.planes[0]
            line = plane.line_size
            if self.wide is not None and line % sub == 0 and line // sub >= self.cols:
                rows = np.frombuffer(plane, self.wide).reshape(height, line // sub)
                small = rows[::sub, : self.cols].astype(np.uint8)  # == y[::sub, ::sub] below
            else:
                y = np.frombuffer(plane, np.uint8).reshape(height, line)[:, :width]
                small = y[::sub, ::sub] if sub > 1 else y
        else:
            y = frame.to_ndarray(format="gray")
            small = y[::sub, ::sub] if sub > 1 else y
        work = cv2.resize(small, self.work_size, interpolation=cv2.INTER_AREA)
        gh, gw = self.grid_crop
        thumb = cv2.resize(work[:gh, :gw], self.thumb_size, interpolation=cv2.INTER_AREA)
        self.pts.append(frame.pts)
        self.key.append(frame.key_frame)
        self.thumbs.append(thumb)
        if self.keep is not None:
            self.keep.offer(frame, small, thumb)
        return work

    def stats(self, works: list[np.ndarray]) -> None:
        """Brightness, sharpness and change of working frames, in order (the previous one
        carried over from the last call)."""
        import cv2

        prev = self.prev
        for work in works:
            change = 0.0 if prev is None else cv2.mean(cv2.absdiff(work, prev))[0] / 255.0
            prev, last = work, prev
            self.change.append(change)
            if change == 0.0 and last is not None:  # the same working frame: the same figures
                self.bright.append(self.bright[-1])
                self.sharp.append(self.sharp[-1])
                continue
            self.bright.append(cv2.mean(work)[0] / 255.0)
            _, sd = cv2.meanStdDev(cv2.Laplacian(work, cv2.CV_16S, ksize=1))
            self.sharp.append(float(sd[0, 0]) ** 2)
        self.prev = prev

    def add(self, frame) -> None:
        """All of one frame's work, in this thread."""
        self.stats([self.reduce(frame)])


# A stream with fewer bits per pixel and frame than this, whose pictures are coded in two or
# more slices, is decoded by one thread (slice threads only) while the reductions run in a
# second one; any other stream by FFmpeg's frame threads with the reductions in between.
# Frame threading synchronises every frame with the previous ones: for a light stream (still
# screens between a few changes: the synthetic benchmark recordings have 0.004-0.006 with or
# without CABAC, two slices each) it costs 40-75 % more CPU (15 % with CABAC) than slice threads
# and is slower even on quiet cores; for a heavy one (0.37 measured) it decodes 1.5x faster on
# 2 cores at the same CPU. Slice threads decode a picture's slices at once, so a picture coded
# in one slice (phones' and most screen recorders' encoders) gets one core from them: on
# phone-like recordings (one slice, CABAC, 5-20 Mbit/s = 0.036-0.14 bits/pixel/frame, camera
# noise on the lower 40 %; quiet cores, 5 interleaved rounds) frame threads decoded 1.5x faster
# at every rate for 10-15 % more CPU, and ``analyze()`` ran 1.5x faster with them at 5 and
# 7 Mbit/s (benchmarks/README.md). Hence the slice count (:func:`_slices`, H.264) in the rule.
# HEVC (one slice, with and without wavefront rows) and VP9 at 5 Mbit/s decoded 1.3-1.7x faster
# by frame threads for about the same CPU or less, so other codecs always take them.
LIGHT_BITS_PER_PIXEL = 0.05
# The light pass splits each frame's work: the decoding thread reads what needs the decoded
# frame (the subsampled luma, the working frame, the grid, the kept copy), so the frame goes
# back to the decoder at once and its buffer is reused while still in the caches; the
# statistics of the working frames (brightness, sharpness, change: ~40 % of the per-frame
# CPU) run in a second thread, handed over ``BATCH`` frames at a time, at most one batch
# waiting (~40 KB per working frame at 1080×2400). One hand-over per frame (a frame in flight,
# as before) cost 6 % more CPU and, on loaded cores, a wake-up of the other thread per frame.
BATCH = 32


def _bits_per_pixel(container, stream) -> float | None:
    """The stream's bits per pixel and frame, from the container's header; None when unknown."""
    rate = stream.bit_rate or container.bit_rate
    fps = stream.average_rate or stream.guessed_rate
    pixels = stream.codec_context.width * stream.codec_context.height
    if not rate or not fps or not pixels:
        return None
    return float(rate) / (float(fps) * pixels)


def _slices(path: Path) -> int | None:
    """The number of slices the first picture of an H.264 stream is coded in (its coded-slice
    NAL units, types 1 and 5); None for another codec or a stream that cannot be read here.
    PyAV does not report it; the first packet's NAL headers do (length-prefixed as ``avcC``
    extradata says, in MP4/MOV/MKV; after start codes otherwise)."""
    import re

    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if stream.codec_context.name != "h264":
                return None
            extradata = bytes(stream.codec_context.extradata or b"")
            data = next((bytes(p) for p in container.demux(stream) if p.size), b"")
    except (av.error.FFmpegError, IndexError):
        return None
    if extradata[:1] == b"\x01" and len(extradata) >= 5:  # avcC: NAL units after their length
        size, types, at = (extradata[4] & 3) + 1, [], 0
        while at + size < len(data):
            length = int.from_bytes(data[at : at + size], "big")
            at += size
            if length <= 0 or at + length > len(data):
                break
            types.append(data[at] & 0x1F)
            at += length
    else:  # Annex B: NAL units after start codes
        types = [
            data[m.end()] & 0x1F for m in re.finditer(b"\x00\x00\x01", data) if m.end() < len(data)
        ]
    return sum(t in (1, 5) for t in types) or None


def _light(path: Path, container, stream) -> bool:
    """Is the stream decoded by slice threads with the statistics in a second thread (see
    ``LIGHT_BITS_PER_PIXEL``)? An H.264 stream with few bits per pixel whose pictures are
    coded in two or more slices; any other stream is decoded by frame threads."""
    bpp = _bits_per_pixel(container, stream)
    if bpp is None or bpp >= LIGHT_BITS_PER_PIXEL:
        return False
    slices = _slices(path)
    return slices is not None and slices >= 2


def compute_metrics(
    path: str | Path,
    progress: Progress = NullProgress(),
    expected_frames: int | None = None,
    keep: KeptFrames | None = None,
) -> FrameMetrics:
    """Decode the recording once and compute the per-frame metrics.

    A light stream (:func:`_light`, ``LIGHT_BITS_PER_PIXEL``) is decoded by one thread, which
    also reduces each frame to its working frame and grid, while the statistics of
    those run in a second one, ``BATCH`` frames at a time (OpenCV, NumPy's casts and
    the decoder release the GIL); a
    heavy one by FFmpeg's frame threads, the reductions running between two
    frames while the decoder's threads go on. ``progress`` gets ``fraction``
    0..1 of this pass; it may raise ``Cancelled``. ``keep``: small colour
    copies of the frames where the screen changed are offered to it (the
    candidate thumbnails, without a second decode).
    """
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    import av
    import cv2

    path = Path(path)
    container = _open(path)
    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # the decoder's threads need the cores; our per-frame work is tiny
    r = _Reductions(path, keep)
    try:
        stream = container.streams.video[0]
        light = _light(path, container, stream)
        stream.thread_type = "SLICE" if light else "AUTO"
        tb = stream.time_base
        step = max(1, (expected_frames or 1000) // 200)
        decoded = 0
        pending: deque[Future] = deque()
        batch: list[np.ndarray] = []
        with ThreadPoolExecutor(1, thread_name_prefix="frame-metrics") as pool:
            try:
                try:
                    for frame in container.decode(stream):
                        if frame.pts is None:
                            continue
                        if light:
                            batch.append(r.reduce(frame))
                            if len(batch) >= BATCH:
                                pending.append(pool.submit(r.stats, batch))
                                batch = []
                                while len(pending) > 1 or (pending and pending[0].done()):
                                    pending.popleft().result()
                        else:
                            r.add(frame)
                        decoded += 1
                        if decoded % step == 0:
                            progress.update(
                                fraction=min(1.0, decoded / expected_frames)
                                if expected_frames
                                else None,
                                message=f"frame {decoded}"
                                + (f"/{expected_frames}" if expected_frames else ""),
                            )
                except av.error.FFmpegError:
                    if batch:  # the frames decoded before the error count
                        pending.append(pool.submit(r.stats, batch))
                    for future in pending:
                        future.result()
                    pending.clear()
                    raise
                except BaseException:
                    for future in pending:
                        future.cancel()
                    raise
                if batch:
                    pending.append(pool.submit(r.stats, batch))
                for future in pending:
                    future.result()
            except av.error.FFmpegError as exc:
                if not r.pts:
                    raise FrameReviewError(
                        f"{path.name}: the video data cannot be decoded ({exc}). Export the recording again."
                    ) from exc
                progress.log(f"{path.name}: decoding stopped at frame {len(r.pts)}: {exc}")
        if not r.pts:
            raise FrameReviewError(
                f"{path.name}: no decodable video frames. The file is truncated or corrupt."
            )
    finally:
        container.close()
        cv2.setNumThreads(cv_threads)

    pts, key, bright, sharp, change, thumbs = r.pts, r.key, r.bright, r.sharp, r.change, r.thumbs
    k_rot, first_wh = r.k_rot, r.first_wh
    assert first_wh is not None
    pts_a = np.asarray(pts, np.int64)
    order = np.argsort(pts_a, kind="stable")  # decoders emit presentation order; be safe
    pts_a = pts_a[order]
    th = np.stack(thumbs)[order]
    if k_rot:
        th = np.ascontiguousarray(np.rot90(th, k_rot, axes=(1, 2)))
    w, h = first_wh
    if k_rot % 2:
        w, h = h, w
    return FrameMetrics(
        source=str(path),
        width=w,
        height=h,
        rotation=int(k_rot * 90),
        time_base=Fraction(tb),
        pts=pts_a,
        times=(pts_a - pts_a[0]) * float(tb),
        keyframe=np.asarray(key, bool)[order],
        brightness=np.asarray(bright, np.float32)[order],
        sharpness=np.asarray(sharp, np.float32)[order],
        change=np.asarray(change, np.float32)[order],
        thumbs=th,
    )
