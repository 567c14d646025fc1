"""Writers of one SQLite file take turns on a kernel lock before SQLite's own.

SQLite's write lock is not a queue: a writer that finds it taken sleeps in its
busy handler (1 ms, then 2, 5, 10 … ms) and tries again, though the lock is held
for tens of microseconds. Under a burst of jobs the submitter and the worker
lanes meet there on every few statements. Each writer of the studio's SQLite
files first takes an exclusive ``flock`` on ``<file>.writers`` (one descriptor
per thread, so the threads of a process exclude each other too); the kernel
wakes the next writer the moment the lock is released. The lock is only a
queue: writers that do not take it (another program, a migration) still meet
SQLite's own lock, which keeps the file correct either way.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Descriptor:
    """One thread's open lock file, closed when the thread's locals go."""

    __slots__ = ("fd", "held", "pid")

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.pid = os.getpid()  # a forked child would share this descriptor's lock
        self.held = 0  # turns this thread has taken and not yet released (nested)

    def __del__(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


class WriterTurns:
    """The turns of one SQLite file's writers (``turn()``, a context manager)."""

    def __init__(self, database: str):
        self.path = f"{database}.writers"
        self._local = threading.local()

    @contextmanager
    def turn(self) -> Iterator[None]:
        mine: _Descriptor | None = getattr(self._local, "fd", None)
        if mine is None or mine.pid != os.getpid():  # a forked child opens its own
            mine = self._local.fd = _Descriptor(self.path)
        if mine.held:  # already this thread's turn (a write inside its transaction)
            mine.held += 1
            try:
                yield
            finally:
                mine.held -= 1
            return
        fcntl.flock(mine.fd, fcntl.LOCK_EX)
        mine.held = 1
        try:
            yield
        finally:
            mine.held = 0
            fcntl.flock(mine.fd, fcntl.LOCK_UN)
