"""Photo dataset pipeline: photos in, a captioned LoRA training set out.

Read it top to bottom; each step is also a function a job can re-run alone::

    unpack -> filter -> dedup -> crop -> caption -> package

    result = build_photo_dataset(["photos.zip"], Path("out"), PhotoDatasetOptions(), progress)
    result.clusters            # for the gallery: kept / dropped members of each cluster
    # the user edits two captions in the UI, then only the package step runs again:
    repackage(Path("out"), caption_overrides={"0003.jpg": "ohwx, a woman in a red coat"})

Every source file gets one record (kept, dropped or error, with the reasons); a bad
file never stops the others. On cancel the files already written stay and the
manifest lists what was done (status "cancelled").
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.captions import (
    CaptionError,
    check_caption,
    compose_caption,
    default_instruction,
    load_captioner,
)
from pipelines.progress import Cancelled, NullProgress, Progress, Span

from . import package
from .build_options import PhotoDatasetError, PhotoDatasetOptions
from .crop import crop_box, focus, nearest_bucket, output_size
from .dedup import (
    choose_keepers,
    cluster_labels,
    duplicate_pairs,
    is_burst,
    phash_of,
)
from .images import ImageLoadError, load_image, load_region, probe_image
from .quality import ANALYSIS_SIDE, measure, rejection_reasons
from .results import Cluster, DatasetResult, PhotoRecord, filter_summary, load_result, summary
from .subjects import SubjectDetector
from .unpack import gather_inputs

DETECT_SIDE = 1024  # long side of the copy used for face / pose detection
_OUTPUT_FILE = re.compile(r"^\d{4}\.(jpg|png|txt)$")

__all__ = [  # the steps, and the options and results importable from here as before the split
    "DETECT_SIDE",
    "Cluster",
    "DatasetResult",
    "PhotoDatasetError",
    "PhotoDatasetOptions",
    "PhotoRecord",
    "build_photo_dataset",
    "caption_step",
    "crop_step",
    "dedup_step",
    "filter_step",
    "filter_summary",
    "load_result",
    "package_step",
    "repackage",
    "summary",
    "unpack_step",
]


# --------------------------------------------------------------------------- the pipeline


def build_photo_dataset(
    inputs,
    output_dir: Path,
    options: PhotoDatasetOptions | None = None,
    progress: Progress = NullProgress(),
    captioner=None,
) -> DatasetResult:
    """Photos (ZIPs, folders, files) -> ``output_dir`` with image/caption pairs, manifest, configs, ZIP.

    ``captioner``: an already loaded captioner (the worker keeps one); else one is loaded
    from ``options.caption``. Raises :class:`PhotoDatasetError` for unusable options before
    any work, and ``Cancelled`` (after writing the manifest of what is done) on cancel.
    """
    options = options or PhotoDatasetOptions()
    options.check()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    result = DatasetResult(output_dir=output_dir, options=options.to_dict())
    try:
        unpack_step(result, inputs, options, Span(progress, 0.00, 0.05))
        filter_step(result, options, Span(progress, 0.05, 0.20))
        dedup_step(result, options, Span(progress, 0.20, 0.50))
        crop_step(result, options, Span(progress, 0.50, 0.75))
        caption_step(result, options, Span(progress, 0.75, 0.95), captioner)
        package_step(result, options, Span(progress, 0.95, 1.00))
    except Cancelled as exc:
        result.status = "cancelled"
        result.manifest_path = package.write_manifest(output_dir, result.manifest())
        exc.result = result  # type: ignore[attr-defined]
        raise
    progress.update(stage="package", fraction=1.0, message=summary(result))
    return result


def unpack_step(
    result: DatasetResult, inputs, options: PhotoDatasetOptions, progress: Progress
) -> None:
    """Gather the images (ZIPs unpacked safely into ``output_dir/.sources``); others listed as skipped."""
    result.stage = "unpack"
    progress.update(stage="unpack", fraction=0.0, message="reading inputs")
    gathered = gather_inputs(inputs, result.output_dir / ".sources", options.limits, progress)
    result.records = [PhotoRecord(name=f.name, path=str(f.path)) for f in gathered.files]
    result.records += [
        PhotoRecord(name=s.name, status="skipped", reasons=[s.reason]) for s in gathered.skipped
    ]
    for s in gathered.skipped:
        progress.log(f"skipped {s.name}: {s.reason}")
    progress.update(
        stage="unpack",
        fraction=1.0,
        message=f"{len(gathered.files)} images, {len(gathered.skipped)} skipped",
    )


def filter_step(result: DatasetResult, options: PhotoDatasetOptions, progress: Progress) -> None:
    """Measure size, sharpness, brightness and pHash; drop the photos under the thresholds."""
    result.stage = "filter"
    todo = [r for r in result.records if r.status == "pending"]
    for i, r in enumerate(todo):
        progress.update(stage="filter", fraction=i / max(len(todo), 1), item=r.name)
        try:
            info = probe_image(Path(r.path), options.max_pixels)
            grey = load_image(
                Path(r.path), max_side=ANALYSIS_SIDE, max_pixels=options.max_pixels, mode="L"
            )
        except ImageLoadError as exc:
            r.status, r.reasons = "error", [str(exc)]
            progress.log(f"error {exc}")
            continue
        r.width, r.height = info.width, info.height
        metrics = measure(grey)
        r.sharpness, r.brightness = round(metrics.sharpness, 1), round(metrics.brightness, 1)
        r.phash = f"{phash_of(grey):016x}"
        reasons = rejection_reasons(info.width, info.height, metrics, options.quality)
        if reasons and r.name in options.force_keep:
            r.warnings.append("kept by request despite: " + "; ".join(reasons))
        elif reasons:
            r.status, r.reasons = "dropped", reasons
    progress.update(stage="filter", fraction=1.0)


def dedup_step(result: DatasetResult, options: PhotoDatasetOptions, progress: Progress) -> None:
    """Cluster copies (pHash) and bursts (face, pose, face SSIM, box); keep N per cluster."""
    result.stage = "dedup"
    o = options.dedup
    todo = [r for r in result.records if r.status == "pending"]
    hashes = [int(r.phash, 16) for r in todo]
    # pHash copies; detailed images (text pages, textures) rotated or shifted a little, or
    # within the pHash threshold of each other, also through a second, geometric comparison
    links = set(duplicate_pairs([Path(r.path) for r in todo], hashes, o.phash_max_distance))
    if o.use_faces and todo:
        with SubjectDetector(o.insightface_model_dir, log=progress.log) as detector:
            for i, r in enumerate(todo):
                progress.update(
                    stage="dedup",
                    fraction=0.9 * i / len(todo),
                    item=r.name,
                    message="faces and poses",
                )
                try:
                    image = load_image(
                        Path(r.path), max_side=DETECT_SIDE, max_pixels=options.max_pixels
                    )
                except ImageLoadError as exc:
                    r.status, r.reasons = "error", [str(exc)]
                    continue
                subject = detector.detect(image)
                result.subjects[r.name] = subject
                r.faces, r.pose = subject.faces, subject.pose is not None
                r.face_box = [round(v, 4) for v in subject.face] if subject.face else None
                if subject.faces > 1:
                    r.warnings.append(f"{subject.faces} faces: the largest is taken as the subject")
        subjects = [result.subjects.get(r.name) for r in todo]
        faced = {i: s for i, s in enumerate(subjects) if s is not None and s.face is not None}
        order = list(faced)
        for a_i, a in enumerate(order):
            for b in order[a_i + 1 :]:
                if (a, b) not in links and is_burst(faced[a], faced[b], o):
                    links.add((a, b))
    progress.update(stage="dedup", fraction=0.95, message="clustering")
    labels = cluster_labels(len(todo), sorted(links))
    result.clusters = []
    for label in sorted(set(labels.tolist())):
        members = [
            i for i in range(len(todo)) if labels[i] == label and todo[i].status == "pending"
        ]
        if not members:
            continue
        keep = choose_keepers(
            members,
            [r.sharpness or 0.0 for r in todo],
            hashes,
            o.keep_per_cluster,
            o.phash_max_distance,
            [r.width * r.height for r in todo],
        )
        if len(members) > 1:
            cid = len(result.clusters) + 1
            kept_names = [todo[i].name for i in members if i in keep]
            result.clusters.append(
                Cluster(cid, kept_names, [todo[i].name for i in members if i not in keep])
            )
            for i in members:
                todo[i].cluster = cid
                if i not in keep:
                    todo[i].status = "dropped"
                    todo[i].reasons = [
                        f"near-duplicate (cluster {cid}; kept {', '.join(kept_names)})"
                    ]
    for r in result.records:
        if r.name in options.force_drop and r.status in ("pending", "kept", "dropped"):
            r.status, r.reasons = "dropped", ["dropped by request"]
        elif r.name in options.force_keep and r.status == "dropped":
            r.warnings.append("kept by request despite: " + "; ".join(r.reasons))
            r.status, r.reasons = "pending", []
        if r.status == "pending":
            r.status = "kept"
    for c in result.clusters:  # the gallery shows the final state, overrides included
        names = c.kept + c.dropped
        c.kept = [n for n in names if result.record(n).status == "kept"]
        c.dropped = [n for n in names if result.record(n).status != "kept"]
    progress.update(
        stage="dedup",
        fraction=1.0,
        message=f"{len(result.kept())} kept, {len(result.clusters)} clusters",
    )


def crop_step(result: DatasetResult, options: PhotoDatasetOptions, progress: Progress) -> None:
    """Find the subject and write each kept photo's crop as ``NNNN.jpg|png``."""
    result.stage = "crop"
    c = options.crop
    for old in result.output_dir.iterdir():  # a re-run must not leave stale pairs behind
        if _OUTPUT_FILE.match(old.name):
            old.unlink()
    todo = result.kept()
    number = 0
    for i, r in enumerate(todo):
        progress.update(stage="crop", fraction=i / max(len(todo), 1), item=r.name)
        path = Path(r.path)
        try:
            if not r.width:
                info = probe_image(path, options.max_pixels)
                r.width, r.height = info.width, info.height
            override = options.crop_overrides.get(r.name)
            if override:
                box = _checked_box(override, r.width, r.height)
                r.focus = "override"
                aspect = (box[2] - box[0]) / (box[3] - box[1])
            else:
                subject = result.subjects.get(r.name)
                small = (
                    None
                    if subject and (subject.face or subject.pose is not None)
                    else load_image(path, max_side=256, max_pixels=options.max_pixels)
                )
                subject_box, head, r.focus = focus(subject, small)
                aspect = (
                    1.0
                    if c.mode == "square"
                    else (lambda b: b[0] / b[1])(nearest_bucket(r.width, r.height, c))
                )
                box, notes = crop_box(r.width, r.height, subject_box, head, aspect, c.head_margin)
                r.warnings += notes
            target = (
                (c.size, c.size)
                if c.mode == "square"
                else nearest_bucket(box[2] - box[0], box[3] - box[1], c)
            )
            if override and c.mode == "square" and abs(aspect - 1.0) > 0.01:
                target = nearest_bucket(box[2] - box[0], box[3] - box[1], c)
                r.warnings.append(
                    f"crop override is not square: saved as bucket {target[0]}x{target[1]}"
                )
            size, notes = output_size(box, target, c.upscale_small)
            r.warnings += notes
            image = load_region(path, box, size, options.max_pixels)
        except (ImageLoadError, ValueError) as exc:
            r.status, r.reasons = "error", [str(exc)]
            progress.log(f"error {r.name}: {exc}")
            continue
        number += 1
        r.crop_box = list(box)
        r.output = f"{number:04d}.{c.image_format}"
        if c.image_format == "jpg":
            image.save(result.output_dir / r.output, "JPEG", quality=c.jpeg_quality)
        else:
            image.save(result.output_dir / r.output, "PNG")
    progress.update(stage="crop", fraction=1.0)


