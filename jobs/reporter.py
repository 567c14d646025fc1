"""The progress reporter handed to pipelines (a ``pipelines.progress.Progress``).

It keeps the latest stage / fraction / item / message, writes them to the job
record at most every ``interval`` seconds (and at once on a stage change),
computes the ETA from the elapsed time, and raises ``Cancelled`` at the next
step after the user asked to cancel: the same write that stores progress reads
the cancel flag back (``UPDATE ... RETURNING``).

The record is the source of truth; its ``status.json`` mirror is written with
progress at most every ``mirror_interval`` seconds, the first time
``mirror_interval`` after the claim (the runner writes it at the end), because
each rewrite of that file costs a flush of the disk (ext4 writes a file replaced
by rename at once): a short job's only mirror is its end's, a new file. The job's log stays open
for the run, line-buffered: a line is in the file as soon as it is logged.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

from jobs import store
from pipelines.progress import Cancelled


class Reporter:
    """A :class:`pipelines.progress.JobProgress` writing to one job's record."""

    def __init__(self, job_id: str, interval: float = 0.25, mirror_interval: float = 5.0):
        self.job_id = job_id
        self.interval = interval
        self.mirror_interval = mirror_interval
        self.started = time.monotonic()
        self._last_write = 0.0
        self._last_mirror = self.started  # the first mirror: mirror_interval after the claim
        self._pending: dict[str, Any] = {}
        self._stage: str | None = None
        self._fraction = 0.0
        self._log: TextIO | None = None
        self.cancelled = False

    def update(
        self,
        *,
        stage: str | None = None,
        fraction: float | None = None,
        item: str | None = None,
        message: str | None = None,
    ) -> None:
        if stage is not None and stage != self._stage:
            self._stage = stage
            self._pending["stage"] = stage
            self._last_write = 0.0  # a new stage is written at once
            self.log(f"stage: {stage}")
        if fraction is not None:
            self._fraction = min(max(float(fraction), 0.0), 1.0)
            self._pending["progress"] = self._fraction
            self._pending["eta_s"] = self._eta()
        if item is not None:
            self._pending["item"] = str(item)
        if message is not None:
            self._pending["message"] = str(message)
        if time.monotonic() - self._last_write >= self.interval:
            self.flush()
        if self.cancelled:
            raise Cancelled("Cancelled by the user")

    def raise_if_cancelled(self) -> None:
        """Check the cancel flag now (not throttled)."""
        self.flush()
        if self.cancelled:
            raise Cancelled("Cancelled by the user")

    def _eta(self) -> float | None:
        if self._fraction < 0.01:
            return None
        elapsed = time.monotonic() - self.started
        return round(elapsed * (1 - self._fraction) / self._fraction, 1)

    def flush(self) -> None:
        self._last_write = now = time.monotonic()
        if self._pending:
            mirror = now - self._last_mirror >= self.mirror_interval
            if mirror:
                self._last_mirror = now
            self.cancelled = (
                store.report_progress(self.job_id, dict(self._pending), mirror=mirror)
                or self.cancelled
            )
            self._pending.clear()
        else:
            self.cancelled = store.cancel_requested(self.job_id) or self.cancelled

    def take_pending(self) -> dict[str, Any]:
        """The progress not written yet (the runner writes it with the job's end)."""
        pending = dict(self._pending)
        self._pending.clear()
        return pending

    def log(self, line: str) -> None:
        if self._log is None:
            self._log = store.open_log(self.job_id)
        store.write_log(self._log, line)

    def close(self) -> None:
        """Close the job's log (the runner does, at the end of the job)."""
        if self._log is not None:
            self._log.close()
            self._log = None
