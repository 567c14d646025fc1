"""What a video dataset build made: its clips, the files and clips it left out (with
the reason), and the dataset files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.progress import Progress
from pipelines.video_dataset.probe import VideoProbe


@dataclass
class ClipRecord:
    number: int
    source: Path
    start: float
    end: float
    path: Path
    caption: str
    frames: int
    fps: float
    duration: float
    width: int
    height: int
    bucket: int | None
    warnings: list[str] = field(default_factory=list)


@dataclass
class SkippedFile:
    path: Path
    reason: str


@dataclass
class VideoDatasetResult:
    output_dir: Path
    clips: list[ClipRecord] = field(default_factory=list)
    skipped: list[SkippedFile] = field(
        default_factory=list
    )  # files or clips left out, with the reason
    probes: list[VideoProbe] = field(default_factory=list)
    dataset_toml: Path | None = None
    preview: Path | None = None
    zip_path: Path | None = None
    seconds: float = 0.0

    @property
    def total_duration(self) -> float:
        return sum(c.duration for c in self.clips)

    @property
    def warnings(self) -> list[str]:
        return [f"{c.number}.mp4 ({c.source.name}): {w}" for c in self.clips for w in c.warnings]

    def as_dict(self) -> dict:
        """JSON-ready summary for a job record's outputs."""
        return {
            "output_dir": str(self.output_dir),
            "clips": [
                {
                    "number": c.number,
                    "file": c.path.name,
                    "source": c.source.name,
                    "start": round(c.start, 3),
                    "end": round(c.end, 3),
                    "frames": c.frames,
                    "fps": c.fps,
                    "duration": round(c.duration, 3),
                    "width": c.width,
                    "height": c.height,
                    "bucket": c.bucket,
                    "caption": c.caption,
                    "warnings": c.warnings,
                }
                for c in self.clips
            ],
            "skipped": [{"file": s.path.name, "reason": s.reason} for s in self.skipped],
            "total_duration": round(self.total_duration, 3),
            "dataset_toml": str(self.dataset_toml) if self.dataset_toml else None,
            "preview": str(self.preview) if self.preview else None,
            "zip": str(self.zip_path) if self.zip_path else None,
            "seconds": round(self.seconds, 2),
        }


def skip(result: VideoDatasetResult, progress: Progress, path: Path, reason: str) -> None:
    result.skipped.append(SkippedFile(Path(path), reason))
    progress.log(f"skipped: {reason}")
