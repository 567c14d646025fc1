"""The progress reporter handed to pipelines (a ``pipelines.progress.Progress``).

It keeps the latest stage / fraction / item / message, writes them to the job
record at most every ``interval`` seconds (and at once on a stage change),
computes the ETA from the elapsed time, and raises ``Cancelled`` at the next
step after the user asked to cancel: the same write that stores progress reads
the cancel flag back (``UPDATE ... RETURNING``).
"""

from __future__ import annotations

import time
from typing import Any

from jobs import store
from pipelines.progress import Cancelled


class Reporter:
    """A :class:`pipelines.progress.JobProgress` writing to one job's record."""

    def __init__(self, job_id: str, interval: float = 0.25):
        self.job_id = job_id
        self.interval = interval
        self.started = time.monotonic()
        self._last_write = 0.0
        self._pending: dict[str, Any] = {}
        self._stage: str | None = None
        self._fraction = 0.0
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
        self._last_write = time.monotonic()
        if self._pending:
            self.cancelled = (
                store.report_progress(self.job_id, dict(self._pending)) or self.cancelled
            )
            self._pending.clear()
            store.write_status_file(store.get_job(self.job_id))
        else:
            self.cancelled = store.cancel_requested(self.job_id) or self.cancelled

    def log(self, line: str) -> None:
        store.append_log(self.job_id, line)
