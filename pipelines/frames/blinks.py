"""Blinks for :mod:`.first_last`: small regions (a text cursor, a caret, a pulsing "live"
dot) that at the end of a recording switch between two looks with a steady period
(0.25-2.5 s). They are not loading: the last frame search ends before them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLINK_MIN_PERIOD = 0.25  # seconds of one on+off cycle of a blink (cursor, caret, live dot)
BLINK_MAX_PERIOD = 2.5
BLINK_MIN_SWITCHES = 3  # on/off switches a blink shows at the end of the recording
BLINK_WINDOW = 4 * BLINK_MAX_PERIOD  # seconds at the end in which a blink's period is measured
BLINK_SLACK = 2  # frames a blink's periodic run may seem to start after the page's last change
_AROUND = np.array([-2, -1, 0, 1])[:, None]  # periodic_start's neighbours of t - period


@dataclass
class Blink:
    """A small region of the final page that keeps switching with a steady period
    (text cursor, caret, pulsing dot): not loading. ``start``: first frame of its
    periodic run; ``cells``: indices into the used cells."""

    cells: np.ndarray
    period: float  # seconds
    start: int


def periodic_start(x: np.ndarray, times: np.ndarray, period: float, tol: float) -> int:
    """First frame ``o`` such that every frame from ``o + period`` on looks like the frame one
    period earlier (within ``tol`` grey levels per cell; the frames around ``t - period`` are
    taken, so switching edges and timestamps jitter match); ``len(x)`` when the end does not repeat."""
    n = len(x)
    back = times - period
    ok = back >= times[0] - 1e-9
    # the frames within 1.5 frame durations of t - period: 4 candidates a frame, all at once
    jj = np.clip(np.searchsorted(times, back)[None, :] + _AROUND, 0, n - 1)
    near = (np.abs(times[jj] - back) <= 1.5 * (times[-1] - times[0]) / max(1, n - 1) + 1e-9)[
        :, :, None
    ]
    ref = x[jj].astype(np.float32, copy=False)
    lo = np.where(near, ref, np.float32(np.inf)).min(axis=0)
    hi = np.where(near, ref, np.float32(-np.inf)).max(axis=0)
    match = ok & np.all((x >= lo - tol) & (x <= hi + tol), axis=1)
    bad = np.flatnonzero(~match)
    if not len(bad):
        return 0
    first_ok = int(bad[-1]) + 1  # the final run of repeating frames starts here
    if first_ok >= n:
        return n
    return int(np.searchsorted(times, times[first_ok] - period - 1e-9))


def find_blinks(
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
            start = periodic_start(x, tw, float(p), thr)
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
                start = periodic_start(cells[:, idx].astype(np.float32), times, best.period, thr)
            found.append(Blink(idx, best.period, start))
    return found


def neighbours(grid: np.ndarray, cells: np.ndarray) -> np.ndarray:
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
