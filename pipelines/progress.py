"""The progress callback every pipeline takes.

A pipeline calls ``progress.update(...)`` at each step it can stop at. The job
system's reporter writes the state to the job record (throttled) and raises
:class:`Cancelled` from ``update`` once the user asked to cancel, so a pipeline
stops at its next step without polling anything itself. The CLI uses
:class:`BarProgress` (tqdm); tests and library callers may use
:class:`NullProgress`.
"""

from __future__ import annotations

import time
from typing import Protocol


class Cancelled(Exception):
    """The user cancelled the job; raised by ``Progress.update``."""


class Progress(Protocol):
    def update(
        self,
        *,
        stage: str | None = None,
        fraction: float | None = None,
        item: str | None = None,
        message: str | None = None,
    ) -> None:
        """Report where the work is. ``fraction`` is the whole job's 0..1.

        May raise :class:`Cancelled`."""

    def log(self, line: str) -> None:
        """Append a line to the job's log."""


class JobProgress(Progress, Protocol):
    """The progress a job gets (``JobContext.progress``, the job system's
    reporter): a :class:`Progress` that can also be asked about a cancel
    without reporting anything, and written out at once."""

    def raise_if_cancelled(self) -> None:
        """Raise :class:`Cancelled` now if the user asked to cancel (not throttled)."""

    def flush(self) -> None:
        """Write what was reported so far to the job record now."""


class NullProgress:
    """Progress that records nothing and never cancels."""

    def update(
        self,
        *,
        stage: str | None = None,
        fraction: float | None = None,
        item: str | None = None,
        message: str | None = None,
    ) -> None:
        pass

    def log(self, line: str) -> None:
        pass

    def raise_if_cancelled(self) -> None:
        pass

    def flush(self) -> None:
        pass


class Span:
    """A part ``[start, end]`` of a parent progress: a step reports its own 0..1.

    ``Span(progress, 0.2, 0.6).update(fraction=0.5)`` reports 0.4 to the parent.
    """

    def __init__(self, parent: Progress, start: float, end: float):
        self.parent, self.start, self.end = parent, start, end

    def update(
        self,
        *,
        stage: str | None = None,
        fraction: float | None = None,
        item: str | None = None,
        message: str | None = None,
    ) -> None:
        if fraction is not None:
            fraction = self.start + (self.end - self.start) * min(max(fraction, 0.0), 1.0)
        self.parent.update(stage=stage, fraction=fraction, item=item, message=message)

    def log(self, line: str) -> None:
        self.parent.log(line)

    def raise_if_cancelled(self) -> None:
        check = getattr(self.parent, "raise_if_cancelled", None)
        if check is not None:
            check()


def wait(seconds: float, progress: Progress, step: float = 0.25) -> None:
    """Sleep ``seconds``, asking ``progress`` about a cancel every ``step`` seconds:
    raises :class:`Cancelled` as soon as the user cancels (a job's reporter, or a
    :class:`Span` of one); with a progress that cannot be cancelled it just sleeps."""
    check = getattr(progress, "raise_if_cancelled", None)
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        if check is not None:
            check()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(step, left) if check is not None else left)


class BarProgress:
    """Progress for the command line: a tqdm bar with the stage and item."""

    def __init__(self, desc: str = "", total: int = 1000):
        import sys

        from tqdm import tqdm

        self._file = sys.stderr  # stdout stays clean for --json output
        self._bar = tqdm(total=total, desc=desc, unit="‰", leave=True, file=self._file)
        self._total = total

    def update(
        self,
        *,
        stage: str | None = None,
        fraction: float | None = None,
        item: str | None = None,
        message: str | None = None,
    ) -> None:
        if stage is not None:
            self._bar.set_description(stage)
        if fraction is not None:
            self._bar.n = int(min(max(fraction, 0.0), 1.0) * self._total)
        postfix = item or message
        if postfix:
            self._bar.set_postfix_str(str(postfix)[-40:], refresh=False)
        self._bar.refresh()

    def log(self, line: str) -> None:
        self._bar.write(line, file=self._file)

    def close(self) -> None:
        self._bar.close()


# -- progress from a child process ---------------------------------------------------
# A pipeline run in a child process (a job that needs several GPUs) reports through its
# stdout, one JSON object a line: {"update": {stage, fraction, item, message}},
# {"log": line}, and at a failure {"error": message, "type": class, "status": http}. The parent
# replays them into the job's own progress, where a cancel is raised (and the child
# killed: ``JobContext.run_child``).


class LineProgress:
    """The child's side: each update and log line as one JSON line on ``stream``
    (stdout by default). Never cancels: the parent kills the child on a cancel."""

    def __init__(self, stream=None):
        import sys

        self._stream = stream or sys.stdout

    def _say(self, message: dict) -> None:
        import json

        self._stream.write(json.dumps(message, default=str) + "\n")
        self._stream.flush()

    def update(
        self,
        *,
        stage: str | None = None,
        fraction: float | None = None,
        item: str | None = None,
        message: str | None = None,
    ) -> None:
        fields = {"stage": stage, "fraction": fraction, "item": item, "message": message}
        self._say({"update": {k: v for k, v in fields.items() if v is not None}})

    def log(self, line: str) -> None:
        self._say({"log": line})

    def error(self, message: str, kind: str, status: int | None = None) -> None:
        """The failure: its message, the exception's class name, the HTTP status of the
        studio's error family (``pipelines.errors``; None for other errors)."""
        self._say({"error": message, "type": kind, "status": status})


class LineReader:
    """The parent's side (``run_child``'s ``on_output``): replays the child's
    :class:`LineProgress` lines into ``progress`` (which may raise :class:`Cancelled`);
    other stdout lines and every stderr line go to the log. ``error`` holds the
    child's last ``{"error": …}`` line."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.error: dict | None = None
        self._partial = {"stdout": "", "stderr": ""}

    def feed(self, stream: str, text: str) -> None:
        *lines, self._partial[stream] = (self._partial[stream] + text).split("\n")
        for line in lines:
            self._line(stream, line)

    def finish(self) -> None:
        for stream, rest in self._partial.items():
            self._partial[stream] = ""
            if rest:
                self._line(stream, rest)

    def _line(self, stream: str, line: str) -> None:
        import json

        line = line.rstrip()
        if not line:
            return
        message = None
        if stream == "stdout" and line.startswith("{"):
            try:
                message = json.loads(line)
            except ValueError:
                message = None
        if not isinstance(message, dict):
            self.progress.log(f"[{stream}] {line}")
        elif "update" in message:
            fields = message["update"] if isinstance(message["update"], dict) else {}
            self.progress.update(
                **{k: fields.get(k) for k in ("stage", "fraction", "item", "message")}
            )
        elif "log" in message:
            self.progress.log(str(message["log"]))
        elif "error" in message:
            self.error = message
