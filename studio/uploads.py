"""Saving REST uploads to disk without holding them in memory, with the size limit."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import HTTPException, UploadFile

from jobs.settings import get_settings

CHUNK = 1 << 20


def save_upload(upload: UploadFile, folder: Path | None = None) -> Path:
    """Stream an upload into ``folder`` (a new temp folder by default); 413 past
    STUDIO_MAX_UPLOAD_MB. Returns the saved path, named as uploaded."""
    limit = get_settings().max_upload_mb * 2**20
    name = Path(upload.filename or "upload").name
    folder = folder or Path(tempfile.mkdtemp(prefix="upload-", dir=get_settings().home))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    written = 0
    with open(target, "wb") as out:
        while chunk := upload.file.read(CHUNK):
            written += len(chunk)
            if written > limit:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise HTTPException(413, f"{name} is larger than {limit // 2**20} MB (STUDIO_MAX_UPLOAD_MB).")
            out.write(chunk)
    return target
