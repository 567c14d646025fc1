"""Synthetic phone screen recordings with known first and last frames.

Used by the tests and by ``benchmarks/frames.py``. A recording shows, in a
portrait screen:

1. a home screen with app icons and a status-bar clock ticking every second;
2. at ``tap`` the tapped icon darkens and zooms open over ``zoom`` seconds;
3. a splash screen with a rotating spinner;
4. a page whose content blocks appear one after another;
5. at ``final`` the last block appears: the final stable page, on which a text
   cursor blinks every 0.5 s while the clock keeps ticking; ``Timeline.blinkers``
   add more periodic nuisances there (:class:`Blinker`: text cursors, carets in
   input fields, pulsing "live" dots of any size, period, phase and position).

Sensor-like noise is added to every frame and the video is encoded with
libx264 (yuv420p, CRF ~23), so the frames are not trivially exact.

The truth (:class:`SyntheticTruth`) is the index of the first frame shown at
or after ``tap`` (first) and the first frame shown at or after ``final``
(last), with times from the written timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

TIME_BASE = Fraction(1, 90000)


@dataclass
class Timeline:
    """When things happen, in seconds from the start of the recording."""

    tap: float = 1.3
    zoom: float = 0.3  # icon opening animation
    splash: float = 0.6  # spinner
    loading: float = 0.6  # blocks appear during this time; the last one at `final`
    tail: float = 1.6  # final page with a blinking cursor
    clock_start: int = 41 * 60 + 58  # 00:41:58 shown at t=0, ticks at t=0.45+k
    cursor: bool = True  # the search field's text cursor blinking on the final page
    blinkers: tuple[Blinker, ...] = ()  # more periodic nuisances on the final page

    @property
    def final(self) -> float:
        return self.tap + self.zoom + self.splash + self.loading

    @property
    def duration(self) -> float:
        return self.final + self.tail


@dataclass(frozen=True)
class Blinker:
    """A small periodic change on the final page (not loading): a text cursor, the
    caret of a focused input field, a pulsing "live" dot.

    ``x``, ``y``: centre as fractions of the screen; ``size``: height of the
    cursor/caret or diameter of the dot in layout units (360 units = the screen
    width); ``period``: seconds of one on+off cycle; ``duty``: share of the cycle
    it is on; ``delay``: seconds after the final page before it starts (a field
    that gets the focus later); ``pulse``: a dot fading in and out smoothly
    (cosine) instead of switching; ``phase``: share of a cycle it is shifted.
    A ``caret`` comes with its input field, drawn when the final page appears; a
    ``bar`` caret with a coloured app bar across the screen (``colour``), in
    which a light caret ``width`` px wide blinks (0: the default stroke).
    """

    kind: str = "cursor"  # "cursor" | "caret" | "dot" | "bar"
    x: float = 0.5
    y: float = 0.6
    size: float = 20.0
    period: float = 1.0
    duty: float = 0.5
    delay: float = 0.0
    pulse: bool = False
    phase: float = 0.0
    strength: float = 1.0  # contrast against the page: 1 full, lower for a faint cursor
    width: int = 0  # px of a cursor/caret stroke; 0: 1.5 layout units
    colour: tuple[int, int, int] = (30, 90, 200)  # the app bar of a "bar" caret (RGB)
    # Encoder ringing: grey levels by which the 8×8 blocks around the stroke are shifted, a new
    # random shift at every switch (on and off), as a coarse encoder leaves around a thin caret.
    ringing: float = 0.0

    def switches(self, t: float) -> int:
        """How many times it has switched on or off ``t`` seconds after the final page appeared."""
        if t < self.delay:
            return 0
        return int(np.floor(((t - self.delay) / self.period + self.phase) * 2)) + 1

    def level(self, t: float) -> float:
        """0 (off) .. 1 (on) at ``t`` seconds after the final page appeared."""
        if t < self.delay:
            return 0.0
        p = ((t - self.delay) / self.period + self.phase) % 1.0
        if self.pulse:
            return 0.5 - 0.5 * float(np.cos(2 * np.pi * p))
        return 1.0 if p < self.duty else 0.0


@dataclass
class SyntheticTruth:
    path: str
    first_index: int
    last_index: int
    first_time: float
    last_time: float
    frame_count: int
    times: list[float] = field(repr=False)  # per frame, seconds from the first frame


class ScreenRenderer:
    """Draws the screen at any time ``t`` (RGB uint8, ``height × width × 3``)."""

    def __init__(self, width: int, height: int, timeline: Timeline, seed: int = 0):
        import cv2

        self.cv2 = cv2
        self.w, self.h, self.tl = width, height, timeline
        u = width / 360.0  # layout unit: designed for 360 px wide
        self.u = u
        self.bar_h = round(28 * u)  # status bar: 3.5 % of an 800 px screen
        rng = np.random.default_rng(seed)

        home = np.empty((height, width, 3), np.uint8)
        ramp = np.linspace(0, 1, height)[:, None]
        home[:] = (np.array([40, 70, 130]) * (1 - ramp) + np.array([90, 40, 110]) * ramp)[
            :, None, :
        ].astype(np.uint8)
        self.icons = []
        size, gap = int(60 * u), int(24 * u)
        for row in range(5):
            for col in range(4):
                x = int(24 * u) + col * (size + gap)
                y = int(120 * u) + row * (size + int(40 * u))
                colour = tuple(int(c) for c in rng.integers(60, 230, 3))
                cv2.rectangle(home, (x, y), (x + size, y + size), colour, -1)
                self.icons.append((x, y, size, colour))
        self.home = home
        self.tapped = self.icons[9]  # third row, second column

        self.splash_bg = np.full((height, width, 3), (250, 250, 252), np.uint8)
        cv2.putText(
            self.splash_bg,
            "MyApp",
            (int(110 * u), int(330 * u)),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.6 * u,
            (30, 90, 200),
            max(1, int(3 * u)),
            cv2.LINE_AA,
        )

        page = np.full((height, width, 3), 255, np.uint8)
        cv2.rectangle(page, (0, self.bar_h), (width, self.bar_h + int(56 * u)), (30, 90, 200), -1)
        cv2.putText(
            page,
            "Inbox",
            (int(16 * u), self.bar_h + int(38 * u)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.9 * u,
            (255, 255, 255),
            max(1, int(2 * u)),
            cv2.LINE_AA,
        )
        self.page_base = page
        # Content blocks appearing during loading: (x, y, w, h, colour)
        self.blocks = []
        for i in range(4):
            y = self.bar_h + int((90 + i * 130) * u)
            self.blocks.append(
                (
                    int(16 * u),
                    y,
                    int(328 * u),
                    int(110 * u),
                    tuple(int(c) for c in rng.integers(80, 220, 3)),
                )
            )
        # The search field with the blinking cursor, at the bottom of the page.
        self.field = (int(16 * u), self.bar_h + int(640 * u), int(328 * u), int(44 * u))
        self._layers_cache: dict[int, np.ndarray] = {}

    # -- pieces ---------------------------------------------------------------
    def _page(self, n_blocks: int) -> np.ndarray:
        if n_blocks not in self._layers_cache:
            cv2 = self.cv2
            img = self.page_base.copy()
            for x, y, bw, bh, colour in self.blocks[:n_blocks]:
                cv2.rectangle(img, (x, y), (x + bw, y + bh), colour, -1)
                cv2.putText(
                    img,
                    "Message subject",
                    (x + int(10 * self.u), y + int(40 * self.u)),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.6 * self.u,
                    (20, 20, 20),
                    max(1, int(self.u)),
                    cv2.LINE_AA,
                )
            if n_blocks == len(self.blocks):
                fx, fy, fw, fh = self.field
                cv2.rectangle(
                    img, (fx, fy), (fx + fw, fy + fh), (120, 120, 120), max(1, int(2 * self.u))
                )
                cv2.putText(
                    img,
                    "Search",
                    (fx + int(10 * self.u), fy + int(30 * self.u)),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.7 * self.u,
                    (60, 60, 60),
                    max(1, int(self.u)),
                    cv2.LINE_AA,
                )
            self._layers_cache[n_blocks] = img
        return self._layers_cache[n_blocks]

    def _clock(self, img: np.ndarray, t: float) -> None:
        cv2, u = self.cv2, self.u
        secs = self.tl.clock_start + int(np.floor(t + 0.55))  # ticks at 0.45, 1.45, ...
        text = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        dark = img[self.bar_h // 2, 2].mean() > 128
        colour = (20, 20, 20) if dark else (240, 240, 240)
        cv2.putText(
            img,
            text,
            (int(12 * u), int(20 * u)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.55 * u,
            colour,
            max(1, int(1.5 * u)),
            cv2.LINE_AA,
        )
        cv2.rectangle(
            img, (self.w - int(40 * u), int(8 * u)), (self.w - int(14 * u), int(20 * u)), colour, -1
        )

    def _blinkers(self, img: np.ndarray, t: float) -> None:
        cv2, u = self.cv2, self.u
        for b in self.tl.blinkers:
            cx, cy, size = int(b.x * self.w), int(b.y * self.h), max(2, round(b.size * u))
            if b.kind == "caret":  # the input field around it
                fw, fh = int(200 * u), size + int(16 * u)
                x0, y0 = max(0, cx - int(20 * u)), cy - fh // 2
                cv2.rectangle(img, (x0, y0), (x0 + fw, y0 + fh), (245, 245, 245), -1)
                cv2.rectangle(img, (x0, y0), (x0 + fw, y0 + fh), (150, 150, 150), max(1, int(u)))
            elif b.kind == "bar":  # the app bar across the screen
                fh = size + int(20 * u)
                cv2.rectangle(img, (0, cy - fh // 2), (self.w, cy + fh // 2), b.colour, -1)
            if b.ringing:
                self._ringing(img, b, cx, cy, size, b.switches(t))
            level = b.level(t) * b.strength
            if level <= 0:
                continue
            back = img[cy, cx].astype(np.float32)
            full = (
                [220, 30, 40]
                if b.kind == "dot"
                else [30, 30, 30]
                if b.kind == "cursor"
                else [245, 245, 245]
                if b.kind == "bar"
                else [20, 90, 220]
            )
            colour = tuple(int(c) for c in back + level * (np.array(full, np.float32) - back))
            if b.kind == "dot":
                cv2.circle(img, (cx, cy), size // 2, colour, -1, cv2.LINE_AA)
            elif b.width:  # a stroke exactly ``width`` px wide
                x0 = cx - b.width // 2
                cv2.rectangle(
                    img, (x0, cy - size // 2), (x0 + b.width - 1, cy + size // 2), colour, -1
                )
            else:
                cv2.line(
                    img,
                    (cx, cy - size // 2),
                    (cx, cy + size // 2),
                    colour,
                    max(1, round(1.5 * u)),
                )

    def _ringing(self, img: np.ndarray, b: Blinker, cx: int, cy: int, size: int, k: int) -> None:
        """Shift the 8×8 blocks touching the stroke's surroundings by a random grey step (±``ringing``)."""
        rng = np.random.default_rng(1000 + k)
        x0, x1 = (cx - 12) // 8 * 8, (cx + 12) // 8 * 8 + 8
        y0, y1 = (cy - size // 2 - 8) // 8 * 8, (cy + size // 2 + 8) // 8 * 8 + 8
        for by in range(max(0, y0), min(self.h, y1), 8):
            for bx in range(max(0, x0), min(self.w, x1), 8):
                step = round(float(rng.uniform(-1, 1)) * b.ringing)
                block = img[by : by + 8, bx : bx + 8].astype(np.int16) + step
                img[by : by + 8, bx : bx + 8] = np.clip(block, 0, 255).astype(np.uint8)

    def state(self, t: float) -> tuple | None:
        """What the screen shows at ``t`` when it is a still screen (the home screen, the
        final page: clock, cursor, blinkers), else ``None``: equal states render equally."""
        tl = self.tl
        secs = tl.clock_start + int(np.floor(t + 0.55))
        if t < tl.tap:
            return ("home", secs)
        t_page = tl.tap + tl.zoom + tl.splash
        if t < t_page or int(np.floor((t - t_page) / tl.loading * len(self.blocks) + 1e-9)) < len(
            self.blocks
        ):
            return None
        cursor = tl.cursor and int(np.floor((t - tl.final) / 0.5)) % 2 == 0
        looks = tuple(
            (b.level(t - tl.final), b.switches(t - tl.final) if b.ringing else 0)
            for b in tl.blinkers
        )
        return ("final", secs, cursor, looks)

    def render(self, t: float) -> np.ndarray:
        cv2, tl, u = self.cv2, self.tl, self.u
        t_splash = tl.tap + tl.zoom
        t_page = t_splash + tl.splash
        if t < tl.tap:
            img = self.home.copy()
        elif t < t_splash:
            img = self.home.copy()
            x, y, s, colour = self.tapped
            p = (t - tl.tap) / tl.zoom  # 0..1
            p = min(1.0, p + 0.15)  # the first frame already shows the pressed icon
            x0, y0 = int(x * (1 - p)), int(y * (1 - p))
            x1 = int(x + s + (self.w - x - s) * p)
            y1 = int(y + s + (self.h - y - s) * p)
            shade = tuple(int(c * (1 - p) * 0.7 + 250 * p) for c in colour)
            cv2.rectangle(img, (x0, y0), (x1, y1), shade, -1)
        elif t < t_page:
            img = self.splash_bg.copy()
            angle = (t - t_splash) * 360 * 1.5
            centre = (self.w // 2, int(450 * u))
            cv2.ellipse(
                img,
                centre,
                (int(22 * u), int(22 * u)),
                angle,
                0,
                270,
                (30, 90, 200),
                max(1, int(4 * u)),
                cv2.LINE_AA,
            )
        else:
            n = len(self.blocks)
            # block k appears at t_page + loading * (k+1)/n; the last one at `final`
            k = int(np.floor((t - t_page) / tl.loading * n + 1e-9))
            img = self._page(min(n, max(0, k))).copy()
            if k >= n:
                self._blinkers(img, t - tl.final)
            # final page: blinking cursor, on for 0.5 s then off for 0.5 s
            if k >= n and tl.cursor and int(np.floor((t - tl.final) / 0.5)) % 2 == 0:
                fx, fy, _, fh = self.field
                cx = fx + int(90 * u)
                cv2.line(
                    img,
                    (cx, fy + int(8 * u)),
                    (cx, fy + fh - int(8 * u)),
                    (0, 0, 0),
                    max(1, int(2 * u)),
                )
        self._clock(img, t)
        return img


def frame_times(timeline: Timeline, fps: float, vfr: bool = False, seed: int = 0) -> list[Fraction]:
    """Presentation times (s, exact ticks of ``TIME_BASE``) of the frames.

    Constant frame rate: ``i / fps``. VFR: each frame lasts 1, 2 or 3 periods of
    ``1/fps`` plus a jitter, like a screen recorder that drops frames.
    """
    rate = Fraction(fps).limit_denominator(1001)
    if not vfr:
        n = int(np.ceil(timeline.duration * float(rate)))
        return [Fraction(i) / rate for i in range(n)]
    rng = np.random.default_rng(seed + 7)
    times, t = [], 0.0
    while t < timeline.duration:
        times.append(Fraction(round(t / TIME_BASE)) * TIME_BASE)
        t += float(rng.choice([1, 1, 2, 3])) / fps + float(rng.uniform(0, 0.004))
    return times


def make_recording(
    path: str | Path,
    *,
    width: int = 360,
    height: int = 800,
    fps: float = 30,
    timeline: Timeline | None = None,
    vfr: bool = False,
    crf: int = 23,
    preset: str = "veryfast",
    gop: int | None = None,
    noise: float = 2.0,
    seed: int = 0,
    codec: str = "libx264",
) -> SyntheticTruth:
    """Write an H.264 recording to ``path`` (container from the suffix) and return its truth."""
    import av
    import cv2

    timeline = timeline or Timeline()
    renderer = ScreenRenderer(width, height, timeline, seed)
    times = frame_times(timeline, fps, vfr, seed)
    rng = np.random.default_rng(seed + 1)
    # A few precomputed noise fields, cycled: cheap at any resolution. The same value
    # on the three channels, stored whole: OpenCV copies a broadcast view at every add
    # (3 ms a 360x800 frame, against 0.03 ms for a contiguous one; the same frames).
    noise_fields = []
    if noise > 0:
        for _ in range(3):
            n = rng.normal(0, noise, (height, width, 1)).round().astype(np.int16)
            pos, neg = np.clip(n, 0, 255).astype(np.uint8), np.clip(-n, 0, 255).astype(np.uint8)
            noise_fields.append((np.repeat(pos, 3, axis=2), np.repeat(neg, 3, axis=2)))

    path = Path(path)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        if not isinstance(stream, av.VideoStream):
            raise ValueError(f"{codec} is not a video codec; use libx264 or libvpx")
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": preset}
        else:  # e.g. libvpx (WebM): constant quality
            stream.options = {
                "crf": str(crf + 10),
                "b": "0",
                "deadline": "realtime",
                "cpu-used": "8",
            }
        if gop:
            stream.codec_context.gop_size = gop
        stream.codec_context.time_base = TIME_BASE
        stream.time_base = TIME_BASE
        # A still screen with the same noise field is the same picture: the last few are kept
        # (converted to yuv420p), which makes long recordings (a 60 s benchmark) quick to write.
        recent: dict[tuple, av.VideoFrame] = {}
        for i, t in enumerate(times):
            state = renderer.state(float(t))
            key = None if state is None else (state, i % max(1, len(noise_fields)))
            frame = recent.get(key) if key is not None else None
            if frame is None:
                img = renderer.render(float(t))
                if noise_fields:
                    pos, neg = noise_fields[i % len(noise_fields)]
                    img = cv2.subtract(cv2.add(img, pos), neg)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
                if key is not None:
                    recent[key] = frame
                    if len(recent) > 8:
                        recent.pop(next(iter(recent)))
            frame.pts = round(t / TIME_BASE)
            frame.time_base = TIME_BASE
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)

    first = next(i for i, t in enumerate(times) if t >= timeline.tap - 1e-9)
    last = next(i for i, t in enumerate(times) if t >= timeline.final - 1e-9)
    ftimes = [float(t) for t in times]
    return SyntheticTruth(str(path), first, last, ftimes[first], ftimes[last], len(times), ftimes)
