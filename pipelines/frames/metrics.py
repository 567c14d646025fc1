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
(75×33 bytes per frame for a 1080×2400 phone, ~9 MB for 60 s at 60 fps) are kept, and,
when GOPs are decoded at once (``MAX_GOP_FRAMES``), the few GOPs waiting for their turn.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cv_threads import opencv_sequential
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
        self.lock = threading.Lock()  # the first frame's set-up, when threads decode GOPs
        self.rotation: int | None = None  # degrees, from a GOP decoder that knows it
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

    def parts(self, frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(subsampled luma, working frame, grid) of a decoded frame: the part of its work
        that needs its planes. The luma may be a view of the frame's buffer. Reads only
        what :meth:`_setup` set, so two threads may call it at once."""
        import cv2

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
        return small, work, thumb

    def reduce(self, frame) -> np.ndarray:
        """The frame's part that needs its planes: timestamps, the subsampled luma, the working
        frame and the grid; the frame is offered to ``keep``. Returns the working frame for
        :meth:`stats` (the decoded frame can go back to the decoder at once)."""
        if self.first_wh is None:
            self._setup(frame)
        small, work, thumb = self.parts(frame)
        self.pts.append(frame.pts)
        self.key.append(frame.key_frame)
        self.thumbs.append(thumb)
        if self.keep is not None:
            self.keep.offer(frame, small, thumb)
        return work

    def stats(self, works: list[np.ndarray]) -> None:
        """Brightness, sharpness and change of working frames, in order (the previous one
        carried over from the last call)."""
        bright, sharp, change = _statistics(works, self.prev, self.bright[-1:], self.sharp[-1:])
        self.bright += bright
        self.sharp += sharp
        self.change += change
        if works:
            self.prev = works[-1]

    def add(self, frame) -> None:
        """All of one frame's work, in this thread."""
        self.stats([self.reduce(frame)])

    def gop(self, packets: list, decoders: _Decoders) -> _Gop:
        """Decode one GOP (``packets``, from an IDR picture to the next one), in this thread,
        with this thread's decoder (:class:`_Decoders`), and do
        its frames' work: what needs the planes (:meth:`parts`, the kept-frame sample) and
        the statistics within the GOP (the first frame's change is the merge's: it needs
        the GOP before). An FFmpeg error ends the GOP: the frames decoded before it are
        returned with it."""
        import av

        out = _Gop()
        context, attached = decoders.context()
        previous = None
        works: list[np.ndarray] = []
        try:
            for packet in [*packets, None]:  # None: drain the decoder at the GOP's end
                for frame in context.decode(packet):
                    if frame.pts is None:
                        continue
                    with self.lock:
                        if self.first_wh is None:
                            self._setup(frame)
                        if attached and self.rotation is None:
                            self.rotation = round(frame.rotation or 0) % 360
                    small, work, thumb = self.parts(frame)
                    # What waits for the merge is what keeping the frame needs (its luma as
                    # read, its chroma sample); a grid equal to the one before cannot be
                    # kept (KeptFrames: within the level of the last kept one then, as that
                    # one was), so such a frame keeps neither.
                    kept: tuple | None = None
                    if self.keep is not None and not (
                        previous is not None and np.array_equal(thumb, previous)
                    ):
                        if small.base is not None:  # a view of the decoder's buffer
                            small = small.copy()
                        kept = (small, self.keep.sample(frame, 0))  # rotation: after the pass
                    previous = thumb
                    out.frames.append((int(frame.pts), bool(frame.key_frame), thumb, kept))
                    works.append(work)
        except av.error.FFmpegError as exc:
            out.error = exc
        context.flush_buffers()  # ready for the next GOP
        out.bright, out.sharp, out.change = _statistics(works, None, [], [])
        out.works = works[:1] + works[-1:]  # the merge needs the first and the last
        return out

    def merge(self, gop: _Gop) -> None:
        """Take a decoded GOP's frames (:meth:`gop`), in decoding order."""
        import cv2

        for pts, key, thumb, kept in gop.frames:
            self.pts.append(pts)
            self.key.append(key)
            self.thumbs.append(thumb)
            if self.keep is not None and kept is not None:
                self.keep.offer_sample(kept[1], kept[0], thumb)
        if not gop.works:
            return
        if self.prev is not None:  # the first frame's change, against the GOP before
            gop.change[0] = cv2.mean(cv2.absdiff(gop.works[0], self.prev))[0] / 255.0
        self.bright += gop.bright
        self.sharp += gop.sharp
        self.change += gop.change
        self.prev = gop.works[-1]


class _Decoders:
    """One decoder per decoding thread, on one thread each (the GOPs are the parallelism):
    the demuxing container's own decoder for the first thread to ask, whose pictures carry
    the stream's rotation, and bare codec contexts for the others (no second opening of the
    file, which costs a first-picture decode; their pictures carry no rotation)."""

    def __init__(self, stream):
        self.local = threading.local()
        self.lock = threading.Lock()
        self.name = stream.codec_context.name
        self.extradata = bytes(stream.codec_context.extradata or b"")
        self.spare = [stream.codec_context]

    def context(self) -> tuple[Any, bool]:
        """This thread's decoder, and whether its pictures carry the stream's rotation."""
        import av

        found = getattr(self.local, "found", None)
        if found is None:
            with self.lock:
                attached = self.spare.pop() if self.spare else None
            if attached is not None:
                found = (attached, True)
            else:
                bare: Any = av.CodecContext.create(self.name, "r")
                bare.extradata = self.extradata
                found = (bare, False)
            found[0].thread_count = 1
            self.local.found = found
        return found


@dataclass
class _Gop:
    """One GOP's frames after :meth:`_Reductions.gop`: (pts, keyframe, grid, (subsampled
    luma, kept-frame sample) or None) each, its first and last working frames, the
    statistics, and the FFmpeg error that ended it, if any."""

    frames: list = field(default_factory=list)
    works: list[np.ndarray] = field(default_factory=list)
    bright: list[float] = field(default_factory=list)
    sharp: list[float] = field(default_factory=list)
    change: list[float] = field(default_factory=list)
    error: Exception | None = None


def _statistics(
    works: list[np.ndarray], prev: np.ndarray | None, bright: list[float], sharp: list[float]
) -> tuple[list[float], list[float], list[float]]:
    """Brightness, sharpness and change of working frames in order; ``prev``: the working
    frame before the first (None: the first of the recording, change 0), ``bright`` /
    ``sharp``: its figures (a working frame equal to the one before takes them: the same
    numbers, computed once)."""
    import cv2

    out_b, out_s, out_c = [], [], []
    last_b, last_s = (bright[-1], sharp[-1]) if bright and sharp else (None, None)
    for work in works:
        change = 0.0 if prev is None else cv2.mean(cv2.absdiff(work, prev))[0] / 255.0
        out_c.append(change)
        if change == 0.0 and prev is not None and last_b is not None and last_s is not None:
            out_b.append(last_b)  # the same working frame: the same figures
            out_s.append(last_s)
        else:
            last_b = cv2.mean(work)[0] / 255.0
            _, sd = cv2.meanStdDev(cv2.Laplacian(work, cv2.CV_16S, ksize=1))
            last_s = float(sd[0, 0]) ** 2
            out_b.append(last_b)
            out_s.append(last_s)
        prev = work
    return out_b, out_s, out_c


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
    PyAV does not report it; the first packet's NAL headers do (:func:`_nal_types`)."""
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
    return sum(t in (1, 5) for t in _nal_types(data, extradata)) or None


def _nal_types(data: bytes, extradata: bytes) -> list[int]:
    """The NAL unit types of an H.264 packet: length-prefixed as ``avcC`` extradata says (MP4,
    MOV, MKV), after start codes otherwise (Annex B)."""
    import re

    if extradata[:1] == b"\x01" and len(extradata) >= 5:  # avcC: NAL units after their length
        size, types, at = (extradata[4] & 3) + 1, [], 0
        while at + size < len(data):
            length = int.from_bytes(data[at : at + size], "big")
            at += size
            if length <= 0 or at + length > len(data):
                break
            types.append(data[at] & 0x1F)
            at += length
        return types
    return [data[m.end()] & 0x1F for m in re.finditer(b"\x00\x00\x01", data) if m.end() < len(data)]


# GOP-parallel decoding: an H.264 stream whose every keyframe is an IDR picture (no picture
# refers across it) is cut at its keyframes and the GOPs are decoded at once, each by a
# decoder of its own on one thread, which also does its frames' work; the GOPs are then
# taken in order. The decoders never wait for each other (slice threads wait for a picture's
# slowest slice, frame threads for the pictures each refers to): on the 2-core benchmark
# recording the decode alone ran in 0.22 s against 0.31 s with slice threads (medians of 3
# interleaved rounds), its fastest decode so far, for less CPU (0.44 against 0.48 s;
# benchmarks/README.md). The frames are
# the same pictures, so the metrics are the same numbers (tests/frames/test_frames_metrics.py).
# Memory: a GOP's frames wait whole for their turn, each with what keeping it needs when its
# grid changed (~0.2 MB at 1080×2400: the subsampled luma as read and a chroma sample), at
# most one GOP per decoder beyond the one taken: GOPs of up to MAX_GOP_FRAMES frames (x264's
# default keyframe interval is 250); a stream with a longer one, one GOP only or another
# codec keeps the passes below.
MAX_GOP_FRAMES = 300
MAX_GOP_DECODERS = 4


def _gop_plan(path: Path, container) -> list[int] | None:
    """The frames (packets) of each GOP, when the stream can be decoded GOP by GOP (see
    ``MAX_GOP_FRAMES``); None otherwise. From the open ``container``'s index when it lists
    every packet (MP4, MOV: only the keyframes' bytes are read, to see that each is an IDR
    picture), else from one demuxing pass over the packets (a second opening)."""
    import av

    stream = container.streams.video[0]
    if stream.codec_context.name != "h264":
        return None
    extradata = bytes(stream.codec_context.extradata or b"")
    entries = stream.index_entries
    try:
        if stream.frames and len(entries) == stream.frames and "mp4" in container.format.name:
            with open(path, "rb") as fh:

                def idr(pos: int, size: int) -> bool:
                    fh.seek(pos)
                    return 5 in _nal_types(fh.read(size), extradata)

                return _gop_sizes([(e.is_keyframe, e.pos, e.size) for e in entries if e.size], idr)
        with av.open(str(path)) as other:
            return _gop_sizes(
                ((p.is_keyframe, p, 0) for p in other.demux(other.streams.video[0]) if p.size),
                lambda packet, _: 5 in _nal_types(bytes(packet), extradata),
            )
    except (av.error.FFmpegError, IndexError, OSError):
        return None


def _gop_sizes(marks, idr) -> list[int] | None:
    """GOP sizes from (keyframe?, where, size) of each packet in decoding order; ``idr(where,
    size)``: is that keyframe an IDR picture. None when a keyframe is not one, a picture
    comes before the first, a GOP is longer than ``MAX_GOP_FRAMES`` or there is one GOP."""
    sizes: list[int] = []
    for keyframe, where, size in marks:
        if keyframe:
            if not idr(where, size):
                return None  # a keyframe that is not an IDR picture: no clean cut
            sizes.append(0)
        elif not sizes:
            return None  # pictures before the first keyframe
        sizes[-1] += 1
        if sizes[-1] > MAX_GOP_FRAMES:
            return None
    return sizes if len(sizes) >= 2 else None


def _gop_decoders() -> int:
    """Decoders to run at once: the cores this process may use, up to ``MAX_GOP_DECODERS``."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_GOP_DECODERS, cores))


def _light(path: Path, container, stream) -> bool:
    """Is the stream decoded by slice threads with the statistics in a second thread (see
    ``LIGHT_BITS_PER_PIXEL``)? An H.264 stream with few bits per pixel whose pictures are
    coded in two or more slices; any other stream is decoded by frame threads."""
    bpp = _bits_per_pixel(container, stream)
    if bpp is None or bpp >= LIGHT_BITS_PER_PIXEL:
        return False
    slices = _slices(path)
    return slices is not None and slices >= 2


class _Counter:
    """The pass's progress: ``fraction`` of the expected frames every ~0.5 % of them."""

    def __init__(self, progress: Progress, expected: int | None):
        self.progress, self.expected = progress, expected
        self.step = max(1, (expected or 1000) // 200)
        self.done = 0

    def add(self, frames: int = 1) -> None:
        before, self.done = self.done, self.done + frames
        if self.done // self.step == before // self.step:
            return
        self.progress.update(
            fraction=min(1.0, self.done / self.expected) if self.expected else None,
            message=f"frame {self.done}" + (f"/{self.expected}" if self.expected else ""),
        )


def _gop_pass(container, r: _Reductions, counter: _Counter) -> None:
    """The GOP-parallel pass (``MAX_GOP_FRAMES``): the GOPs go to the decoding threads as
    they are demuxed, at most one waiting per thread, and are taken in order. An FFmpeg
    error (demuxing or decoding) is raised once the frames before it are taken."""
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    import av

    threads = _gop_decoders()
    stream = container.streams.video[0]
    decoders = _Decoders(stream)
    pending: deque[Future] = deque()

    def take() -> None:
        gop = pending.popleft().result()
        r.merge(gop)
        counter.add(len(gop.frames))
        if gop.error is not None:  # the GOPs after it are not taken
            raise _Stopped(gop.error)

    try:
        with ThreadPoolExecutor(threads, thread_name_prefix="frame-gop") as pool:
            try:
                packets: list = []
                try:
                    for packet in container.demux(stream):
                        if not packet.size:
                            continue
                        if packet.is_keyframe and packets:
                            pending.append(pool.submit(r.gop, packets, decoders))
                            packets = []
                            while len(pending) > threads:
                                take()
                        packets.append(packet)
                except av.error.FFmpegError:
                    if packets:  # the pictures demuxed before the error count
                        pending.append(pool.submit(r.gop, packets, decoders))
                    while pending:
                        take()
                    raise
                if packets:
                    pending.append(pool.submit(r.gop, packets, decoders))
                while pending:
                    take()
            except _Stopped as stop:
                raise stop.error from None
            finally:
                for future in pending:
                    future.cancel()
    finally:  # every GOP has ended (the pool waited for them)
        # The rotation from the pictures of the decoder that carries it (the first GOP was
        # decoded by one); the other decoders' pictures were set up without it.
        r.k_rot = rotation_steps(r.rotation or 0)
        if r.keep is not None:
            r.keep.rotation = r.rotation or 0


class _Stopped(Exception):
    """A GOP ended by a decoding error (:attr:`error`): the pass stops after its frames."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


def _stream_pass(container, stream, r: _Reductions, light: bool, counter: _Counter) -> None:
    """One decoder over the whole stream: slice threads with the statistics in a second
    thread (``light``), else frame threads with all the work between frames."""
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    import av

    stream.thread_type = "SLICE" if light else "AUTO"
    pending: deque[Future] = deque()
    batch: list[np.ndarray] = []
    with ThreadPoolExecutor(1, thread_name_prefix="frame-metrics") as pool:
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
                counter.add()
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


def compute_metrics(
    path: str | Path,
    progress: Progress = NullProgress(),
    expected_frames: int | None = None,
    keep: KeptFrames | None = None,
) -> FrameMetrics:
    """Decode the recording once and compute the per-frame metrics.

    A stream that can be cut into GOPs (:func:`_gop_plan`, ``MAX_GOP_FRAMES``) is decoded
    GOP by GOP on every core at once, each decoding thread doing its frames' work, the GOPs
    then taken in order (:meth:`_Reductions.gop`, :meth:`_Reductions.merge`). Otherwise a
    light stream (:func:`_light`, ``LIGHT_BITS_PER_PIXEL``) is decoded by one thread, which
    also reduces each frame to its working frame and grid, while the statistics of those
    run in a second one, ``BATCH`` frames at a time (OpenCV, NumPy's casts and the decoder
    release the GIL); a heavy one by FFmpeg's frame threads, the reductions running between
    two frames while the decoder's threads go on. ``progress`` gets ``fraction`` 0..1 of
    this pass; it may raise ``Cancelled``. ``keep``: small colour copies of the frames
    where the screen changed are offered to it (the candidate thumbnails, without a second
    decode). Every way gives the same numbers.
    """
    import av

    path = Path(path)
    container = _open(path)
    r = _Reductions(path, keep)
    counter = _Counter(progress, expected_frames)
    # the decoders' threads need the cores; our per-frame work is tiny
    with opencv_sequential():
        try:
            stream = container.streams.video[0]
            tb = stream.time_base
            try:
                if _gop_decoders() > 1 and _gop_plan(path, container) is not None:
                    _gop_pass(container, r, counter)
                else:
                    _stream_pass(container, stream, r, _light(path, container, stream), counter)
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
