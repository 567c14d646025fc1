"""Dataset builder → Photos: photos in, a deduplicated, cropped, captioned LoRA dataset out (seed 002).

1. Inputs and options → "Build dataset" submits a ``photo_dataset.build`` job (the panel shows it).
2. Review, read from the dataset's folder on the server (manifest.json and previews):
   the cluster gallery (select a photo, toggle keep/drop), the rejected list with
   reasons, crop boxes (sliders with a live preview), captions in a grid.
   Flips and crop boxes wait in the dataset's pending edits, in the tool's records (a reload
   keeps them); "Save & repackage" sends them with the caption edits to a
   ``photo_dataset.repackage`` job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from jobs import datasets, store
from jobs.access import User
from jobs.settings import get_settings
from jobs.tools import photo_dataset as photos
from pipelines.errors import StudioError
from pipelines.photo_dataset.review import EditError, check_edits, thumb_path
from studio.errors import ui_error
from studio.job_panel import job_panel
from studio.ui_user import current_user

GRID_COLUMNS = ["output", "source", "caption", "warnings"]
REJECTED_COLUMNS = ["file", "status", "reasons", "pending"]

# --------------------------------------------------------------------------- reading the dataset (no work here)


def _meta(name: str, user: User) -> dict[str, Any] | None:
    """The dataset's record if ``user`` may see it (owner or admin), else None."""
    try:
        return datasets.get(name, user, "photos") if name else None
    except (StudioError, OSError):
        return None


def _manifest(name: str, user: User) -> dict[str, Any] | None:
    meta = _meta(name, user)
    try:
        return photos.read_manifest(meta) if meta else None
    except (ValueError, OSError):
        return None


def read_pending(name: str, user: User) -> dict[str, dict]:
    return photos.read_pending_edits(name, user.name)


def _write_pending(name: str, user: User, pending: dict[str, dict]) -> None:
    photos.write_pending_edits(name, user.name, pending)


def _state(record: dict, pending: dict) -> str:
    return pending["flips"].get(record["name"], record["status"])


def gallery_names(manifest: dict | None) -> list[tuple[str, str]]:
    """(source name, cluster label) in gallery order: each cluster's kept photos, then its dropped ones."""
    if not manifest:
        return []
    out = []
    for c in manifest["clusters"]:
        out += [(n, f"C{c['id']}") for n in c["kept"] + c["dropped"]]
    return out


def _gallery(name: str, user: User, manifest: dict | None, pending: dict) -> list[tuple[str, str]]:
    if not manifest:
        return []
    folder = datasets.folder(name, user.name)
    records = {r["name"]: r for r in manifest["files"]}
    items = []
    for source, label in gallery_names(manifest):
        state = _state(records[source], pending)
        mark = "KEEP" if state == "kept" else "DROP"
        if source in pending["flips"]:
            mark += " (pending)"
        thumb = thumb_path(folder, source)
        if thumb.is_file():
            items.append((str(thumb), f"{label} · {mark} · {source}"))
    return items


def _kept_gallery(
    name: str, user: User, manifest: dict | None, pending: dict
) -> list[tuple[str, str]]:
    """The kept photos as thumbnails (what goes into the dataset), with their output names."""
    if not manifest:
        return []
    folder = datasets.folder(name, user.name)
    items = []
    for r in manifest["files"]:
        if _state(r, pending) == "kept":
            thumb = thumb_path(folder, r["name"])
            if thumb.is_file():
                items.append((str(thumb), f"{r['output'] or '(new)'} · {r['name']}"))
    return items


def _rejected(manifest: dict | None, pending: dict) -> pd.DataFrame:
    rows = []
    for r in (manifest or {}).get("files", []):
        if r["status"] != "kept" or r["name"] in pending["flips"]:
            flip = pending["flips"].get(r["name"], "")
            rows.append(
                [r["name"], r["status"], "; ".join(r["reasons"]), f"→ {flip}" if flip else ""]
            )
    return pd.DataFrame(rows, columns=REJECTED_COLUMNS)


def _grid(manifest: dict | None) -> pd.DataFrame:
    rows = [
        [r["output"], r["name"], r["caption"], "; ".join(r["warnings"])]
        for r in (manifest or {}).get("files", [])
        if r["status"] == "kept" and r["output"]
    ]
    return pd.DataFrame(sorted(rows), columns=GRID_COLUMNS)


