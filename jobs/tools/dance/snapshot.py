"""A job's input as it was when the job was made (seed 004: "copy input_dir to
jobs/{job_id}/input/"): preprocessing an experiment again, or a user changing a
pair folder on the server, never changes what an earlier job runs on.

Files the studio owns and only ever replaces whole (an experiment's prepared
input: preprocessing writes a new folder and swaps it in) are hard-linked, which
costs no space. Files of a server folder a user may rewrite in place are cloned
copy-on-write where the file system can (Linux FICLONE: btrfs, XFS, bcachefs …)
and copied otherwise. The copy is written beside the target and renamed onto it,
so the target exists only complete.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)


def clone_file(source: str, target: str) -> str:
    """Copy one file: a copy-on-write clone where the file system offers one."""
    try:
        import fcntl

        with open(source, "rb") as src, open(target, "wb") as dst:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
        shutil.copystat(source, target)
    except (OSError, ImportError):
        shutil.copy2(source, target)
    return target


def link_file(source: str, target: str) -> str:
    """Hard-link one file (the same bytes, no space), a clone or copy across devices."""
    try:
        os.link(source, target)
    except OSError:
        clone_file(source, target)
    return target


def snapshot(source: Path, target: Path, *, replaced_whole: bool) -> Path:
    """``source`` (a folder) copied to ``target`` as it is now; ``replaced_whole``:
    the studio never rewrites the source's files in place, so they are hard-linked."""
    partial = target.with_name(f"{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(source, partial, copy_function=link_file if replaced_whole else clone_file)
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target
