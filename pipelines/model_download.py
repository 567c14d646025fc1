"""Download a model from the Hugging Face Hub into a folder, with progress in bytes.

``huggingface_hub.snapshot_download`` does the work (``local_dir`` mode): it lists the
repository and downloads each file into a temporary ``*.incomplete`` file under
``<folder>/.cache/huggingface/download``, moved into place when complete (with its
etag noted beside it). A download run again skips the files that are complete, so a
fetch cut short (cancelled, or its worker killed and the job run again) resumes file
by file; a file cut half-way starts again from its first byte (huggingface_hub 2.x
never reuses another process's temporary file: it retries with an HTTP Range request
only within one run, after a dropped connection). This module adds what a job needs:

- progress: the bytes on disk (finished files and the one being written) against the
  size of the files listed, reported every ``poll_s`` as ``"12.0 MB of 40.0 MB"``;
- cancel: ``progress.update`` raises ``Cancelled``; every download thread then stops
  at its next chunk;
- one download per folder at a time (a lock beside the files); the temporary files a
  stopped download left (never reused) are deleted when the next one starts;
- "unfinished": a mark in the folder from the start of a download until it completes,
  so a folder half-fetched is never taken for the model (:func:`partial_bytes`);
- errors a user can act on (a gated or missing repository, no network).

    download("CIDAS/clipseg-rd64-refined", models / "clipseg-rd64-refined", None, progress)
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from pipelines.errors import BadInput
from pipelines.progress import Cancelled, Progress

META = ".cache/huggingface"  # huggingface_hub's notes in a local_dir, and ours
PARTIAL = f"{META}/download"  # where snapshot_download writes the files it is downloading
UNFINISHED = f"{META}/studio-download-unfinished"  # from a download's start to its end
LOCK = f"{META}/studio-download.lock"


def size_text(nbytes: int) -> str:
    """``nbytes`` for a person: "930.0 MB", "4.3 GB"."""
    if nbytes >= 10**9:
        return f"{nbytes / 10**9:.1f} GB"
    return f"{nbytes / 10**6:.1f} MB"


def partial_bytes(folder: Path) -> int:
    """Bytes in ``folder`` when a download into it has not completed (0: none has, or
    it completed; at least 1 while one is unfinished)."""
    if not (folder / UNFINISHED).is_file():
        return 0
    return max(1, sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()))


def _listed(hub_id: str, patterns: list[str] | None) -> dict[str, int]:
    """{path: size} of the repository's files that ``patterns`` select."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile
    from huggingface_hub.utils import filter_repo_objects

    files = [f for f in HfApi().list_repo_tree(hub_id, recursive=True) if isinstance(f, RepoFile)]
    chosen = filter_repo_objects(files, allow_patterns=patterns, key=lambda f: f.path)
    return {f.path: int(f.size or 0) for f in chosen}


def _on_disk(folder: Path, files: dict[str, int]) -> int:
    done = sum(size for path, size in files.items() if (folder / path).is_file())
    return done + sum(f.stat().st_size for f in (folder / PARTIAL).rglob("*.incomplete"))


def _hub_error(hub_id: str, exc: Exception) -> Exception:
    """A message a user can act on for what the Hub answered (or the exception itself)."""
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    if isinstance(exc, GatedRepoError):
        return BadInput(
            f"{hub_id} is gated on the Hugging Face Hub: accept its terms on the model's page "
            "with your account, then give the worker your token (HF_TOKEN) and fetch again."
        )
    if isinstance(exc, RepositoryNotFoundError):
        return BadInput(f"The Hugging Face Hub has no model {hub_id} (or it is private).")
    if isinstance(exc, LocalEntryNotFoundError):
        return BadInput(
            f"The Hugging Face Hub could not be reached to download {hub_id}: check the "
            "worker's network (or HF_ENDPOINT), then retry: the download resumes."
        )
    return exc


def download(
    hub_id: str,
    folder: Path,
    patterns: list[str] | None,
    progress: Progress,
    poll_s: float = 0.5,
) -> Path:
    """Download ``hub_id`` (the files ``patterns`` select; all when None) into ``folder``;
    returns ``folder``. Raises ``Cancelled`` when the user cancels (the files complete
    by then stay)."""
    from filelock import FileLock, Timeout

    (folder / META).mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK)
    while True:
        try:
            lock.acquire(timeout=poll_s)
            break
        except Timeout:  # another job downloads into this folder: its end is ours
            progress.update(stage="downloading", item="waiting for another download of it")
    try:
        for orphan in (folder / PARTIAL).rglob("*.incomplete"):
            orphan.unlink(missing_ok=True)  # a stopped download's: never reused
        (folder / UNFINISHED).touch()
        path = _download(hub_id, folder, patterns, progress, poll_s)
        (folder / UNFINISHED).unlink()
        return path
    finally:
        lock.release()


def _download(
    hub_id: str, folder: Path, patterns: list[str] | None, progress: Progress, poll_s: float
) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import tqdm as hub_tqdm

    progress.update(stage="downloading", fraction=0.0, item=f"listing {hub_id}")
    try:
        files = _listed(hub_id, patterns)
    except Exception as exc:
        raise _hub_error(hub_id, exc) from None
    total = sum(files.values())
    stop = threading.Event()

    class Stoppable(hub_tqdm):  # the bars snapshot_download updates per chunk
        def update(self, n: float | None = 1) -> bool | None:
            if stop.is_set():
                raise Cancelled("Cancelled by the user")
            return super().update(n)

    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["path"] = snapshot_download(
                hub_id,
                local_dir=folder,
                allow_patterns=patterns,
                tqdm_class=Stoppable,
                max_workers=4,
            )
        except BaseException as exc:  # handed to the job's thread below
            result["error"] = exc

    worker = threading.Thread(target=run, name=f"download {hub_id}", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(poll_s)
            done = min(_on_disk(folder, files), total)
            progress.update(
                stage="downloading",
                fraction=done / total if total else None,
                item=f"{size_text(done)} of {size_text(total)}",
            )
    except BaseException:
        stop.set()  # each thread stops at its next chunk; the complete files stay
        worker.join()
        raise
    error = result.get("error")
    if error is not None:
        raise _hub_error(hub_id, error) from error
    progress.update(stage="downloading", fraction=1.0, item=f"{size_text(total)} downloaded")
    progress.log(f"downloaded {len(files)} files ({size_text(total)}) of {hub_id} into {folder}")
    return Path(result["path"])
