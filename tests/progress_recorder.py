"""The tests' one fake Progress (:class:`pipelines.progress.Progress` is a protocol: ``update``
and ``log``): it records every update and log line, and cancels when asked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.progress import Cancelled


class ProgressRecorder:
    """Records ``updates`` (each update's keyword arguments, as a dict) and ``lines`` (log
    lines). ``cancel_when(update)`` true: the update raises ``Cancelled`` as a user's cancel
    does (``ProgressRecorder(cancel_when=lambda u: True)`` cancels at once)."""

    def __init__(self, cancel_when: Callable[[dict[str, Any]], bool] | None = None):
        self.updates: list[dict[str, Any]] = []
        self.lines: list[str] = []
        self.cancel_when = cancel_when

    def update(self, **kw: Any) -> None:
        self.updates.append(kw)
        if self.cancel_when is not None and self.cancel_when(kw):
            raise Cancelled("Cancelled by the user")

    def log(self, line: str) -> None:
        self.lines.append(line)

    @property
    def stages(self) -> list[str]:
        """The stages in order, each once per run of updates."""
        out: list[str] = []
        for u in self.updates:
            stage = u.get("stage")
            if stage and (not out or out[-1] != stage):
                out.append(stage)
        return out

    @property
    def items(self) -> list[str]:
        """Every item named by an update, in order."""
        return [u["item"] for u in self.updates if u.get("item")]
