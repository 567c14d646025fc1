"""A video edit in a child process: ``python -m pipelines.video_edit.child SPEC.json``.

The studio runs an edit here when its job holds several GPUs of a machine whose GPU
lanes are pinned (each lane process sees one GPU): this process sees all of the job's
GPUs (``CUDA_VISIBLE_DEVICES``), so InstructPix2Pix loads with
``device_map="balanced"`` over them (:func:`pipelines.video_edit.editing.ip2p_load_kwargs`).

``SPEC.json``: ``{"request": <VideoEditRequest as JSON>, "search_dirs": [folders]}``.
Progress and log lines go to stdout as JSON lines (:class:`pipelines.progress.LineProgress`),
a failure as ``{"error": …, "type": …, "status": …}`` (the traceback on stderr); ``status.json``
and ``{job_id}_log.txt`` are written as in-process. Exit code 0 when the edit finished, 1
when it failed. A cancel is the parent killing this process group.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path


def visible_gpus() -> list[str]:
    """The GPU ids this process may use (``CUDA_VISIBLE_DEVICES``)."""
    return [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]


def gpu_line(gpus: int | None) -> str:
    """The log line naming the GPUs this edit sees and how InstructPix2Pix loads on them."""
    from pipelines.video_edit.editing import ip2p_load_kwargs

    seen = visible_gpus()
    used = min(len(seen), gpus or len(seen))
    placement = ip2p_load_kwargs("cuda", used).get("device_map") or "one device"
    return (
        f"GPUs {','.join(seen) or 'none'} (CUDA_VISIBLE_DEVICES): InstructPix2Pix on {used} "
        f"of them, device_map={placement}"
    )


def main(argv: list[str] | None = None) -> int:
    from pipelines.errors import StudioError
    from pipelines.progress import LineProgress
    from pipelines.video_edit.options import VideoEditRequest
    from pipelines.video_edit.pipeline import run_video_edit

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pipelines.video_edit.child SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text())
    request = VideoEditRequest.model_validate(spec["request"])
    progress = LineProgress()
    progress.log(gpu_line(request.gpus))
    try:
        run_video_edit(request, progress, search_dirs=[Path(d) for d in spec["search_dirs"]])
    except Exception as exc:
        traceback.print_exc()
        status = exc.status if isinstance(exc, StudioError) else None
        progress.error(str(exc) or type(exc).__name__, type(exc).__name__, status)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