def _summary(name: str, manifest: dict | None, pending: dict, user: User) -> str:
    if not name:
        return "Build a dataset, or choose one above."
    meta = _meta(name, user)
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


def _zip(name: str, user: User) -> str | None:
    try:
        path = datasets.folder(name, user.name) / "dataset.zip"
    except datasets.DatasetNameError:
        return None
    return str(path) if name and path.is_file() else None


def _mtime(name: str, user: User) -> str:
    try:
        path = datasets.folder(name, user.name) / "manifest.json"
        return str(path.stat().st_mtime_ns) if path.is_file() else ""
    except (datasets.DatasetNameError, OSError):
        return ""


def review_for(name: str, user: User):
    """Everything the review shows, read from the dataset folder (only the owner's or an admin's)."""
    name = (name or "").strip()
    manifest = _manifest(name, user)
    pending = read_pending(name, user) if manifest else {"flips": {}, "crops": {}}
    every = sorted(r["name"] for r in (manifest or {}).get("files", []))
    shown = bool(manifest)
    return (
        _summary(name, manifest, pending, user),
        _kept_gallery(name, user, manifest, pending),
        _gallery(name, user, manifest, pending),
        _rejected(manifest, pending),
        _grid(manifest),
        gr.update(choices=every),
        _zip(name, user) if shown else None,
        _mtime(name, user) if shown else "",
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


def _running(job_id: str | None, user: User) -> bool:
    job = store.find_job(job_id, user) if (job_id or "").strip() else None
    return bool(job) and job["status"] not in store.FINAL


def poll(name: str, job_id: str, shown: str, request: gr.Request):
    """Each tick: follow the dataset's latest job (the captions job after the build) and
    reload the review when the manifest changed on disk. The timer keeps going only
    while something can change (a job of the dataset queued or running, or a change
    seen this tick); the panel's job or another dataset starts it again."""
    name, user = (name or "").strip(), current_user(request)
    meta = _meta(name, user)
    if meta is None:
        return (*(gr.skip(),) * (REVIEW_OUTPUTS + 1), gr.Timer(active=False))
    changed = bool(meta["job_id"]) and meta["job_id"] != (job_id or "").strip()
    follow = meta["job_id"] if changed else gr.skip()
    busy = _running(meta["job_id"], user) or _running(job_id, user)
    if _mtime(name, user) == shown:
        return (follow, *(gr.skip(),) * REVIEW_OUTPUTS, gr.Timer(active=busy or changed))
    return (follow, *review_for(name, user), gr.Timer(active=True))


# --------------------------------------------------------------------------- actions


def pick_from_gallery(name: str, evt: gr.SelectData, request: gr.Request) -> str:
    index = evt.index if isinstance(evt.index, int) else evt.index[0]
    user = current_user(request)
    names = gallery_names(_manifest(name, user))
    if not names:
        return ""
    folder = datasets.folder(name, user.name)
    visible = [n for n, _ in names if thumb_path(folder, n).is_file()]
    return visible[index] if 0 <= index < len(visible) else ""


def pick_kept(name: str, evt: gr.SelectData, request: gr.Request) -> str:
    index = evt.index if isinstance(evt.index, int) else evt.index[0]
    user = current_user(request)
    manifest = _manifest((name or "").strip(), user)
    if not manifest:
        return ""
    pending = read_pending(name, user)
    folder = datasets.folder(name, user.name)
    visible = [
        r["name"]
        for r in manifest["files"]
        if _state(r, pending) == "kept" and thumb_path(folder, r["name"]).is_file()
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
    manifest = _manifest(name, user)
    if not manifest or not source:
        raise gr.Error("Select a photo in the gallery or the rejected list first.")
    record = next((r for r in manifest["files"] if r["name"] == source), None)
    if record is None:
        raise gr.Error(f"{source} is not a file of dataset {name}.")
    if record["status"] in ("error", "skipped"):
        raise gr.Error(f"{source} cannot be kept: {'; '.join(record['reasons'])}")
    pending = read_pending(name, user)
    new = "dropped" if _state(record, pending) == "kept" else "kept"
    if new == record["status"]:
        pending["flips"].pop(source, None)
    else:
        pending["flips"][source] = new
    _write_pending(name, user, pending)
    return review_for(name, user)


def crop_choice(name: str, source: str, request: gr.Request):
    """The photo's size and current crop box into the sliders."""
    user = current_user(request)
    manifest = _manifest((name or "").strip(), user)
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
    manifest = _manifest((name or "").strip(), user)
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
    manifest = _manifest(name, user)
    if not manifest or not source:
        raise gr.Error("Choose a kept photo to crop first.")
    box = [int(x0), int(y0), int(x1), int(y1)]
    try:
        check_edits(manifest, {"crops": {source: box}})
    except EditError as exc:
        raise ui_error(exc) from None
    pending = read_pending(name, user)
    pending["crops"][source] = box
    _write_pending(name, user, pending)
    return review_for(name, user)[0]


def discard(name: str, request: gr.Request):
    name, user = (name or "").strip(), current_user(request)
    if name and _manifest(name, user):
        _write_pending(name, user, {"flips": {}, "crops": {}})
    return review_for(name, user)


def save(name: str, grid: pd.DataFrame, request: gr.Request) -> str:
    """Pending flips and crops + the grid's caption edits → a repackage job."""
    name, user = (name or "").strip(), current_user(request)
    if not _manifest(name, user):
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
    _write_pending(name, user, {"flips": {}, "crops": {}})  # now in the job's params
    return job["id"]


def _lines(text: str) -> list[str]:
    return [v.strip() for v in (text or "").replace(",", "\n").splitlines() if v.strip()]


# --------------------------------------------------------------------------- the tab


def build() -> None:
    from pipelines.captions import CaptionOptions
    from pipelines.photo_dataset import CropOptions, DedupOptions, QualityOptions

    q, d, c, cap = QualityOptions(), DedupOptions(), CropOptions(), CaptionOptions()
    fields: list[tuple[str, str, Any]] = []  # (group, option, component): the options JSON

    def add(group: str, key: str, component):
        fields.append((group, key, component))
        return component

    gr.Markdown(
        "Turn a ZIP or folder of photos into a LoRA dataset: quality filter → near-duplicate clusters → "
        "crop around the subject → captions → `NNNN.jpg` + `NNNN.txt` ZIP with trainer configs."
    )
    with gr.Row():
        with gr.Column(scale=3):
            upload = gr.File(
                label="ZIP or photos",
                file_count="multiple",
                elem_id="photos-upload",
                file_types=[
                    ".zip",
                    ".jpg",
                    ".jpeg",
                    ".png",
                    ".webp",
                    ".heic",
                    ".heif",
                    ".bmp",
                    ".tif",
                    ".tiff",
                ],
            )
            server = gr.Textbox(
                label="…or a folder or ZIP on this server",
                info="Only folders your administrator has opened to the studio can be read.",
                elem_id="photos-server-path",
            )
            with gr.Accordion("Quality filter", open=False), gr.Row():
                min_side = add(
                    "quality",
                    "min_side",
                    gr.Number(
                        q.min_side,
                        label="min shorter side (px)",
                        precision=0,
                        minimum=1,
                        elem_id="photos-min-side",
                        info="Photos smaller than this on their shorter side are left out.",
                    ),
                )
                add(
                    "quality",
                    "min_sharpness",
                    gr.Number(
                        q.min_sharpness,
                        label="min sharpness",
                        info="Blurrier photos are left out (typical 30-150).",
                    ),
                )
                add(
                    "quality",
                    "min_brightness",
                    gr.Number(q.min_brightness, label="min brightness (0-255)"),
                )
                add(
                    "quality",
                    "max_brightness",
                    gr.Number(q.max_brightness, label="max brightness (0-255)"),
                )
            with gr.Accordion("Duplicates and burst shots", open=False):
                gr.Markdown(
                    "Copies of one photo, and shots of one person in the same place and pose taken in a "
                    "burst, form a group; each group keeps its sharpest photos. Higher numbers below "
                    "mean photos must be more alike to be grouped.",
                    elem_classes=["help"],
                )
                with gr.Row():
                    add(
                        "dedup",
                        "keep_per_cluster",
                        gr.Number(
                            d.keep_per_cluster,
                            label="photos kept per group",
                            precision=0,
                            minimum=1,
                            elem_id="photos-keep-per-cluster",
                        ),
                    )
                    add(
                        "dedup",
                        "phash_max_distance",
                        gr.Slider(
                            0,
                            32,
                            d.phash_max_distance,
                            step=1,
                            label="copy tolerance",
                            info="How different two copies of one photo may look (0 = identical, of 64).",
                        ),
                    )
                    add(
                        "dedup",
                        "use_faces",
                        gr.Checkbox(d.use_faces, label="group burst shots by face and pose"),
                    )
                with gr.Row():
                    add(
                        "dedup",
                        "face_sim_th2",
                        gr.Slider(
                            0,
                            1,
                            d.face_sim_th2,
                            step=0.01,
                            label="same face (strong)",
                            info="Face likeness that counts as the same person.",
                        ),
                    )
                    add(
                        "dedup",
                        "face_sim_th1",
                        gr.Slider(
                            0,
                            1,
                            d.face_sim_th1,
                            step=0.01,
                            label="same face (weak)",
                            info="A weaker likeness, accepted with near-identical crops.",
                        ),
                    )
                    add(
                        "dedup",
                        "pose_sim_th",
                        gr.Slider(0, 1, d.pose_sim_th, step=0.01, label="same pose"),
                    )
                with gr.Row():
                    add(
                        "dedup",
                        "face_ssim_th1",
                        gr.Slider(
                            0,
                            1,
                            d.face_ssim_th1,
                            step=0.01,
                            label="face crops alike (with a strong match)",
                        ),
                    )
                    add(
                        "dedup",
                        "face_ssim_th2",
                        gr.Slider(
                            0,
                            1,
                            d.face_ssim_th2,
                            step=0.01,
                            label="face crops alike (with a weak match)",
                        ),
                    )
                with gr.Row():
                    add(
                        "dedup",
                        "bbox_tol_c",
                        gr.Slider(
                            0,
                            0.5,
                            d.bbox_tol_c,
                            step=0.01,
                            label="face position tolerance",
                            info="Share of the photo the face may move.",
                        ),
                    )
                    add(
                        "dedup",
                        "bbox_tol_wh",
                        gr.Slider(0, 0.5, d.bbox_tol_wh, step=0.01, label="face size tolerance"),
                    )
            with gr.Accordion("Crop", open=False), gr.Row():
                add(
                    "crop",
                    "mode",
                    gr.Radio(
                        ["square", "buckets"],
                        value=c.mode,
                        label="crop",
                        info="square: size×size; buckets: aspect-ratio buckets of ~size² area",
                    ),
                )
                add(
                    "crop",
                    "size",
                    gr.Number(c.size, label="size (px)", precision=0, elem_id="photos-crop-size"),
                )
                add(
                    "crop",
                    "image_format",
                    gr.Radio(["jpg", "png"], value=c.image_format, label="format"),
                )
            with gr.Accordion("Captions", open=False):
                with gr.Row():
                    provider = add(
                        "caption",
                        "provider",
                        gr.Radio(
                            ["none", "local", "api"],
                            value=cap.provider,
                            label="provider",
                            info="none: trigger word only · local: a VLM in the GPU worker · api: OpenAI-compatible",
                        ),
                    )
                    add(
                        "caption",
                        "style",
                        gr.Radio(["sentence", "tags"], value=cap.style, label="style"),
                    )
                with gr.Row():
                    add(
                        "caption",
                        "trigger",
                        gr.Textbox(
                            label="trigger word",
                            placeholder="ohwx",
                            elem_id="photos-trigger",
                            info="A rare word the LoRA learns for your subject.",
                        ),
                    )
                    add(
                        "caption",
                        "prefix",
                        gr.Textbox(label="prefix", placeholder="a photo of a woman,"),
                    )
                add(
                    "caption",
                    "instruction",
                    gr.Textbox(label="instruction (empty: the default for the style)", lines=2),
                )
                add(
                    "caption",
                    "identity_words",
                    gr.Textbox(
                        label="identity words (warn when a caption names them)",
                        placeholder="Alice, Alice Smith",
                    ),
                )
                with gr.Group(visible=cap.provider == "local") as local_box:
                    add(
                        "caption",
                        "local_model",
                        gr.Textbox(cap.local_model, label="local model: Hugging Face id or folder"),
                    )
                with gr.Group(visible=cap.provider == "api") as api_box:
                    with gr.Row():
                        add(
                            "caption",
                            "api_endpoint",
                            gr.Dropdown(
                                ["", *sorted(get_settings().endpoints)],
                                value="",
                                label="API endpoint (STUDIO_API_ENDPOINTS)",
                            ),
                        )
                        add(
                            "caption",
                            "api_base_url",
                            gr.Textbox(
                                label="API base URL (admins)", placeholder="https://host/v1"
                            ),
                        )
                        api_key = gr.Textbox(label="API key (never stored)", type="password")
                    add(
                        "caption",
                        "api_models",
                        gr.Textbox(label="models, in priority order (one per line)", lines=2),
                    )
                    with gr.Row():
                        add(
                            "caption",
                            "api_retries",
                            gr.Number(cap.api_retries, label="retries per model", precision=0),
                        )
                        add(
                            "caption",
                            "api_timeout",
                            gr.Number(cap.api_timeout, label="timeout (s)"),
                        )
        with gr.Column(scale=2):
            # name, the check, Build and the job's progress together: the progress is in view when you press Build
            name = gr.Textbox(
                label="Dataset name", placeholder="e.g. alice_v1", elem_id="photos-name"
            )
            size_note = gr.Markdown("", elem_id="photos-size-check")
            with gr.Row():
                lower_btn = gr.Button(
                    "Lower the minimum size", visible=False, size="sm", elem_id="photos-lower-min"
                )
                build_btn = gr.Button("Build dataset", variant="primary", elem_id="photos-build")
            keep_all_at = gr.State(0)
            panel = job_panel("photos", label="Build job")

    gr.Markdown("### Review")
    with gr.Row():
        dataset = gr.Dropdown(
            label="Dataset", choices=[], allow_custom_value=True, elem_id="photos-dataset", scale=3
        )
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="photos-refresh")
    summary = gr.Markdown("Build a dataset, or choose one above.", elem_id="photos-summary")
    shown = gr.Textbox(visible=False)  # manifest mtime of what is on screen
    with gr.Row():  # one selection for every view: click a photo anywhere, or choose it here
        selected = gr.Dropdown(
            label="Selected photo",
            choices=[],
            value=None,
            allow_custom_value=False,
            elem_id="photos-selected",
            scale=3,
            info="Click a photo in Kept, Groups or Left out, or choose it here.",
        )
        toggle_btn = gr.Button("Keep / drop the selected photo", elem_id="photos-toggle", scale=1)
    with gr.Tabs():
        with gr.Tab("Kept", elem_id="photos-tab-kept"):
            kept_gallery = gr.Gallery(
                label="Kept photos: what goes into the dataset",
                columns=8,
                height=420,
                allow_preview=False,
                elem_id="photos-kept",
            )
        with gr.Tab("Groups", elem_id="photos-tab-clusters"):
            gallery = gr.Gallery(
                label="Groups of near-duplicates: kept and dropped photos",
                columns=6,
                height=420,
                allow_preview=False,
                elem_id="photos-clusters",
            )
        with gr.Tab("Left out", elem_id="photos-tab-rejected"):
            rejected = gr.Dataframe(
                headers=REJECTED_COLUMNS,
                interactive=False,
                wrap=True,
                elem_id="photos-rejected",
                column_widths=["30%", "12%", "46%", "12%"],
            )
        with gr.Tab("Crop", elem_id="photos-tab-crop"), gr.Row():
            with gr.Column():
                crop_info = gr.Markdown("Select a kept photo to see and change its crop.")
                x0 = gr.Slider(0, 4096, 0, step=1, label="left (x0)")
                y0 = gr.Slider(0, 4096, 0, step=1, label="top (y0)")
                x1 = gr.Slider(0, 4096, 1024, step=1, label="right (x1)")
                y1 = gr.Slider(0, 4096, 1024, step=1, label="bottom (y1)")
                set_crop_btn = gr.Button("Use this crop", elem_id="photos-set-crop")
            crop_view = gr.Image(label="Crop preview", type="pil", interactive=False, height=360)
        with gr.Tab("Captions", elem_id="photos-tab-captions"):
            grid = gr.Dataframe(
                headers=GRID_COLUMNS,
                interactive=True,
                static_columns=[0, 1, 3],
                wrap=True,
                elem_id="photos-captions",
                column_widths=["8%", "20%", "52%", "20%"],
            )
    with gr.Row():
        save_btn = gr.Button("Save & repackage", variant="primary", elem_id="photos-save")
        discard_btn = gr.Button("Discard pending flips and crops", elem_id="photos-discard")
    download = gr.File(label="dataset.zip", interactive=False, elem_id="photos-download")

    # --- events
    components = [comp for _, _, comp in fields]

    def submit(files, server_path, dataset_name, key, request: gr.Request, *values):
        options: dict[str, dict] = {}
        for (group, option, _), value in zip(fields, values, strict=True):
            if option in ("identity_words", "api_models"):
                value = _lines(value)
            options.setdefault(group, {})[option] = value
        paths = [Path(f if isinstance(f, str) else f.name) for f in files or []]
        user = current_user(request)
        try:
            job = photos.start_build(
                dataset_name,
                user,
                options,
                files=paths,
                server_paths=[server_path] if (server_path or "").strip() else [],
                api_key=key or "",
            )
        except StudioError as exc:
            raise ui_error(exc) from None
        name_ = job["params"]["name"]
        return job["id"], gr.update(
            choices=[m["name"] for m in datasets.list_all(user, "photos", user.name)], value=name_
        )

    provider.change(
        lambda p: (gr.update(visible=p == "local"), gr.update(visible=p == "api")),
        provider,
        [local_box, api_box],
        api_visibility="private",
        queue=False,
    )
    build_btn.click(
        submit,
        [upload, server, name, api_key, *components],
        [panel.job_id, dataset],
        api_name="dataset_photos_build",
    )

    review = [summary, kept_gallery, gallery, rejected, grid, selected, download, shown]
    dataset.change(load_review, dataset, review, api_name="dataset_photos_review")
    refresh.click(list_names, None, dataset, api_name="dataset_photos_list").then(
        load_review, dataset, review, api_visibility="private"
    )
    root = gr.context.Context.root_block
    if root is not None:
        root.load(list_names, None, dataset, api_visibility="private", queue=False)
    timer = gr.Timer(2.0)
    timer.tick(
        poll,
        [dataset, panel.job_id, shown],
        [panel.job_id, *review, timer],
        api_visibility="private",
        show_progress="hidden",
        queue=False,
    )
    # a new job or another dataset: poll again (the tick stops the timer once nothing can change)
    gr.on(
        [panel.job_id.change, dataset.change],
        lambda: gr.Timer(active=True),
        None,
        timer,
        api_visibility="private",
        show_progress="hidden",
        queue=False,
    )

    kept_gallery.select(pick_kept, dataset, selected, api_visibility="private")
    gallery.select(pick_from_gallery, dataset, selected, api_visibility="private")
    rejected.select(pick_from_table, rejected, selected, api_visibility="private")
    toggle_btn.click(toggle, [dataset, selected], review, api_name="dataset_photos_toggle")

    boxes = [x0, y0, x1, y1]
    selected.change(
        crop_choice, [dataset, selected], [*boxes, crop_info], api_visibility="private"
    ).then(crop_preview, [dataset, selected, *boxes], crop_view, api_visibility="private")
    for slider in boxes:
        slider.release(
            crop_preview,
            [dataset, selected, *boxes],
            crop_view,
            api_visibility="private",
            show_progress="hidden",
        )
    set_crop_btn.click(
        set_crop, [dataset, selected, *boxes], summary, api_name="dataset_photos_set_crop"
    )

    # before the run: the minimum size against the inputs' headers
    sizes_in, sizes_out = [upload, server, min_side], [size_note, lower_btn, keep_all_at]
    upload.change(
        check_sizes,
        sizes_in,
        sizes_out,
        api_name="dataset_photos_check_sizes",
        show_progress="hidden",
    )
    server.blur(check_sizes, sizes_in, sizes_out, api_visibility="private", show_progress="hidden")
    server.submit(
        check_sizes, sizes_in, sizes_out, api_visibility="private", show_progress="hidden"
    )
    min_side.change(
        check_sizes, sizes_in, sizes_out, api_visibility="private", show_progress="hidden"
    )
    lower_btn.click(lambda v: v, keep_all_at, min_side, api_visibility="private", queue=False)

    save_btn.click(save, [dataset, grid], panel.job_id, api_name="dataset_photos_save")
    discard_btn.click(discard, dataset, review, api_name="dataset_photos_discard")
