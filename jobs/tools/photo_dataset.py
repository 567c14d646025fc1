"""Photo dataset builder: its job kinds, and the submit helpers the tab and the REST API share.

Three kinds, so CPU work never holds the GPU lane:

- ``photo_dataset.build`` (cpu): unpack → filter → dedup → previews → crop; then
  caption → package in the same job when the caption provider is ``none`` or
  ``api``. With a ``local`` VLM it writes the manifest and submits
  ``photo_dataset.caption``.
- ``photo_dataset.caption`` (gpu): caption → package, with the captioner
  loaded once per worker process (``ctx.model``).
- ``photo_dataset.repackage`` (cpu): the user's review (keep/drop flips, crop
  boxes, caption edits). Flips and crop boxes re-run crop → package; caption
  edits alone re-run only package.

The dataset lives in ``STUDIO_HOME/datasets/<name>/`` (``jobs.datasets``); the
registry keeps the latest job's id, so the dataset's status is that job's.

The caption API key never enters a job record, status.json or a log: the submit
helper hands it to ``jobs.secrets`` (a 0600 file in ``STUDIO_HOME/secrets``,
outside every folder the studio serves); the job's params hold only the random
reference ``api_key_ref``; the runner deletes the file once the job succeeds or
is cancelled (a failed job keeps it for a retry).
"""

from __future__ import annotations

from contextlib import contextmanager

import hashlib
import json
import os
import shutil
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from jobs import datasets, queue, secrets, store
from jobs.kinds import job_kind
from jobs.settings import get_settings

BUILD, CAPTION, REPACKAGE = "photo_dataset.build", "photo_dataset.caption", "photo_dataset.repackage"
PENDING_EDITS = ".pending-edits.json"  # the tab's unsaved review (flips, crops), small JSON
THUMBS = ".thumbs"  # 256 px previews for the gallery
THUMB_SIDE = 256


class OptionsError(ValueError):
    """Options a user sent that cannot be used (HTTP 422)."""


class EditError(ValueError):
    """Review edits that do not fit the dataset (HTTP 422)."""


# --------------------------------------------------------------------------- options


