"""Scans of the thumbnail cell grid for :mod:`.first_last`: the noise threshold, which
cells differ from a reference frame, and the first/last frame searches over them."""

from __future__ import annotations

import numpy as np

MIN_THRESHOLD = 6.0  # grey levels (of 255) a cell must move to count as different


def estimate_threshold(cells: np.ndarray) -> float:
    """Grey-level step above compression noise: 3 × the typical 90th-percentile cell change of a frame."""
    if len(cells) < 2:
        return MIN_THRESHOLD
    steps = np.abs(
        np.diff(cells[:: max(1, len(cells) // 600)].astype(np.int16), axis=0)
    )  # ≤ 600 frames suffice
    noise = float(np.median(np.percentile(steps, 90, axis=1)))
    return max(MIN_THRESHOLD, 3.0 * noise)


def differs(cells: np.ndarray, ref: np.ndarray, thr: float) -> np.ndarray:
    """``|cells - ref| > thr`` per frame and cell, on the uint8 grid without widening it:
    a cell differs when it is above ``floor(ref + thr)`` or below ``ceil(ref - thr)``."""
    r = ref.astype(np.float64)
    hi = np.clip(np.floor(r + thr), 0, 255).astype(np.uint8)
    lo = np.clip(np.ceil(r - thr), 0, 255).astype(np.uint8)
    return (cells > hi) | (cells < lo)


BLOCK = 128  # frames per block of the first/last-true scans


def first_true(a: np.ndarray, default: int) -> np.ndarray:
    """Index of the first True per column, ``default`` where none.

    Scans blocks of ``BLOCK`` rows in order: a block's ``any`` over its rows is
    one contiguous pass, only the columns whose first True lies in the block are
    searched there, and the scan stops once every column has one. (A column-wise
    argmax over the whole array reads it across its memory layout: 10-50x slower
    on a minute of 60 fps.)"""
    n, m = a.shape
    out = np.full(m, default, np.intp)
    open_ = np.ones(m, bool)
    for start in range(0, n, BLOCK):
        block = a[start : start + BLOCK]
        new = block.any(axis=0)
        new &= open_
        if new.any():
            cols = np.flatnonzero(new)
            out[cols] = start + block[:, cols].argmax(axis=0)
            open_[cols] = False
            if not open_.any():
                break
    return out


def last_true(a: np.ndarray, default: int) -> np.ndarray:
    """Index of the last True per column, ``default`` where none."""
    n = a.shape[0]
    rev = first_true(a[::-1], -1)
    return np.where(rev >= 0, n - 1 - rev, default)


def first_change(cells: np.ndarray, thr: float) -> int | None:
    """The first frame where some cell differs from frame 0, in blocks of ``BLOCK`` frames."""
    for start in range(0, len(cells), BLOCK):
        rows = np.flatnonzero(differs(cells[start : start + BLOCK], cells[0], thr).any(axis=1))
        if len(rows):
            return start + int(rows[0])
    return None


def find_first(diff: np.ndarray, budget: int) -> tuple[int | None, np.ndarray, int]:
    """(first frame, onset per cell, number of ignored recurring cells)."""
    n = diff.shape[0]
    onset = first_true(diff, n)
    # first return to the reference look after the onset (True -> False at t)
    back = np.zeros_like(diff)
    back[1:] = diff[:-1] & ~diff[1:]
    ret = first_true(back, n + 1)
    candidates = np.unique(onset[onset < n])
    best, ignored = None, 0
    for f in candidates:
        early = onset < f
        if np.any(early & (ret > f)) or early.sum() > budget:
            break
        best, ignored = int(f), int(early.sum())
    return best, onset, ignored


def find_last(
    diff: np.ndarray,
    budget: int,
    blink_from: np.ndarray | None = None,
    grid: np.ndarray | None = None,
    region_cells: int = 0,
) -> tuple[int | None, np.ndarray, int]:
    """(last frame, settle frame per cell, number of ignored recurring cells).

    ``blink_from``: per cell, the first candidate frame from which the cell may settle
    later without departing again (a blink whose periodic run starts there; -1 = any
    frame, ``len(diff)`` = none). ``grid``: the cell index at each grid position (-1:
    unused); with it, a cell that settles after a candidate without departing again
    after it is still a nuisance when it lies in a small region (at most
    ``region_cells`` connected late cells) where some cell departs after the
    candidate: a change confined there appeared and disappeared after the page was
    complete (a caret seen for less than two periods, and the encoder's ringing
    around it), whether or not its period can be measured."""
    settle = last_true(diff, -1) + 1  # 0: always equal to the final frame
    depart = np.zeros_like(diff)
    depart[1:] = ~diff[:-1] & diff[1:]  # False -> True at t: left the final look
    last_dep = last_true(depart, -1)
    candidates = np.unique(settle[settle > 0])[::-1]
    free = np.full(diff.shape[1], diff.shape[0]) if blink_from is None else blink_from
    best, ignored = None, 0
    for s in candidates:
        late = settle > s
        if late.sum() > budget:
            break
        stuck = late & (last_dep <= s) & (free > s)
        if np.any(stuck) and (
            grid is None or not _transient(grid, late, last_dep > s, stuck, region_cells)
        ):
            # Not this one; an earlier candidate may still be: a cell that departs exactly
            # here (a caret switching on as another cell of it settles) departs after it.
            continue
        best, ignored = int(s), int(late.sum())
    return best, settle, ignored


def _transient(
    grid: np.ndarray, late: np.ndarray, departs: np.ndarray, stuck: np.ndarray, region_cells: int
) -> bool:
    """Whether every ``stuck`` cell lies in a region of ``late`` cells of at most
    ``region_cells`` cells that holds a cell that ``departs``. A region: late cells on the
    grid at most one cell apart (ringing reaches past the cell next to a caret)."""
    import cv2

    img = np.zeros(grid.shape, np.uint8)
    on = grid >= 0
    img[on] = late[grid[on]]
    joined = cv2.dilate(img, np.ones((3, 3), np.uint8))
    count, labels = cv2.connectedComponents(joined, connectivity=8)
    label = np.zeros(len(late), np.intp)
    label[grid[on]] = labels[on]
    size = np.bincount(label[late], minlength=count)
    moving = np.bincount(label[late & departs], minlength=count) > 0
    regions = np.unique(label[stuck])
    return bool(np.all((size[regions] <= region_cells) & moving[regions]))