def caption_step(
    result: DatasetResult, options: PhotoDatasetOptions, progress: Progress, captioner=None
) -> None:
    """Caption each crop: trigger word, prefix, then the provider's text; warnings per caption."""
    result.stage = "caption"
    o = options.caption
    todo = [r for r in result.kept() if r.output]
    progress.update(stage="caption", fraction=0.0, message=f"provider {o.provider}")
    if o.provider != "none" and captioner is None and todo:
        progress.update(stage="caption", fraction=0.0, message="loading the caption model")
        captioner = load_captioner(o, log=progress.log, progress=progress)
    failed = ""
    size = max(1, o.batch_size)
    for start in range(0, len(todo), size):
        batch = todo[start : start + size]
        progress.update(stage="caption", fraction=start / len(todo), item=batch[0].name)
        raws = [""] * len(batch)
        if o.provider != "none" and not failed:
            try:
                images = [load_image(result.output_dir / r.output) for r in batch]
                raws = captioner.describe(images, default_instruction(o))
            except CaptionError as exc:
                failed = str(exc)
                progress.log(
                    f"captions: {failed}; the remaining captions hold the trigger word only"
                )
        for r, raw in zip(batch, raws, strict=True):
            r.caption = compose_caption(raw, o)
            r.caption_source = o.provider if raw or o.provider == "none" else "none"
            if failed and not raw:
                r.warnings.append(f"caption provider failed: {failed}")
            r.warnings += check_caption(r.caption, o) if r.caption or o.trigger else []
    progress.update(stage="caption", fraction=1.0)


