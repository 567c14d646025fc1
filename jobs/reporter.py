"""The progress reporter handed to pipelines (a ``pipelines.progress.Progress``).

It keeps the latest stage / fraction / item / message, writes them to the job
record at most every ``interval`` seconds (and at once on a stage change),
computes the ETA from the elapsed time, and raises ``Cancelled`` at the next
step after the user asked to cancel: the same write that stores progress reads
the cancel flag back (``UPDATE ... RETURNING``).

The first write comes ``interval`` after the claim, a stage change included: a
job that ends sooner hands its progress to the runner, which writes it with the
end (a short job is two writes: the claim and the end). What a job reported and
then left unwritten (it went quiet: a long step, a model loading) is written by
one flusher thread per process once it is due, so the record is never more than
about ``interval`` behind (:data:`FLUSH_EVERY`); once the runner took the
progress for the end, nothing more is written.

The record is the source of truth; its ``status.json`` mirror is written with
progress at most every ``mirror_interval`` seconds, the first time
``mirror_interval`` after the claim (the runner writes it at the end), because
each rewrite of that file costs a flush of the disk (ext4 writes a file replaced
by rename at once): a short job's only mirror is its end's, a new file. The job's log stays open
for the run, line-buffered: a line is in the file as soon as it is logged.
"""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

from jobs import store
from pipelines.progress import Cancelled

FLUSH_EVERY = 0.1  # seconds between the flusher's looks at the reporters it holds


class Reporter:
    """A :class:`pipelines.progress.JobProgress` writing to one job's record."""

    def __init__(self, job_id: str, interval: float = 0.25, mirror_interval: float = 5.0):
        self.job_id = job_id
        self.interval = interval
        self.mirror_interval = mirror_interval
        self.started = time.monotonic()
        self._last_write = self.started  # the first write: interval after the claim
        self._last_mirror = self.started  # the first mirror: mirror_interval after the claim
        self._pending: dict[str, Any] = {}
        self._stage: str | None = None
        self._fraction = 0.0
        self._log: TextIO | None = None
        self._lock = threading.Lock()  # the lane's updates and the flusher's writes
        self._ended = False  # the runner took the progress: nothing more is written
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
            if stage is not None and stage != self._stage:
                self._stage = stage
                self._pending["stage"] = stage
                # written at once, except in the first interval after the claim
                self._last_write = min(self._last_write, self.started)
                self.log(f"stage: {stage}")
            if fraction is not None:
                self._fraction = min(max(float(fraction), 0.0), 1.0)
                self._pending["progress"] = self._fraction
                self._pending["eta_s"] = self._eta()
            if item is not None:
                self._pending["item"] = str(item)
            if message is not None:
                self._pending["message"] = str(message)
            if self._due(time.monotonic()):
                self._flush()
            elif self._pending and not self._ended:
                _flusher.hold(self)
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

    def _due(self, now: float) -> bool:
        """Time to write: ``interval`` since the last write (since the claim for the first)."""
        return now - self._last_write >= self.interval

    def flush(self) -> None:
        """Write what is pending now (or read the cancel flag when nothing is)."""
        with self._lock:
            self._flush()

    def flush_if_due(self) -> bool:
        """The flusher's look: write what is pending once it is due; True while
        something is left to write later."""
        with self._lock:
            if self._ended or not self._pending:
                return False
            if not self._due(time.monotonic()):
                return True
            self._flush()
            return False

    def _flush(self) -> None:
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

    def take_pending(self) -> dict[str, Any]:
        """The progress not written yet, for the runner to write with the job's end;
        from now on this reporter writes nothing to the record."""
        with self._lock:
            self._ended = True
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


class _Flusher:
    """One daemon thread per process that writes the progress a quiet job left
    pending, once due (:meth:`Reporter.flush_if_due`). It looks every
    :data:`FLUSH_EVERY` seconds; a reporter leaves it once nothing is pending."""

    def __init__(self) -> None:
        self._held: set[Reporter] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, reporter: Reporter) -> None:
        with self._lock:
            self._held.add(reporter)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="progress-flusher", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_EVERY)
            with self._lock:
                held = list(self._held)
            for reporter in held:
                try:
                    keep = reporter.flush_if_due()
                except Exception:  # the database away for a moment: the next look retries
                    keep = True
                if not keep:
                    with self._lock:
                        self._held.discard(reporter)


_flusher = _Flusher()
