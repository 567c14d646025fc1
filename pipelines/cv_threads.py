"""OpenCV's own thread pool, off while a pipeline's threads share the cores.

A pipeline that runs its own threads (dedup's reading threads, the frames pass's
decoders) calls OpenCV on small images from each of them; OpenCV's pool would only add
workers spinning beside them for the same cores (the 300-photo dedup benchmark ran ~5 %
slower with them). The setting is OpenCV's, for the whole process: the users are counted,
the first one turns the pool off and the last one puts back what it found, so two such
steps in one process (two lanes' jobs never share one, a library caller may) do not undo
each other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_USERS = [0, 0]  # [users now, OpenCV's thread count before the first]


@contextmanager
def opencv_sequential() -> Iterator[None]:
    """OpenCV runs each call on the calling thread until the last user leaves."""
    import cv2

    with _LOCK:
        if _USERS[0] == 0:
            _USERS[1] = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _USERS[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _USERS[0] -= 1
            if _USERS[0] == 0:
                cv2.setNumThreads(_USERS[1])