def package_step(
    result: DatasetResult, options: PhotoDatasetOptions, progress: Progress = NullProgress()
) -> DatasetResult:
    """Write ``NNNN.txt`` captions (edits applied), manifest.json, trainer configs and dataset.zip."""
    result.stage = "package"
    out = result.output_dir
    todo = [r for r in result.kept() if r.output]
    caption_options = options.caption
    for i, r in enumerate(todo):
        progress.update(stage="package", fraction=0.8 * i / max(len(todo), 1), item=r.output)
        edited = options.caption_overrides.get(r.name, options.caption_overrides.get(r.output))
        if edited is not None:
            r.caption, r.caption_source = edited.strip(), "edited"
            r.warnings = [w for w in r.warnings if not w.startswith(("caption ", "caption does"))]
            r.warnings += check_caption(r.caption, caption_options)
        (out / r.output).with_suffix(".txt").write_text(r.caption + "\n", encoding="utf-8")
    buckets = options.crop.mode == "buckets"
    (out / package.DIFFUSION_PIPE_CONFIG).write_text(
        package.diffusion_pipe_toml(out, options.crop.size, buckets, options.num_repeats)
    )
    (out / package.KOHYA_CONFIG).write_text(
        package.kohya_toml(
            out, options.crop.size, buckets, options.num_repeats, caption_options.trigger
        )
    )
    result.status = "complete"
    result.manifest_path = package.write_manifest(out, result.manifest())
    if options.make_zip:
        progress.update(stage="package", fraction=0.9, message="writing dataset.zip")
        names = [n for r in todo for n in (r.output, str(Path(r.output).with_suffix(".txt")))]
        names += [package.MANIFEST]
        configs = {  # in the ZIP, the configs name the folder they sit in: "."
            package.DIFFUSION_PIPE_CONFIG: package.diffusion_pipe_toml(
                ".", options.crop.size, buckets, options.num_repeats, relative=True
            ),
            package.KOHYA_CONFIG: package.kohya_toml(
                ".",
                options.crop.size,
                buckets,
                options.num_repeats,
                caption_options.trigger,
                relative=True,
            ),
        }
        result.zip_path = package.write_zip(out, names, configs)
    progress.update(stage="package", fraction=1.0)
    return result


# --------------------------------------------------------------------------- re-runs


def repackage(
    output_dir: Path,
    caption_overrides: dict[str, str] | None = None,
    progress: Progress = NullProgress(),
    options: PhotoDatasetOptions | None = None,
) -> DatasetResult:
    """Apply caption edits ({source or output name: caption}) and write the package again."""
    result = load_result(output_dir)
    options = options or PhotoDatasetOptions.from_dict(result.options)
    options.caption_overrides = {**options.caption_overrides, **(caption_overrides or {})}
    result.options = options.to_dict()
    return package_step(result, options, progress)


def _checked_box(box, width: int, height: int) -> tuple[int, int, int, int]:
    try:
        x0, y0, x1, y1 = (round(float(v)) for v in box)
    except (TypeError, ValueError):
        raise ValueError(f"crop override {box!r}: give four numbers x0, y0, x1, y1") from None
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        raise ValueError(
            f"crop override {list(box)} is empty or outside the {width}x{height} photo"
        )
    return x0, y0, x1, y1
