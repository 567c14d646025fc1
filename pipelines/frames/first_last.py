"""First and last frame detection on stored metrics (no decoding).

Works on the thumbnail stack of :mod:`.metrics`: every thumbnail pixel is a
*cell* of a grid (64 cells on the longer side). Exclusions (the status-bar band
and user rectangles, normalised ``x, y, w, h``) remove the cells they touch.

A cell *differs* from a reference frame when its grey level is more than
``threshold`` away (auto: above the compression noise, at least 6 of 255).

FIRST: compare every frame with frame 0. Each cell gets an *onset* (first frame
where it differs) and, if it later looks like frame 0 again, a *return*. The
first frame is the latest onset ``F`` such that every cell that started to
differ before ``F`` has already returned (it was a blink, a ticking clock
digit that came back, noise) and those cells are few. The tap's effect is the
first change that *stays*.

LAST: compare every frame with the final frame. Each cell gets a *settle*
frame (from which on it equals the final frame for good) and the time of its
last *departure* from the final state. The last frame is the earliest settle
``L`` such that every cell settling after ``L`` keeps departing again after
``L`` (a blinking cursor, a spinner) and those cells are few (at most
``NUISANCE_AREA`` of the screen). The page's last real change never comes back.

Blinks: a small region (a text cursor, the caret of an input field, a pulsing
"live" dot) that at the end of the recording repeats itself with a steady
period (0.25-2.5 s) and switches between two looks is not loading, even where
its switching is too faint or too smooth to "keep departing" every cycle: its
cells count as final from the first frame of its periodic run (and so do the
cells around it that last changed during the run: the encoder refreshing
them), so the search ends before it. A small change that does not repeat is
the page's last change and stays.

Confidence 0..1 grows with the share of the screen that changes exactly at
the chosen frame (an abrupt, large change is unambiguous) and shrinks with the
area of small recurring changes that had to be ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .metrics import FrameMetrics
from .video import FrameReviewError

DEFAULT_STATUS_BAR = 0.05  # top share of the screen excluded by default (status-bar clock, icons)
NUISANCE_AREA = 0.03  # largest screen share of small recurring changes that are ignored
MIN_THRESHOLD = 6.0  # grey levels (of 255) a cell must move to count as different
MAX_CANDIDATES = 5
BLINK_MIN_PERIOD = 0.25  # seconds of one on+off cycle of a blink (cursor, caret, live dot)
BLINK_MAX_PERIOD = 2.5
BLINK_MIN_SWITCHES = 3  # on/off switches a blink shows at the end of the recording
BLINK_WINDOW = 4 * BLINK_MAX_PERIOD  # seconds at the end in which a blink's period is measured
BLINK_SLACK = 2  # frames a blink's periodic run may seem to start after the page's last change


@dataclass(frozen=True)
class Rect:
    """An exclusion rectangle in normalised coordinates (0..1 of the displayed width/height)."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self):
        vals = (self.x, self.y, self.w, self.h)
        if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in vals):
            raise FrameReviewError(f"exclusion {vals}: x, y, w, h must be numbers between 0 and 1.")
        if (
            min(vals) < 0
            or self.x + self.w > 1 + 1e-6
            or self.y + self.h > 1 + 1e-6
            or self.w <= 0
            or self.h <= 0
        ):
            raise FrameReviewError(
                f"exclusion x={self.x}, y={self.y}, w={self.w}, h={self.h} is outside the frame: "
                "use fractions of the frame (0..1), with w, h > 0 and x+w, y+h ≤ 1."
            )

    def to_dict(self) -> dict:
        return asdict(self)