def _coerce(value: Any, default: Any, where: str) -> Any:
    """``value`` as the type of the option's default (None: the default), or OptionsError naming the option."""
    if value is None:
        return default
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.strip().lower() in ("true", "1", "yes", "on"):
                    return True
                if value.strip().lower() in ("false", "0", "no", "off", ""):
                    return False
                raise ValueError
            return bool(value)
        if isinstance(default, int):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, str):
            if not isinstance(value, (str, int, float)):
                raise ValueError
            return str(value)
        if isinstance(default, list):
            if isinstance(value, str):
                return [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
            if not isinstance(value, (list, tuple)):
                raise ValueError
            return list(value)
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ValueError
            return dict(value)
    except (TypeError, ValueError):
        kind = type(default).__name__.replace("str", "text").replace("float", "number").replace("int", "whole number")
        raise OptionsError(f"option {where} = {value!r}: expected a {kind}") from None
    return value


def parse_options(data: dict[str, Any] | None, api_key: str = ""):
    """``PhotoDatasetOptions`` from user JSON; unknown names and wrong types give OptionsError.

    Shape: ``{"quality": {...}, "dedup": {...}, "crop": {...}, "caption": {...}, "num_repeats": 10}``
    (field names as in the pipeline's option dataclasses).
    """
    from pipelines.photo_dataset import PhotoDatasetError, PhotoDatasetOptions

    data = data or {}
    if not isinstance(data, dict):
        raise OptionsError("options must be a JSON object such as {\"dedup\": {\"keep_per_cluster\": 1}}")
    options = PhotoDatasetOptions()
    for key, value in data.items():
        if key == "limits" or key not in {f.name for f in fields(options)}:
            known = ", ".join(f.name for f in fields(options) if f.name != "limits")
            raise OptionsError(f"unknown option {key!r}; options are {known}")
        current = getattr(options, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise OptionsError(f"option {key} must be an object of {key} settings")
            names = {f.name for f in fields(current)}
            for sub, subvalue in value.items():
                if sub not in names or sub == "api_key":
                    hint = " (send the key as the separate api_key field)" if sub == "api_key" else ""
                    raise OptionsError(f"unknown option {key}.{sub}{hint}; {key} options are "
                                       f"{', '.join(sorted(names - {'api_key'}))}")
                setattr(current, sub, _coerce(subvalue, getattr(current, sub), f"{key}.{sub}"))
        else:
            setattr(options, key, _coerce(value, current, key))
    options.caption.api_key = api_key or ""
    try:
        options.check()
    except PhotoDatasetError as exc:
        raise OptionsError(str(exc)) from None
    return options


# --------------------------------------------------------------------------- submitting


def start_build(name: str, owner: str, options: dict[str, Any] | None = None, files: list[Path] | None = None,
                server_paths: list[str] | None = None, api_key: str = "") -> dict[str, Any]:
    """Check the options and inputs, reserve the dataset name, queue the build; returns the job record.

    Raises OptionsError / jobs.inputs.InputError (422), DatasetNameError (422), DatasetExists (409).
    """
    from jobs.inputs import InputError, check_size, server_path

    parsed = parse_options(options, api_key)
    files = [Path(f) for f in files or []]
    for f in files:
        check_size(f)
    paths = [str(server_path(p)) for p in server_paths or [] if str(p).strip()]
    if not files and not paths:
        raise InputError("Give photos: a ZIP, image files, or a server folder.")
    name = datasets.folder(name).name  # DatasetNameError for a bad name
    datasets.reserve(name, "photos", owner, parsed.to_dict())
    ref = secrets.hand_over(api_key)
    try:
        job = queue.submit(BUILD, {"name": name, "options": parsed.to_dict(), "server_paths": paths,
                                   "api_key_ref": ref}, owner=owner,
                           files={f.name: f for f in files}, title=f"Photo dataset {name}")
    except Exception:
        secrets.drop(ref)
        shutil.rmtree(datasets.folder(name), ignore_errors=True)
        raise
    datasets.attach_job(name, job["id"])
    return job


def read_manifest(name: str) -> dict[str, Any] | None:
    from pipelines.photo_dataset.package import MANIFEST

    path = datasets.folder(name) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def check_idle(name: str) -> dict[str, Any]:
    meta = datasets.get(name)
    if meta["status"] in ("queued", "running"):
        raise store.JobStateError(f"Dataset {name!r} is being built or edited (job {meta['job_id']}); "
                                  "wait for it or cancel it first.")
    return meta


def normalise_edits(manifest: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """Edits keyed by source name; output names ("0003.jpg") accepted. EditError for what does not fit."""
    records = {r["name"]: r for r in manifest.get("files", [])}
    by_output = {r["output"]: r["name"] for r in records.values() if r.get("output")}
    by_output |= {str(Path(o).with_suffix(".txt")): n for o, n in list(by_output.items())}
    unknown_keys = set(edits) - {"flips", "crops", "captions"}
    if unknown_keys:
        raise EditError(f"unknown edit {sorted(unknown_keys)[0]!r}: send flips, crops and/or captions")

    def source(key: str) -> str:
        if key in records:
            return key
        if key in by_output:
            return by_output[key]
        raise EditError(f"{key!r} is not a file of this dataset (see its manifest)")

    out: dict[str, Any] = {"flips": {}, "crops": {}, "captions": {}}
    for key, state in (edits.get("flips") or {}).items():
        name = source(key)
        if state not in ("kept", "dropped"):
            raise EditError(f"flip of {key!r}: use 'kept' or 'dropped', not {state!r}")
        if records[name]["status"] in ("error", "skipped"):
            raise EditError(f"{key!r} cannot be kept: {'; '.join(records[name]['reasons'])}")
        if records[name]["status"] != state:
            out["flips"][name] = state
    for key, box in (edits.get("crops") or {}).items():
        name = source(key)
        try:
            x0, y0, x1, y1 = (int(round(float(v))) for v in box)
        except (TypeError, ValueError):
            raise EditError(f"crop of {key!r}: give four numbers [x0, y0, x1, y1]") from None
        r = records[name]
        if not (0 <= x0 < x1 <= r["width"] and 0 <= y0 < y1 <= r["height"]) or x1 - x0 < 8 or y1 - y0 < 8:
            raise EditError(f"crop of {key!r} {[x0, y0, x1, y1]} must lie inside the {r['width']}x{r['height']} "
                            "photo and be at least 8 pixels wide and high")
        out["crops"][name] = [x0, y0, x1, y1]
    for key, text in (edits.get("captions") or {}).items():
        if not isinstance(text, str):
            raise EditError(f"caption of {key!r} must be text")
        name = source(key)
        if text.strip() != (records[name].get("caption") or ""):
            out["captions"][name] = text.strip()
    return out


def submit_edits(name: str, owner: str, edits: dict[str, Any]) -> dict[str, Any]:
    """Queue the repackage job for the user's review; returns the job record."""
    check_idle(name)
    manifest = read_manifest(name)
    if manifest is None:
        raise EditError(f"Dataset {name!r} has no manifest yet: wait for its build to finish.")
    clean = normalise_edits(manifest, edits)
    if not any(clean.values()):
        raise EditError("Nothing changed: flip an image, set a crop or edit a caption first.")
    job = queue.submit(REPACKAGE, {"name": name, **clean}, owner=owner, title=f"Repackage {name}")
    datasets.attach_job(name, job["id"])
    return job


def thumb_path(folder: Path, source_name: str) -> Path:
    return Path(folder) / THUMBS / (hashlib.sha1(source_name.encode()).hexdigest()[:16] + ".jpg")


# --------------------------------------------------------------------------- job bodies

# (start, end) of each stage in the job's progress
_FULL = {"unpack": (0.0, 0.05), "filter": (0.05, 0.2), "dedup": (0.2, 0.45), "previews": (0.45, 0.5),
         "crop": (0.5, 0.75), "caption": (0.75, 0.95), "package": (0.95, 1.0)}
_UNTIL_CROP = {"unpack": (0.0, 0.07), "filter": (0.07, 0.27), "dedup": (0.27, 0.6), "previews": (0.6, 0.67),
               "crop": (0.67, 1.0)}


def _spans(progress, table):
    from pipelines.progress import Span

    return {stage: Span(progress, a, b) for stage, (a, b) in table.items()}


def _write_previews(result, options, progress) -> None:
    from pipelines.photo_dataset import ImageLoadError, load_image

    todo = [r for r in result.records if r.path and r.status not in ("error", "skipped")]
    for i, r in enumerate(todo):
        progress.update(stage="previews", fraction=i / max(len(todo), 1), item=r.name)
        target = thumb_path(result.output_dir, r.name)
        target.parent.mkdir(exist_ok=True)
        try:
            load_image(Path(r.path), max_side=THUMB_SIDE, max_pixels=options.max_pixels).save(target, "JPEG", quality=85)
        except (ImageLoadError, OSError) as exc:
            progress.log(f"preview of {r.name}: {exc}")
    progress.update(stage="previews", fraction=1.0)


def _save_partial(result) -> None:
    from pipelines.photo_dataset import package

    result.manifest_path = package.write_manifest(result.output_dir, result.manifest())


def _link_zip(ctx, result) -> None:
    """The ZIP also among the job's outputs (a hard link, no copy), for the job panel's download."""
    if result.zip_path and Path(result.zip_path).is_file():
        target = ctx.outputs / f"{result.output_dir.name}.zip"
        target.unlink(missing_ok=True)
        try:
            os.link(result.zip_path, target)
        except OSError:
            shutil.copyfile(result.zip_path, target)


@contextmanager
def _manifest_on_cancel(result):
    """On cancel, write the manifest of what was done (the files stay), then stop."""
    from pipelines.progress import Cancelled

    try:
        yield
    except Cancelled:
        result.status = "cancelled"
        _save_partial(result)
        raise


def _done(ctx, result) -> dict[str, Any]:
    _link_zip(ctx, result)
    ctx.progress.update(stage="package", fraction=1.0, message=_summary(result))
    return _outputs(result)


def _outputs(result, **extra) -> dict[str, Any]:
    return {"dataset": result.output_dir.name, "counts": result.counts(), "clusters": len(result.clusters),
            "zip": str(result.zip_path) if result.zip_path else None, **extra}


@job_kind(BUILD, lane="cpu", title="Photo dataset")
def build(ctx) -> dict:
    from pipelines.photo_dataset import (DatasetResult, PhotoDatasetOptions, caption_step, crop_step, dedup_step,
                                   filter_step, package_step, unpack_step)

    name = ctx.params["name"]
    ref = ctx.params.get("api_key_ref")
    out = datasets.folder(name)
    # the runner deletes the key file once the job succeeds or is cancelled (jobs.secrets)
    options = PhotoDatasetOptions.from_dict(ctx.params["options"])
    options.caption.api_key = secrets.read(ref)
    options.check()
    chained = options.caption.provider == "local"
    span = _spans(ctx.progress, _UNTIL_CROP if chained else _FULL)
    inputs = sorted(p for p in ctx.inputs.iterdir() if p.is_file()) + [Path(p) for p in ctx.params.get("server_paths", [])]
    result = DatasetResult(output_dir=out, options=options.to_dict())
    with _manifest_on_cancel(result):
        unpack_step(result, inputs, options, span["unpack"])
        filter_step(result, options, span["filter"])
        dedup_step(result, options, span["dedup"])
        _write_previews(result, options, span["previews"])
        crop_step(result, options, span["crop"])
        if chained:
            result.stage = "caption"
            _save_partial(result)
            ctx.progress.update(stage="crop", fraction=1.0, message="captions queued in the GPU lane")
            job = queue.submit(CAPTION, {"name": name, "options": options.to_dict()}, owner=ctx.owner,
                               title=f"Captions for {name}")
            datasets.attach_job(name, job["id"])
            ctx.log(f"captions: job {job['id']} in the gpu lane")
            return _outputs(result, next_job=job["id"])
        caption_step(result, options, span["caption"])
        package_step(result, options, span["package"])
    return _done(ctx, result)


@job_kind(CAPTION, lane="gpu", title="Photo dataset captions")
def caption(ctx) -> dict:
    from pipelines.captions import load_captioner
    from pipelines.photo_dataset import PhotoDatasetOptions, caption_step, load_result, package_step
    from pipelines.progress import Span

    name = ctx.params["name"]
    result = load_result(datasets.folder(name))
    options = PhotoDatasetOptions.from_dict(ctx.params["options"])
    o = options.caption
    ctx.progress.update(stage="caption", fraction=0.0, message=f"caption model {o.local_model}")

    def load():
        ctx.log(f"loading caption model {o.local_model} (once per worker)")
        return load_captioner(o, log=ctx.log)

    captioner = ctx.model(f"captioner:{o.local_model}:{o.device}", load)
    with _manifest_on_cancel(result):
        caption_step(result, options, Span(ctx.progress, 0.0, 0.9), captioner)
        package_step(result, options, Span(ctx.progress, 0.9, 1.0))
    return _done(ctx, result)


@job_kind(REPACKAGE, lane="cpu", title="Photo dataset repackage")
def repackage(ctx) -> dict:
    from pipelines.captions import check_caption, compose_caption
    from pipelines.photo_dataset import PhotoDatasetOptions, crop_step, load_result, package_step
    from pipelines.progress import Span

    name = ctx.params["name"]
    flips, crops = ctx.params.get("flips") or {}, ctx.params.get("crops") or {}
    captions = ctx.params.get("captions") or {}
    result = load_result(datasets.folder(name))
    options = PhotoDatasetOptions.from_dict(result.options)
    # Caption edits are kept by source name: crop renumbers the NNNN outputs.
    by_output = {r.output: r.name for r in result.records if r.output}
    options.caption_overrides = {by_output.get(k, k): v for k, v in options.caption_overrides.items()}
    options.caption_overrides.update(captions)
    options.crop_overrides.update(crops)
    ctx.log(f"review: {len(flips)} flips, {len(crops)} crop boxes, {len(captions)} caption edits")
    with _manifest_on_cancel(result):
        if flips or crops:
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
            _detect_new(result, options, [n for n, s in flips.items() if s == "kept"], Span(ctx.progress, 0, 0.2))
            # Photos cropped before keep their box (the face detections are not in the manifest).
            keep_box = {r.name: (r.crop_box, r.focus) for r in result.kept()
                        if r.crop_box and r.name not in options.crop_overrides and r.name not in flips}
            user_overrides = dict(options.crop_overrides)
            options.crop_overrides = {**user_overrides, **{n: b for n, (b, _) in keep_box.items()}}
            for r in result.kept():
                r.warnings = [w for w in r.warnings if not w.startswith("crop override")]
            crop_step(result, options, Span(ctx.progress, 0.2, 0.8))
            options.crop_overrides = user_overrides
            for r in result.kept():
                r.warnings = list(dict.fromkeys(r.warnings))
            for n, (_, focus) in keep_box.items():
                result.record(n).focus = focus
            for r in result.kept():
                if r.output and not r.caption_source:  # newly kept: no generated caption
                    r.caption, r.caption_source = compose_caption("", options.caption), "none"
                    if r.name not in options.caption_overrides:
                        r.warnings.append("kept in review: its caption holds only the trigger word; edit it")
                    r.warnings += check_caption(r.caption, options.caption) if r.caption else []
        result.options = options.to_dict()
        package_step(result, options, Span(ctx.progress, 0.8, 1.0))
    return _done(ctx, result)


def _detect_new(result, options, names: list[str], progress) -> None:
    """Face / pose of photos kept in review, so their crop centres on the subject."""
    from pipelines.photo_dataset import ImageLoadError, load_image
    from pipelines.photo_dataset.photos import DETECT_SIDE
    from pipelines.photo_dataset.subjects import SubjectDetector

    if not names or not options.dedup.use_faces:
        return
    with SubjectDetector(options.dedup.insightface_model_dir, log=progress.log) as detector:
        for i, n in enumerate(names):
            progress.update(stage="dedup", fraction=i / len(names), item=n, message="faces of photos kept in review")
            r = result.record(n)
            try:
                subject = detector.detect(load_image(Path(r.path), max_side=DETECT_SIDE, max_pixels=options.max_pixels))
            except ImageLoadError as exc:
                r.status, r.reasons = "error", [str(exc)]
                continue
            result.subjects[n] = subject
            r.faces, r.pose = subject.faces, subject.pose is not None
            r.face_box = [round(v, 4) for v in subject.face] if subject.face else None


def _summary(result) -> str:
    c = result.counts()
    return f"{c['kept']} kept, {c['dropped']} dropped, {c['error']} errors, {c['skipped']} skipped"
