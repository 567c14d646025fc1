"""The photo review's actions: select a photo, keep/drop it, set its crop, check sizes
before a build, save the edits as a repackage job, discard them."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pandas as pd

from jobs import datasets
from jobs.tools import photo_dataset as photos
from pipelines.errors import StudioError
from pipelines.photo_dataset.review import EditError, check_edits, thumb_path
from studio.errors import ui_error
from studio.tabs.photo_dataset.review import (
    gallery_names,
    load_manifest,
    photo_state,
    read_pending,
    review_for,
    write_pending,
)
from studio.ui_user import current_user


def pick_from_gallery(name: str, evt: gr.SelectData, request: gr.Request) -> str:
    index = evt.index if isinstance(evt.index, int) else evt.index[0]
    user = current_user(request)
    names = gallery_names(load_manifest(name, user))
    if not names:
        return ""
    folder = datasets.folder(name, user.name)
    visible = [n for n, _ in names if thumb_path(folder, n).is_file()]
    return visible[index] if 0 <= index < len(visible) else ""


def pick_kept(name: str, evt: gr.SelectData, request: gr.Request) -> str:
    index = evt.index if isinstance(evt.index, int) else evt.index[0]
    user = current_user(request)
    manifest = load_manifest((name or "").strip(), user)
    if not manifest:
        return ""
    pending = read_pending(name, user)
    folder = datasets.folder(name, user.name)
    visible = [
        r["name"]
        for r in manifest["files"]
        if photo_state(r, pending) == "kept" and thumb_path(folder, r["name"]).is_file()
    ]
    return visible[index] if 0 <= index < len(visible) else ""


def check_sizes(files, server_path: str, min_side, request: gr.Request):
    """Before the run: how many photos the minimum size would leave out (image headers only).

    Returns the warning text and the "lower the minimum" button (shown when most
    photos would be left out)."""
    paths = [Path(f if isinstance(f, str) else f.name) for f in files or []]
    try:
        side = int(min_side or 0)
        found = photos.size_check(paths, [server_path] if (server_path or "").strip() else [], side)
    except (StudioError, ValueError, TypeError) as exc:
        return str(exc), gr.update(visible=False), 0
    text = found["message"]
    if found["most_filtered"]:
        text = "⚠️ **Most photos would be left out.** " + text
    lower = found["too_small"] > 0 and found["keep_all_at"] < side
    button = gr.update(visible=lower, value=f"Lower the minimum size to {found['keep_all_at']} px")
    return text, button, found["keep_all_at"]


def pick_from_table(table: pd.DataFrame, evt: gr.SelectData) -> str:
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return str(table.iloc[row]["file"]) if 0 <= row < len(table) else ""


def toggle(name: str, source: str, request: gr.Request):
    """Flip the selected photo between kept and dropped (pending until Save & repackage)."""
    name, source, user = (name or "").strip(), (source or "").strip(), current_user(request)
    manifest = load_manifest(name, user)
    if not manifest or not source:
        raise gr.Error("Select a photo in the gallery or the rejected list first.")
    record = next((r for r in manifest["files"] if r["name"] == source), None)
    if record is None:
        raise gr.Error(f"{source} is not a file of dataset {name}.")
    if record["status"] in ("error", "skipped"):
        raise gr.Error(f"{source} cannot be kept: {'; '.join(record['reasons'])}")
    pending = read_pending(name, user)
    new = "dropped" if photo_state(record, pending) == "kept" else "kept"
    if new == record["status"]:
        pending["flips"].pop(source, None)
    else:
        pending["flips"][source] = new
    write_pending(name, user, pending)
    return review_for(name, user)


def crop_choice(name: str, source: str, request: gr.Request):
    """The photo's size and current crop box into the sliders."""
    user = current_user(request)
    manifest = load_manifest((name or "").strip(), user)
    record = next((r for r in (manifest or {}).get("files", []) if r["name"] == source), None)
    if record is None or not record["width"]:
        return (gr.update(),) * 4 + ("",)
    w, h = record["width"], record["height"]
    box = (
        read_pending(name, user)["crops"].get(source)
        or record["crop_box"]
        or [0, 0, min(w, h), min(w, h)]
    )
    sliders = [gr.update(maximum=m, value=v) for m, v in zip((w, h, w, h), box, strict=True)]
    return (*sliders, f"{source}: {w}×{h} px, crop found by {record['focus'] or '—'}")


def crop_preview(
    name: str, source: str, x0: float, y0: float, x1: float, y1: float, request: gr.Request
):
    """The photo's preview with the crop box drawn on it (outside darkened)."""
    from PIL import Image, ImageDraw

    user = current_user(request)
    manifest = load_manifest((name or "").strip(), user)
    record = next((r for r in (manifest or {}).get("files", []) if r["name"] == source), None)
    if record is None or not record["width"]:
        return None
    thumb = thumb_path(datasets.folder(name, user.name), source)
    if not thumb.is_file():
        return None
    image = Image.open(thumb).convert("RGB")
    s = image.width / record["width"]
    box = [v * s for v in (x0, y0, x1, y1)]
    shade = Image.new("RGB", image.size, (0, 0, 0))
    mask = Image.new("L", image.size, 150)
    ImageDraw.Draw(mask).rectangle(box, fill=0)
    image = Image.composite(shade, image, mask)
    ImageDraw.Draw(image).rectangle(box, outline=(255, 200, 0), width=2)
    return image


def set_crop(
    name: str, source: str, x0: float, y0: float, x1: float, y1: float, request: gr.Request
):
    name, user = (name or "").strip(), current_user(request)
    manifest = load_manifest(name, user)
    if not manifest or not source:
        raise gr.Error("Choose a kept photo to crop first.")
    box = [int(x0), int(y0), int(x1), int(y1)]
    try:
        check_edits(load_manifest, {"crops": {source: box}})
    except EditError as exc:
        raise ui_error(exc) from None
    pending = read_pending(name, user)
    pending["crops"][source] = box
    write_pending(name, user, pending)
    return review_for(name, user)[0]


def discard(name: str, request: gr.Request):
    name, user = (name or "").strip(), current_user(request)
    if name and load_manifest(name, user):
        write_pending(name, user, {"flips": {}, "crops": {}})
    return review_for(name, user)


def save(name: str, grid: pd.DataFrame, request: gr.Request) -> str:
    """Pending flips and crops + the grid's caption edits → a repackage job."""
    name, user = (name or "").strip(), current_user(request)
    if not load_manifest(name, user):
        raise gr.Error("Choose a built dataset first.")
    pending = read_pending(name, user)
    captions = {}
    if grid is not None and len(grid):
        captions = {
            str(row["source"]): str(row["caption"]) for _, row in grid.iterrows() if row["source"]
        }
    try:
        job = photos.submit_edits(name, user, {**pending, "captions": captions})
    except StudioError as exc:
        raise ui_error(exc) from None
    write_pending(name, user, {"flips": {}, "crops": {}})  # now in the job's params
    return job["id"]


def lines(text: str) -> list[str]:
    return [v.strip() for v in (text or "").replace(",", "\n").splitlines() if v.strip()]
