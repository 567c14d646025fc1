"""The photo review, read from the dataset's folder on the server (manifest.json, previews)
and its pending edits from the tool's records: no work here."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from jobs import datasets
from jobs.access import User
from jobs.tools import photo_dataset as photos
from pipelines.errors import StudioError
from pipelines.photo_dataset.review import thumb_path
from studio.ui_user import current_user

GRID_COLUMNS = ["output", "source", "caption", "warnings"]
REJECTED_COLUMNS = ["file", "status", "reasons", "pending"]


def dataset_meta(name: str, user: User) -> dict[str, Any] | None:
    """The dataset's record if ``user`` may see it (owner or admin), else None."""
    try:
        return datasets.get(name, user, "photos") if name else None
    except (StudioError, OSError):
        return None


def load_manifest(name: str, user: User) -> dict[str, Any] | None:
    meta = dataset_meta(name, user)
    try:
        return photos.read_manifest(meta) if meta else None
    except (ValueError, OSError):
        return None


def read_pending(name: str, user: User) -> dict[str, dict]:
    return photos.read_pending_edits(name, user.name)


def write_pending(name: str, user: User, pending: dict[str, dict]) -> None:
    photos.write_pending_edits(name, user.name, pending)


def photo_state(record: dict, pending: dict) -> str:
    return pending["flips"].get(record["name"], record["status"])


def gallery_names(manifest: dict | None) -> list[tuple[str, str]]:
    """(source name, cluster label) in gallery order: each cluster's kept photos, then its dropped ones."""
    if not manifest:
        return []
    out = []
    for c in manifest["clusters"]:
        out += [(n, f"C{c['id']}") for n in c["kept"] + c["dropped"]]
    return out


def gallery(name: str, user: User, manifest: dict | None, pending: dict) -> list[tuple[str, str]]:
    if not manifest:
        return []
    folder = datasets.folder(name, user.name)
    records = {r["name"]: r for r in manifest["files"]}
    items = []
    for source, label in gallery_names(manifest):
        state = photo_state(records[source], pending)
        mark = "KEEP" if state == "kept" else "DROP"
        if source in pending["flips"]:
            mark += " (pending)"
        thumb = thumb_path(folder, source)
        if thumb.is_file():
            items.append((str(thumb), f"{label} · {mark} · {source}"))
    return items


def kept_gallery(
    name: str, user: User, manifest: dict | None, pending: dict
) -> list[tuple[str, str]]:
    """The kept photos as thumbnails (what goes into the dataset), with their output names."""
    if not manifest:
        return []
    folder = datasets.folder(name, user.name)
    items = []
    for r in manifest["files"]:
        if photo_state(r, pending) == "kept":
            thumb = thumb_path(folder, r["name"])
            if thumb.is_file():
                items.append((str(thumb), f"{r['output'] or '(new)'} · {r['name']}"))
    return items


def rejected(manifest: dict | None, pending: dict) -> pd.DataFrame:
    rows = []
    for r in (manifest or {}).get("files", []):
        if r["status"] != "kept" or r["name"] in pending["flips"]:
            flip = pending["flips"].get(r["name"], "")
            rows.append(
                [r["name"], r["status"], "; ".join(r["reasons"]), f"→ {flip}" if flip else ""]
            )
    return pd.DataFrame(rows, columns=REJECTED_COLUMNS)


def grid(manifest: dict | None) -> pd.DataFrame:
    rows = [
        [r["output"], r["name"], r["caption"], "; ".join(r["warnings"])]
        for r in (manifest or {}).get("files", [])
        if r["status"] == "kept" and r["output"]
    ]
    return pd.DataFrame(sorted(rows), columns=GRID_COLUMNS)


def summary(name: str, manifest: dict | None, pending: dict, user: User) -> str:
    if not name:
        return "Build a dataset, or choose one above."
    meta = dataset_meta(name, user)
    if meta is None:
        return f"No dataset named {name!r}. It does not exist or is not yours."
    if not manifest:
        return f"**{name}**: {meta['status']} — the review appears when the build has written its manifest."
    c = manifest["counts"]
    text = (
        f"**{name}** · {meta['status']} · {c['kept']} kept, {c['dropped']} dropped, {c['error']} errors, "
        f"{c['skipped']} skipped · {len(manifest['clusters'])} groups of near-duplicates"
    )
    if any(pending.values()):
        text += (
            f"  \n**Pending:** {len(pending['flips'])} keep/drop flips, {len(pending['crops'])} crop boxes — "
            "press *Save & repackage* to apply them."
        )
    return text


def dataset_zip(name: str, user: User) -> str | None:
    try:
        path = datasets.folder(name, user.name) / "dataset.zip"
    except datasets.DatasetNameError:
        return None
    return str(path) if name and path.is_file() else None


def mtime(name: str, user: User) -> str:
    try:
        path = datasets.folder(name, user.name) / "manifest.json"
        return str(path.stat().st_mtime_ns) if path.is_file() else ""
    except (datasets.DatasetNameError, OSError):
        return ""


def review_for(name: str, user: User):
    """Everything the review shows, read from the dataset folder (only the owner's or an admin's)."""
    name = (name or "").strip()
    manifest = load_manifest(name, user)
    pending = read_pending(name, user) if manifest else {"flips": {}, "crops": {}}
    every = sorted(r["name"] for r in (manifest or {}).get("files", []))
    shown = bool(manifest)
    return (
        summary(name, manifest, pending, user),
        kept_gallery(name, user, manifest, pending),
        gallery(name, user, manifest, pending),
        rejected(manifest, pending),
        grid(manifest),
        gr.update(choices=every),
        dataset_zip(name, user) if shown else None,
        mtime(name, user) if shown else "",
    )


REVIEW_OUTPUTS = 8  # what review_for returns


def load_review(name: str, request: gr.Request):
    return review_for(name, current_user(request))


def list_names(request: gr.Request) -> gr.Dropdown:
    return gr.update(
        choices=[
            m["name"]
            for m in datasets.list_all(current_user(request), "photos", current_user(request).name)
        ]
    )


def follow_job(job_id: str, name: str, shown: str, request: gr.Request):
    """The job panel's ``extra`` (each of its ticks while its job runs, once at the end,
    and when its job changes): follow the dataset's latest job (the captions job after
    the build) and reload the review when the manifest changed on disk."""
    name, user = (name or "").strip(), current_user(request)
    meta = dataset_meta(name, user)
    if meta is None:
        return (gr.skip(),) * (REVIEW_OUTPUTS + 1)
    changed = bool(meta["job_id"]) and meta["job_id"] != (job_id or "").strip()
    follow = meta["job_id"] if changed else gr.skip()
    if mtime(name, user) == shown:
        return (follow, *(gr.skip(),) * REVIEW_OUTPUTS)
    return (follow, *review_for(name, user))
