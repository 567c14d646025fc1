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

from .blinks import BLINK_SLACK, find_blinks, neighbours
from .cell_scans import (
    MIN_THRESHOLD,
    differs,
    estimate_threshold,
    find_first,
    find_last,
    first_change,
    last_true,
)
from .exclusions import DEFAULT_STATUS_BAR, Rect, cell_mask, parse_exclusions
from .metrics import FrameMetrics
from .video import FrameReviewError

__all__ = [  # importable from here as before the split
    "DEFAULT_STATUS_BAR",
    "MIN_THRESHOLD",
    "Candidate",
    "Detection",
    "Rect",
    "cell_mask",
    "detect",
    "estimate_threshold",
    "parse_exclusions",
]

NUISANCE_AREA = 0.03  # largest screen share of small recurring changes that are ignored
# Largest screen share of one region whose change appears and disappears after the page is
# complete and is ignored without a measurable period (a caret seen for under two periods).
TRANSIENT_AREA = 0.004
MAX_CANDIDATES = 5


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
        d_start = differs(cells, cells[0], thr)
        f, onset, ign_f = find_first(d_start, budget)
        d_end = differs(cells, cells[-1], thr)
        grid = np.full(used.shape, -1, np.int64)
        grid[used] = np.arange(n_cells)
        blinks = find_blinks(cells, m.times, grid, d_end, thr, budget)
        raw_settle: np.ndarray | None = last_true(d_end, -1) + 1 if blinks else None
        d_search = d_end.copy() if blinks else d_end
        blink_from = np.full(n_cells, n)
        for b in blinks:
            assert raw_settle is not None
            # A blink's cells count as final from its first periodic frame on, and so do the
            # cells around it that last changed during its run (the encoder refreshing them).
            near = neighbours(grid, b.cells)
            cells_b = np.union1d(b.cells, near[raw_settle[near] > b.start])
            d_search[b.start :, cells_b] = False
            blink_from[cells_b] = b.start - BLINK_SLACK  # its first frame may be an encoder's ramp
        last_i, settle, ign_l = find_last(
            d_search,
            budget,
            blink_from if blinks else None,
            grid,
            max(4, int(TRANSIENT_AREA * used.size)),
        )
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
            any_change = first_change(m.thumbs.reshape(n, -1), thr)
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
