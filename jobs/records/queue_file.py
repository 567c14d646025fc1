"""The queue's SQLite file (``STUDIO_HOME/queue.db``, Huey's ``SqliteStorage``)
at the records' sync level.

Huey's SQLite storage keeps SQLite's default ``synchronous=full``: every
enqueue and every dequeue (each its own ``BEGIN EXCLUSIVE`` transaction) waits
for the disk. Under a burst that sync, and the write lock held while it
runs, was most of a submit's time (benchmarks/README.md). The queue carries only
job ids and is not the source of truth: a queue entry lost when the machine
loses power is queued again from its job record when a worker starts
(``jobs.recovery.requeue_lost``). So the queue gets the records' own setting:
WAL with ``synchronous=normal`` (no sync per commit; never corrupt; a crash of
the process loses nothing, a power loss at most the last commits). Its writers
(enqueue, dequeue) wait their turn like the records' (:mod:`jobs.records.turns`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from huey.storage import SqliteStorage

from .turns import WriterTurns


class QueueStorage(SqliteStorage):
    """``SqliteStorage`` whose connections use ``synchronous=normal`` (WAL) and whose
    writers take turns."""

    _turns: WriterTurns | None = None

    @contextmanager
    def db(self, commit: bool = False, close: bool = False) -> Iterator[Any]:
        """Huey's cursor; a write (``commit``) waits its turn first (``turns.py``)."""
        if commit and self._turns is None:  # Huey's __init__ writes the schema before it returns
            self._turns = WriterTurns(self.filename)
        turn = self._turns.turn() if commit and self._turns else nullcontext()
        with turn, super().db(commit, close) as cursor:
            yield cursor

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=normal")
        return conn
