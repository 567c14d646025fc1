"""What a photo dataset build made: one record per source file (kept, dropped or error,
with the reasons), the clusters of near-duplicates, and the manifest that stores them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from . import package
from .build_options import PhotoDatasetError
from .subjects import Subject


@dataclass
class PhotoRecord:
    """One source file and what happened to it (one manifest entry)."""

    name: str
    path: str = ""
    status: str = "pending"  # pending | kept | dropped | error | skipped
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    width: int = 0
    height: int = 0
    sharpness: float | None = None
    brightness: float | None = None
    phash: str = ""
    faces: int = 0
    face_box: list[float] | None = None  # normalised
    pose: bool = False
    cluster: int | None = None
    focus: str = ""  # face+pose | face | pose | saliency | centre | override
    crop_box: list[int] | None = None  # upright full-size pixels
    output: str = ""  # "0001.jpg" in the output folder
    caption: str = ""
    caption_source: str = ""  # none | local | api | edited


@dataclass
class Cluster:
    id: int
    kept: list[str]
    dropped: list[str]


@dataclass
class DatasetResult:
    output_dir: Path
    records: list[PhotoRecord] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    stage: str = ""
    status: str = "running"  # running | complete | cancelled
    manifest_path: Path | None = None
    zip_path: Path | None = None
    subjects: dict[str, Subject] = field(default_factory=dict, repr=False)  # not in the manifest

    def kept(self) -> list[PhotoRecord]:
        return [r for r in self.records if r.status == "kept"]

    def record(self, name: str) -> PhotoRecord:
        return next(r for r in self.records if r.name == name or (r.output and r.output == name))

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ("kept", "dropped", "error", "skipped", "pending")}
        for r in self.records:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def manifest(self) -> dict:
        return {
            "version": 1,
            "kind": "photo_dataset",
            "status": self.status,
            "stage": self.stage,
            "counts": self.counts(),
            "options": self.options,
            "clusters": [asdict(c) for c in self.clusters],
            "files": [asdict(r) for r in self.records],
        }


def load_result(output_dir: Path) -> DatasetResult:
    """The result of an earlier run, from its manifest.json (for re-running later steps)."""
    output_dir = Path(output_dir)
    path = output_dir / package.MANIFEST
    if not path.exists():
        raise PhotoDatasetError(f"{path} not found: build the dataset first")
    data = json.loads(path.read_text())
    known = {f.name for f in fields(PhotoRecord)}
    records = [
        PhotoRecord(**{k: v for k, v in item.items() if k in known})
        for item in data.get("files", [])
    ]
    return DatasetResult(
        output_dir=output_dir,
        records=records,
        options=data.get("options", {}),
        clusters=[Cluster(**c) for c in data.get("clusters", [])],
        stage=data.get("stage", ""),
        status=data.get("status", ""),
        manifest_path=path,
    )


def filter_summary(result: DatasetResult) -> dict[str, int]:
    """How many photos each quality rule dropped: {"too small": 14, "too blurry": 1}."""
    out: dict[str, int] = {}
    for r in result.records:
        if r.status == "dropped":
            for reason in r.reasons:
                if reason.startswith("too "):
                    key = reason.split(":", 1)[0]
                    out[key] = out.get(key, 0) + 1
    return out


def summary(result: DatasetResult) -> str:
    """One line for the job panel: counts, and what the quality filter dropped and why."""
    c = result.counts()
    text = f"{c['kept']} kept, {c['dropped']} dropped, {c['error']} errors, {c['skipped']} skipped"
    filtered = filter_summary(result)
    if filtered:
        text += " (quality filter: " + ", ".join(f"{n} {why}" for why, n in filtered.items()) + ")"
    return text