def parse_exclusions(exclusions: Iterable | None) -> list[Rect]:
    """Rectangles from ``Rect``, ``{"x":..,"y":..,"w":..,"h":..}``, ``(x, y, w, h)`` or ``"x,y,w,h"``."""
    rects = []
    for e in exclusions or []:
        if isinstance(e, Rect):
            rects.append(e)
        elif isinstance(e, dict):
            try:
                rects.append(Rect(float(e["x"]), float(e["y"]), float(e["w"]), float(e["h"])))
            except KeyError as exc:
                raise FrameReviewError(
                    f"exclusion {e}: needs keys x, y, w, h (fractions 0..1)."
                ) from exc
        else:
            parts = e.split(",") if isinstance(e, str) else list(e)
            if len(parts) != 4:
                raise FrameReviewError(
                    f"exclusion {e!r}: give four numbers x, y, w, h (fractions 0..1)."
                )
            try:
                rects.append(Rect(*(float(p) for p in parts)))
            except (TypeError, ValueError) as exc:
                raise FrameReviewError(
                    f"exclusion {e!r}: x, y, w, h must be numbers between 0 and 1."
                ) from exc
    return rects


def cell_mask(
    shape: tuple[int, int], rects: list[Rect], status_bar: float = DEFAULT_STATUS_BAR
) -> np.ndarray:
    """Bool ``[rows, cols]``: True for cells used by the detection (not touched by any exclusion)."""
    if not 0 <= status_bar < 1:
        raise FrameReviewError(
            f"status_bar={status_bar}: give the excluded top share of the screen, 0 (none) to <1."
        )
    rows, cols = shape
    used = np.ones(shape, bool)
    eps = 1e-9
    all_rects = list(rects) + ([Rect(0.0, 0.0, 1.0, status_bar)] if status_bar > 0 else [])
    for r in all_rects:
        c0, c1 = int(np.floor(r.x * cols + eps)), int(np.ceil((r.x + r.w) * cols - eps))
        r0, r1 = int(np.floor(r.y * rows + eps)), int(np.ceil((r.y + r.h) * rows - eps))
        used[r0 : max(r1, r0 + 1), c0 : max(c1, c0 + 1)] = False
    return used


@dataclass
class Candidate:
    index: int
    time: float  # seconds from the first frame (stream timestamps)
    score: float  # 0..1, higher = more likely
    reason: str
    brightness: float = 0.0
    sharpness: float = 0.0
    change: float = 0.0
    thumbnail: str | None = None  # JPEG path once written

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Detection:
    first: Candidate | None
    last: Candidate | None
    first_confidence: float
    last_confidence: float
    first_candidates: list[Candidate]
    last_candidates: list[Candidate]
    threshold: float
    status_bar: float
    exclusions: list[Rect]
    excluded_share: float  # share of the screen's cells left out
    warnings: list[str] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        return min(self.first_confidence, self.last_confidence)

    @property
    def duration_ms(self) -> float | None:
        if self.first is None or self.last is None:
            return None
        return (self.last.time - self.first.time) * 1000.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["confidence"] = self.confidence
        d["duration_ms"] = self.duration_ms
        return d


