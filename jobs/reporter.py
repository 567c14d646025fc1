"""The progress reporter handed to pipelines (a ``pipelines.progress.Progress``).

It keeps the latest stage / fraction / item / message, writes them to the job
record at most every ``interval`` seconds (and at once on a stage change),
computes the ETA from the elapsed time, and raises ``Cancelled`` at the next
step after the user asked to cancel: the same write that stores progress reads
the cancel flag back (``UPDATE ... RETURNING``).

Progress not written yet is written within ``interval`` even when the job goes
quiet: by its next update, or by the process's flusher thread (one per process,
started with the first reporter that holds some back). The runner's reporter
counts the claim as a write (``written_at``): a stage set in the first
``interval`` after it is not written at once but goes with the next write, the
flusher's or the job's end. So a short job's run is two writes, the claim and
the end (the end carries its last progress), and a job that sets its first
stage and then works for minutes shows that stage ``interval`` after its claim.

The record is the source of truth; its ``status.json`` mirror is written with
progress at most every ``mirror_interval`` seconds, the first time
``mirror_interval`` after the claim (the runner writes it at the end), because
each rewrite of that file costs a flush of the disk (ext4 writes a file replaced
by rename at once): a short job's only mirror is its end's, a new file. The job's log stays open
for the run, line-buffered: a line is in the file as soon as it is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, TextIO

from jobs import store
from pipelines.progress import Cancelled

log = logging.getLogger(__name__)

FLUSH_TICK_S = 0.05  # how often the flusher looks for progress held back too long


class Reporter:
    """A :class:`pipelines.progress.JobProgress` writing to one job's record.

    ``written_at`` (``time.monotonic()``): when the record was last written, the
    runner's claim; progress in the ``interval`` after it waits for the next write.
    Its methods may run in the job's thread and in the flusher's (one lock)."""

    def __init__(
        self,
        job_id: str,
        interval: float = 0.25,
        mirror_interval: float = 5.0,
        written_at: float | None = None,
    ):
        self.job_id = job_id
        self.interval = interval
        self.mirror_interval = mirror_interval
        self.started = time.monotonic()
        self._claimed_at = written_at if written_at is not None else float("-inf")
        self._last_write = written_at if written_at is not None else 0.0
        self._last_mirror = self.started  # the first mirror: mirror_interval after the claim
        self._pending: dict[str, Any] = {}
        self._stage: str | None = None
        self._fraction = 0.0
        self._log: TextIO | None = None
        self._lock = threading.RLock()
        self._ended = False  # the runner took the last progress for the end: no more writes
        self.cancelled = False

    def update(
        self,
        *,
        stage: str | None = None,
        fraction: float | None = None,
        item: str | None = None,
        message: str | None = None,
    ) -> None:
        with self._lock:
            now = time.monotonic()
            if stage is not None and stage != self._stage:
                self._stage = stage
                self._pending["stage"] = stage
                if now - self._claimed_at >= self.interval:
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
            if now - self._last_write >= self.interval:
                self.flush()
            elif self._pending:
                _hold(self)  # written within interval, by the next update or the flusher
            cancelled = self.cancelled
        if cancelled:
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
        with self._lock:
            if self._ended:
                return
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

    def _flush_held(self) -> None:
        """The flusher's write: the progress held back, if the job did not write it since."""
        with self._lock:
            if self._pending and not self._ended:
                self.flush()

    def take_pending(self) -> dict[str, Any]:
        """The progress not written yet (the runner writes it with the job's end, or
        drops it for a failed or cancelled one); nothing is written after this."""
        with self._lock:
            self._ended = True
            pending = dict(self._pending)
            self._pending.clear()
        with _held_lock:
            _held.discard(self)
        return pending

    def log(self, line: str) -> None:
        if self._log is None:
            self._log = store.open_log(self.job_id)
        store.write_log(self._log, line)

    def close(self) -> None:
        """Close the job's log (the runner does, at the end of the job)."""
        with _held_lock:
            _held.discard(self)
        if self._log is not None:
            self._log.close()
            self._log = None


_held: set[Reporter] = set()  # reporters holding progress back
_held_lock = threading.Lock()
_flusher: threading.Thread | None = None


def _hold(reporter: Reporter) -> None:
    global _flusher
    with _held_lock:
        _held.add(reporter)
        if _flusher is None or not _flusher.is_alive():  # the first, or a forked child
            _flusher = threading.Thread(target=_flush_held, daemon=True, name="progress")
            _flusher.start()


def _flush_held() -> None:
    """The flusher: every FLUSH_TICK_S, writes the progress a reporter has held
    back for ``interval`` (its job went quiet). Runs as long as the process."""
    while True:
        time.sleep(FLUSH_TICK_S)
        now = time.monotonic()
        with _held_lock:
            due = [r for r in _held if now - r._last_write >= r.interval]
            _held.difference_update(due)
        for reporter in due:
            try:
                reporter._flush_held()
            except Exception:  # the database is away: the job's next write says so
                log.warning("progress of job %s not written", reporter.job_id, exc_info=True)
