"""The user's review of a built photo dataset, and the gallery previews.

- :func:`write_previews`: 256 px previews of every readable photo (the cluster
  gallery, the crop preview), in ``.thumbs/`` of the dataset folder.
- :func:`check_edits`: keep/drop flips, crop boxes and caption edits checked
  against the manifest (:class:`EditError` names what does not fit).
- :func:`apply_review`: flips and crop boxes re-run crop → package (photos not
  touched keep their crop); caption edits alone only re-package.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pipelines.captions import check_caption, compose_caption
from pipelines.errors import BadInput
from pipelines.names import CAPTION_MAX, TextError, check_text
from pipelines.progress import Progress, Span

from .images import ImageLoadError, load_image
from .photos import DETECT_SIDE, DatasetResult, PhotoDatasetOptions, crop_step, package_step

THUMBS = ".thumbs"  # 256 px previews for the gallery
THUMB_SIDE = 256


class EditError(BadInput):
    """Review edits that do not fit the dataset (HTTP 422)."""


def thumb_path(folder: Path, source_name: str) -> Path:
    return Path(folder) / THUMBS / (hashlib.sha1(source_name.encode()).hexdigest()[:16] + ".jpg")


def write_previews(result: DatasetResult, options: PhotoDatasetOptions, progress: Progress) -> None:
    todo = [r for r in result.records if r.path and r.status not in ("error", "skipped")]
    for i, r in enumerate(todo):
        progress.update(stage="previews", fraction=i / max(len(todo), 1), item=r.name)
        target = thumb_path(result.output_dir, r.name)
        target.parent.mkdir(exist_ok=True)
        try:
            load_image(Path(r.path), max_side=THUMB_SIDE, max_pixels=options.max_pixels).save(
                target, "JPEG", quality=85
            )
        except (ImageLoadError, OSError) as exc:
            progress.log(f"preview of {r.name}: {exc}")
    progress.update(stage="previews", fraction=1.0)


def check_edits(manifest: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """Edits keyed by source name; output names ("0003.jpg") accepted. EditError for what does not fit."""
    records = {r["name"]: r for r in manifest.get("files", [])}
    by_output = {r["output"]: r["name"] for r in records.values() if r.get("output")}
    by_output |= {str(Path(o).with_suffix(".txt")): n for o, n in list(by_output.items())}
    unknown_keys = set(edits) - {"flips", "crops", "captions"}
    if unknown_keys:
        raise EditError(
            f"unknown edit {sorted(unknown_keys)[0]!r}: send flips, crops and/or captions"
        )

    def source(key: str) -> str:
        if key in records:
            return key
        if key in by_output:
            return by_output[key]
        raise EditError(f"{str(key)[:200]!r} is not a file of this dataset (see its manifest)")

    out: dict[str, Any] = {"flips": {}, "crops": {}, "captions": {}}
    for key, state in (edits.get("flips") or {}).items():
        name = source(key)
        if state not in ("kept", "dropped"):
            raise EditError(f"flip of {key!r}: use 'kept' or 'dropped', not {str(state)[:50]!r}")
        if records[name]["status"] in ("error", "skipped"):
            raise EditError(f"{key!r} cannot be kept: {'; '.join(records[name]['reasons'])}")
        if records[name]["status"] != state:
            out["flips"][name] = state
    for key, box in (edits.get("crops") or {}).items():
        name = source(key)
        try:
            x0, y0, x1, y1 = (round(float(v)) for v in box)
        except (TypeError, ValueError, OverflowError):
            raise EditError(f"crop of {key!r}: give four finite numbers [x0, y0, x1, y1]") from None
        r = records[name]
        if (
            not (0 <= x0 < x1 <= r["width"] and 0 <= y0 < y1 <= r["height"])
            or x1 - x0 < 8
            or y1 - y0 < 8
        ):
            raise EditError(
                f"crop of {key!r} {[x0, y0, x1, y1]} must lie inside the {r['width']}x{r['height']} "
                "photo and be at least 8 pixels wide and high"
            )
        out["crops"][name] = [x0, y0, x1, y1]
    for key, text in (edits.get("captions") or {}).items():
        name = source(key)
        try:
            check_text(text, f"caption of {key!r}", CAPTION_MAX)
        except TextError as exc:
            raise EditError(str(exc)) from None
        if text.strip() != (records[name].get("caption") or ""):
            out["captions"][name] = text.strip()
    return out


def apply_review(
    result: DatasetResult,
    options: PhotoDatasetOptions,
    flips: dict[str, str],
    crops: dict[str, list[int]],
    captions: dict[str, str],
    progress: Progress,
) -> None:
    """Apply checked edits (:func:`check_edits`) to a loaded result and write the package again."""
    # Caption edits are kept by source name: crop renumbers the NNNN outputs.
    by_output = {r.output: r.name for r in result.records if r.output}
    options.caption_overrides = {
        by_output.get(k, k): v for k, v in options.caption_overrides.items()
    }
    options.caption_overrides.update(captions)
    options.crop_overrides.update(crops)
    progress.log(
        f"review: {len(flips)} flips, {len(crops)} crop boxes, {len(captions)} caption edits"
    )
    if flips or crops:
        _flip(result, options, flips)
        _detect_new(
            result, options, [n for n, s in flips.items() if s == "kept"], Span(progress, 0, 0.2)
        )
        _crop_again(result, options, flips, Span(progress, 0.2, 0.8))
    result.options = options.to_dict()
    package_step(result, options, Span(progress, 0.8, 1.0))


def _flip(result: DatasetResult, options: PhotoDatasetOptions, flips: dict[str, str]) -> None:
    for source, state in flips.items():
        r = result.record(source)
        if state == "kept":
            r.warnings.append("kept in review (was: " + "; ".join(r.reasons) + ")")
            r.status, r.reasons = "kept", []
            options.force_drop = [n for n in options.force_drop if n != source]
            options.force_keep = sorted({*options.force_keep, source})
        else:
            r.status, r.reasons, r.output = "dropped", ["dropped in review"], ""
            options.force_keep = [n for n in options.force_keep if n != source]
            options.force_drop = sorted({*options.force_drop, source})
    for c in result.clusters:
        members = c.kept + c.dropped
        c.kept = [n for n in members if result.record(n).status == "kept"]
        c.dropped = [n for n in members if result.record(n).status != "kept"]


def _crop_again(
    result: DatasetResult, options: PhotoDatasetOptions, flips: dict[str, str], progress: Progress
) -> None:
    """Crop → the kept photos; photos cropped before keep their box (the face detections are
    not in the manifest); newly kept photos get a trigger-only caption and a warning."""
    keep_box = {
        r.name: (r.crop_box, r.focus)
        for r in result.kept()
        if r.crop_box and r.name not in options.crop_overrides and r.name not in flips
    }
    user_overrides = dict(options.crop_overrides)
    options.crop_overrides = {**user_overrides, **{n: b for n, (b, _) in keep_box.items() if b}}
    for r in result.kept():
        r.warnings = [w for w in r.warnings if not w.startswith("crop override")]
    crop_step(result, options, progress)
    options.crop_overrides = user_overrides
    for r in result.kept():
        r.warnings = list(dict.fromkeys(r.warnings))
    for n, (_, focus) in keep_box.items():
        result.record(n).focus = focus
    for r in result.kept():
        if r.output and not r.caption_source:  # newly kept: no generated caption
            r.caption, r.caption_source = compose_caption("", options.caption), "none"
            if r.name not in options.caption_overrides:
                r.warnings.append(
                    "kept in review: its caption holds only the trigger word; edit it"
                )
            r.warnings += check_caption(r.caption, options.caption) if r.caption else []


def _detect_new(
    result: DatasetResult, options: PhotoDatasetOptions, names: list[str], progress: Progress
) -> None:
    """Face / pose of photos kept in review, so their crop centres on the subject."""
    from .subjects import SubjectDetector

    if not names or not options.dedup.use_faces:
        return
    with SubjectDetector(options.dedup.insightface_model_dir, log=progress.log) as detector:
        for i, n in enumerate(names):
            progress.update(
                stage="dedup",
                fraction=i / len(names),
                item=n,
                message="faces of photos kept in review",
            )
            r = result.record(n)
            try:
                subject = detector.detect(
                    load_image(Path(r.path), max_side=DETECT_SIDE, max_pixels=options.max_pixels)
                )
            except ImageLoadError as exc:
                r.status, r.reasons = "error", [str(exc)]
                continue
            result.subjects[n] = subject
            r.faces, r.pose = subject.faces, subject.pose is not None
            r.face_box = [round(v, 4) for v in subject.face] if subject.face else None