def estimate_threshold(cells: np.ndarray) -> float:
    """Grey-level step above compression noise: 3 × the typical 90th-percentile cell change of a frame."""
    if len(cells) < 2:
        return MIN_THRESHOLD
    steps = np.abs(
        np.diff(cells[:: max(1, len(cells) // 600)].astype(np.int16), axis=0)
    )  # ≤ 600 frames suffice
    noise = float(np.median(np.percentile(steps, 90, axis=1)))
    return max(MIN_THRESHOLD, 3.0 * noise)


def _differs(cells: np.ndarray, ref: np.ndarray, thr: float) -> np.ndarray:
    """``|cells - ref| > thr`` per frame and cell, on the uint8 grid without widening it:
    a cell differs when it is above ``floor(ref + thr)`` or below ``ceil(ref - thr)``."""
    r = ref.astype(np.float64)
    hi = np.clip(np.floor(r + thr), 0, 255).astype(np.uint8)
    lo = np.clip(np.ceil(r - thr), 0, 255).astype(np.uint8)
    return (cells > hi) | (cells < lo)


_BLOCK = 128  # frames per block of the first/last-true scans


def _first_true(a: np.ndarray, default: int) -> np.ndarray:
    """Index of the first True per column, ``default`` where none.

    Scans blocks of ``_BLOCK`` rows in order: a block's ``any`` over its rows is
    one contiguous pass, only the columns whose first True lies in the block are
    searched there, and the scan stops once every column has one. (A column-wise
    argmax over the whole array reads it across its memory layout: 10-50x slower
    on a minute of 60 fps.)"""
    n, m = a.shape
    out = np.full(m, default, np.intp)
    open_ = np.ones(m, bool)
    for start in range(0, n, _BLOCK):
        block = a[start : start + _BLOCK]
        new = block.any(axis=0)
        new &= open_
        if new.any():
            cols = np.flatnonzero(new)
            out[cols] = start + block[:, cols].argmax(axis=0)
            open_[cols] = False
            if not open_.any():
                break
    return out


def _last_true(a: np.ndarray, default: int) -> np.ndarray:
    """Index of the last True per column, ``default`` where none."""
    n = a.shape[0]
    rev = _first_true(a[::-1], -1)
    return np.where(rev >= 0, n - 1 - rev, default)


def _first_change(cells: np.ndarray, thr: float) -> int | None:
    """The first frame where some cell differs from frame 0, in blocks of ``_BLOCK`` frames."""
    for start in range(0, len(cells), _BLOCK):
        rows = np.flatnonzero(_differs(cells[start : start + _BLOCK], cells[0], thr).any(axis=1))
        if len(rows):
            return start + int(rows[0])
    return None


def _find_first(diff: np.ndarray, budget: int) -> tuple[int | None, np.ndarray, int]:
    """(first frame, onset per cell, number of ignored recurring cells)."""
    n = diff.shape[0]
    onset = _first_true(diff, n)
    # first return to the reference look after the onset (True -> False at t)
    back = np.zeros_like(diff)
    back[1:] = diff[:-1] & ~diff[1:]
    ret = _first_true(back, n + 1)
    candidates = np.unique(onset[onset < n])
    best, ignored = None, 0
    for f in candidates:
        early = onset < f
        if np.any(early & (ret > f)) or early.sum() > budget:
            break
        best, ignored = int(f), int(early.sum())
    return best, onset, ignored


def _find_last(
    diff: np.ndarray, budget: int, blink_from: np.ndarray | None = None
) -> tuple[int | None, np.ndarray, int]:
    """(last frame, settle frame per cell, number of ignored recurring cells).

    ``blink_from``: per cell, the first candidate frame from which the cell may settle
    later without departing again (a blink whose periodic run starts there; -1 = any
    frame, ``len(diff)`` = none)."""
    settle = _last_true(diff, -1) + 1  # 0: always equal to the final frame
    depart = np.zeros_like(diff)
    depart[1:] = ~diff[:-1] & diff[1:]  # False -> True at t: left the final look
    last_dep = _last_true(depart, -1)
    candidates = np.unique(settle[settle > 0])[::-1]
    free = np.full(diff.shape[1], diff.shape[0]) if blink_from is None else blink_from
    best, ignored = None, 0
    for s in candidates:
        late = settle > s
        if np.any(late & (last_dep <= s) & (free > s)) or late.sum() > budget:
            break
        best, ignored = int(s), int(late.sum())
    return best, settle, ignored


@dataclass
class Blink:
    """A small region of the final page that keeps switching with a steady period
    (text cursor, caret, pulsing dot): not loading. ``start``: first frame of its
    periodic run; ``cells``: indices into the used cells."""

    cells: np.ndarray
    period: float  # seconds
    start: int


def _periodic_start(x: np.ndarray, times: np.ndarray, period: float, tol: float) -> int:
    """First frame ``o`` such that every frame from ``o + period`` on looks like the frame one
    period earlier (within ``tol`` grey levels per cell; the frames around ``t - period`` are
    taken, so switching edges and timestamps jitter match); ``len(x)`` when the end does not repeat."""
    n = len(x)
    j = np.searchsorted(times, times - period)
    ok = times - period >= times[0] - 1e-9
    lo = np.full(x.shape, np.inf, np.float32)
    hi = np.full(x.shape, -np.inf, np.float32)
    for dj in (-2, -1, 0, 1):  # the frames within 1.5 frame durations of t - period
        jj = np.clip(j + dj, 0, n - 1)
        near = (
            np.abs(times[jj] - (times - period))
            <= 1.5 * (times[-1] - times[0]) / max(1, n - 1) + 1e-9
        )
        ref = x[jj]
        lo = np.where(near[:, None], np.minimum(lo, ref), lo)
        hi = np.where(near[:, None], np.maximum(hi, ref), hi)
    match = ok & np.all((x >= lo - tol) & (x <= hi + tol), axis=1)
    bad = np.flatnonzero(~match)
    if not len(bad):
        return 0
    first_ok = int(bad[-1]) + 1  # the final run of repeating frames starts here
    if first_ok >= n:
        return n
    return int(np.searchsorted(times, times[first_ok] - period - 1e-9))


def _blinks(
    cells: np.ndarray,
    times: np.ndarray,
    grid: np.ndarray,
    d_end: np.ndarray,
    thr: float,
    budget: int,
) -> list[Blink]:
    """Small regions whose change at the end of the recording is periodic on/off switching.

    A region (connected cells that differ from the final frame during the last
    ``BLINK_MAX_PERIOD``) is a blink when, for some period between
    ``BLINK_MIN_PERIOD`` and ``BLINK_MAX_PERIOD``, the end of the recording
    repeats itself one period later for at least a full period, switching
    between two looks (on/off) at least ``BLINK_MIN_SWITCHES`` times, and it
    covers at most ``budget`` cells. The shortest period with the earliest
    start wins (whole multiples repeat too, but start later).
    """
    import cv2

    n = len(times)
    if n < 8 or times[-1] - times[0] < 2 * BLINK_MIN_PERIOD:
        return []
    dt = float(np.median(np.diff(times))) or 1e-3
    tail = np.searchsorted(times, times[-1] - BLINK_MAX_PERIOD)
    active: np.ndarray = np.asarray(d_end[tail:].any(axis=0))
    if not active.any():
        return []
    img = np.zeros(grid.shape, np.uint8)
    img[grid >= 0] = active[grid[grid >= 0]]
    count, labels = cv2.connectedComponents(img, connectivity=8)
    # Periods every other frame duration at 40 fps and more: a period is matched within ±1.5 frames.
    period_step = 2 * dt if dt < 1 / 40 else dt
    periods = np.arange(
        BLINK_MIN_PERIOD, min(BLINK_MAX_PERIOD, (times[-1] - times[0]) / 2) + dt / 2, period_step
    )
    w0 = int(np.searchsorted(times, times[-1] - BLINK_WINDOW))
    found = []
    for k in range(1, count):
        idx = grid[labels == k]
        if len(idx) > budget:
            continue
        # The period is chosen on the last BLINK_WINDOW seconds; the start of the run is then
        # followed back as far as it goes.
        x = cells[w0:, idx].astype(np.float32)
        tw = times[w0:]
        best = None
        for p in periods:
            start = _periodic_start(x, tw, float(p), thr)
            if start >= len(tw) or tw[-1] - tw[start] < 2 * p - 1.5 * dt:
                continue  # less than a full period verified
            seg = x[start:]
            # on/off: the cell that moves most crosses its mid level often enough
            c = int(np.argmax(seg.max(axis=0) - seg.min(axis=0)))
            lo_, hi_ = float(seg[:, c].min()), float(seg[:, c].max())
            if hi_ - lo_ <= thr:
                continue
            side = seg[:, c] > (lo_ + hi_) / 2
            if np.count_nonzero(side[1:] != side[:-1]) < BLINK_MIN_SWITCHES:
                continue
            if best is None or start < best.start - 1:
                best = Blink(idx, float(p), start)
        if best is not None:
            start = w0 + best.start
            if best.start == 0 and w0 > 0:
                start = _periodic_start(cells[:, idx].astype(np.float32), times, best.period, thr)
            found.append(Blink(idx, best.period, start))
    return found


def _neighbours(grid: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Used cells touching ``cells`` (8-connected), ``cells`` left out."""
    mask = np.isin(grid, cells)
    grown = mask.copy()
    rows, cols = grid.shape
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            shifted = np.zeros_like(mask)
            shifted[max(0, dr) : rows + min(0, dr), max(0, dc) : cols + min(0, dc)] = mask[
                max(0, -dr) : rows + min(0, -dr), max(0, -dc) : cols + min(0, -dc)
            ]
            grown |= shifted
    return grid[grown & ~mask & (grid >= 0)]


def detect(
    metrics: FrameMetrics | str | Path,
    exclusions: Iterable | None = None,
    status_bar: float = DEFAULT_STATUS_BAR,
    threshold: float | None = None,
) -> Detection:
    """First and last frame with ranked candidates, from stored metrics (``metrics.npz``) only.

    ``exclusions``: rectangles (see :func:`parse_exclusions`) whose cells are
    ignored, on top of the top ``status_bar`` share of the screen.
    """
    import cv2

    m = metrics if isinstance(metrics, FrameMetrics) else FrameMetrics.load(metrics)
    rects = parse_exclusions(exclusions)
    n = len(m)
    used = cell_mask(m.thumbs.shape[1:], rects, status_bar)
    if not used.any():
        raise FrameReviewError(
            "the exclusions cover the whole screen; remove some so the detector has something to watch."
        )
    used_at = np.flatnonzero(used.ravel())
    if used_at[-1] - used_at[0] + 1 == len(used_at):  # whole rows (the status bar only): a slice
        cells = np.ascontiguousarray(m.thumbs.reshape(n, -1)[:, used_at[0] : used_at[-1] + 1])
    else:
        cells = np.take(m.thumbs.reshape(n, -1), used_at, axis=1)  # uint8
    thr = float(threshold) if threshold is not None else estimate_threshold(cells)
    n_cells = cells.shape[1]
    budget = max(3, int(NUISANCE_AREA * n_cells))
    warnings: list[str] = []

    def cand(i: int, score: float, reason: str) -> Candidate:
        return Candidate(
            int(i),
            float(m.times[i]),
            round(float(np.clip(score, 0, 1)), 3),
            reason,
            float(m.brightness[i]),
            float(m.sharpness[i]),
            float(m.change[i]),
        )

    # Per-frame share of used cells that differ from the previous frame (for extra candidates).
    step = np.zeros(n)
    step[1:] = np.count_nonzero(cv2.absdiff(cells[1:], cells[:-1]) > thr, axis=1) / n_cells

    first = last = None
    first_conf = last_conf = 0.0
    first_c: list[Candidate] = []
    last_c: list[Candidate] = []
    if n < 2:
        warnings.append("the recording has a single frame; nothing to detect.")
    else:
        d_start = _differs(cells, cells[0], thr)
        f, onset, ign_f = _find_first(d_start, budget)
        d_end = _differs(cells, cells[-1], thr)
        grid = np.full(used.shape, -1, np.int64)
        grid[used] = np.arange(n_cells)
        blinks = _blinks(cells, m.times, grid, d_end, thr, budget)
        raw_settle: np.ndarray | None = _last_true(d_end, -1) + 1 if blinks else None
        d_search = d_end.copy() if blinks else d_end
        blink_from = np.full(n_cells, n)
        for b in blinks:
            assert raw_settle is not None
            # A blink's cells count as final from its first periodic frame on, and so do the
            # cells around it that last changed during its run (the encoder refreshing them).
            near = _neighbours(grid, b.cells)
            cells_b = np.union1d(b.cells, near[raw_settle[near] > b.start])
            d_search[b.start :, cells_b] = False
            blink_from[cells_b] = b.start - BLINK_SLACK  # its first frame may be an encoder's ramp
        last_i, settle, ign_l = _find_last(d_search, budget, blink_from if blinks else None)
        if raw_settle is None:  # no blink: the search saw the recording as it is
            raw_settle = settle
        if last_i is not None:
            ign_l += sum(int(np.count_nonzero(raw_settle[b.cells] > last_i)) for b in blinks)
        if f is None or last_i is None:
            warnings.append(
                "no lasting change found outside the exclusions: check the recording or the exclusion regions."
            )
        else:
            if last_i < f:
                warnings.append(
                    "the final screen appears before the first change; review both marks."
                )
            share_f = float(np.mean(onset == f))
            first_conf = (0.35 + 0.65 * min(1.0, share_f / 0.01)) * (1 - 0.5 * ign_f / budget)
            share_l = float(np.mean(settle == last_i))
            last_conf = (0.35 + 0.65 * min(1.0, share_l / 0.02)) * (1 - 0.5 * ign_l / budget)
            first = cand(
                f,
                first_conf,
                f"first lasting change: {share_f:.1%} of the screen starts to differ from frame 0"
                + (f" ({ign_f} cells of blinking/recurring change ignored)" if ign_f else ""),
            )
            blinking = [b for b in blinks if np.any(raw_settle[b.cells] > last_i)]
            last = cand(
                last_i,
                last_conf,
                f"first frame of the final screen: {share_l:.1%} of the screen settles here"
                + (
                    f"; later changes confined to {ign_l} cells that keep changing (cursor, spinner) are ignored"
                    if ign_l
                    else ""
                )
                + "".join(
                    f"; a blinking cursor/dot ({len(b.cells)} cells, every {b.period:.2f} s from "
                    f"frame {b.start}) is not loading"
                    for b in blinking
                ),
            )
            first_c, last_c = [first], [last]
            # -- alternatives for the reviewer ------------------------------------
            any_change = _first_change(m.thumbs.reshape(n, -1), thr)
            if any_change is not None and any_change != f:
                first_c.append(
                    cand(any_change, 0.3, "first change anywhere, including excluded regions")
                )
            later = np.unique(onset[(onset > f) & (onset < len(m))])
            for i in sorted(later, key=lambda i: -np.mean(onset == i))[:3]:
                share = float(np.mean(onset == i))
                first_c.append(
                    cand(
                        i,
                        0.5 * first_conf * min(1.0, share / 0.02),
                        f"{share:.1%} of the screen starts to differ here",
                    )
                )
            earlier = np.unique(settle[(settle > 0) & (settle < last_i)])
            for i in sorted(earlier, key=lambda i: -np.mean(settle == i))[:3]:
                share = float(np.mean(settle == i))
                last_c.append(
                    cand(
                        i,
                        0.5 * last_conf * min(1.0, share / 0.05),
                        f"{share:.1%} of the screen settles here (loading step?)",
                    )
                )
            if raw_settle.max() > last_i:
                last_c.append(
                    cand(
                        int(raw_settle.max()),
                        0.25,
                        "last change of any kind (cursor/spinner regions included)",
                    )
                )
            window = step.copy()
            window[: f + 1] = 0
            window[last_i + 1 :] = 0
            for i in np.argsort(window)[::-1][:2]:
                if window[i] > 0:
                    last_c.append(
                        cand(
                            i,
                            0.4 * last_conf * window[i],
                            f"large change: {window[i]:.0%} of the screen changes vs the previous frame",
                        )
                    )
            first_c, last_c = _rank(first_c), _rank(last_c)

    return Detection(
        first=first,
        last=last,
        first_confidence=round(first_conf, 3),
        last_confidence=round(last_conf, 3),
        first_candidates=first_c,
        last_candidates=last_c,
        threshold=thr,
        status_bar=status_bar,
        exclusions=rects,
        excluded_share=round(1 - float(used.mean()), 4),
        warnings=warnings,
    )


def _rank(cands: list[Candidate]) -> list[Candidate]:
    """Best first (the chosen frame stays first), one per frame index, at most ``MAX_CANDIDATES``."""
    seen, out = set(), []
    for c in cands[:1] + sorted(cands[1:], key=lambda c: -c.score):
        if c.index not in seen:
            seen.add(c.index)
            out.append(c)
    return out[:MAX_CANDIDATES]
