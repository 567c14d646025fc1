"""Single frames of a recording for the review viewer.

Reading ONE frame is bounded I/O (a seek to the keyframe before it and a few
decodes), like serving a thumbnail, so the web app may do it in a request.
Anything that scans a whole recording is a job. A few FrameReaders stay open
per process (least recently used out) so stepping ±1 frame decodes forward
instead of seeking again. The caller has already checked the owner (it holds
a :class:`~jobs.tools.frames.records.Video` from ``get_video``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from jobs.tools.frames.records import (
    Conflict,
    FrameInputError,
    NotFound,
    Video,
    check_frame,
    metrics_path,
    video_dir,
)

READERS_OPEN = 4
_readers: OrderedDict[str, tuple[Any, threading.Lock]] = OrderedDict()
_readers_lock = threading.Lock()


def _reader(video: Video) -> tuple[Any, threading.Lock]:
    from pipelines.frames import FrameMetrics, FrameReader

    key = f"{video.id}:{video.path}"
    with _readers_lock:
        if key in _readers:
            _readers.move_to_end(key)
            return _readers[key]
    if not Path(video.path).is_file():
        raise Conflict(
            f"The recording {video.filename} is no longer on the server; frames cannot be "
            "shown (marks, history and detection from stored metrics still work)."
        )
    m = FrameMetrics.load(metrics_path(video.id))
    entry = (FrameReader(video.path, m.pts, m.keyframe), threading.Lock())
    with _readers_lock:
        _readers[key] = entry
        while len(_readers) > READERS_OPEN:
            _, (old, lock) = _readers.popitem(last=False)
            with lock:
                old.close()
    return entry


def frame_image(video: Video, index: int, max_side: int | None = 720) -> Any:
    """Frame ``index`` of the recording as an upright RGB PIL image (one seek + a few decodes)."""
    from pipelines.frames import FrameReviewError

    if not video.analysed:
        raise Conflict(
            f"Recording {video.id} is {video.status}; frames are shown once it is analysed."
        )
    index = check_frame(video, index)
    reader, lock = _reader(video)
    try:
        with lock:
            return reader.get(index, max_side)
    except FrameReviewError as exc:
        raise FrameInputError(str(exc)) from None


def frame_jpeg(video: Video, index: int, max_side: int | None = 720) -> bytes:
    from pipelines.frames import jpeg_bytes

    return jpeg_bytes(frame_image(video, index, max_side))


def thumbnail_path(video: Video, name: str) -> Path:
    """A candidate thumbnail of the recording (a file name only; never a path outside its folder)."""
    clean = Path(name).name
    path = video_dir(video.id) / "thumbs" / clean
    if clean != name or not clean.endswith(".jpg") or not path.is_file():
        raise NotFound(f"No thumbnail {name!r} for recording {video.id}.")
    return path
