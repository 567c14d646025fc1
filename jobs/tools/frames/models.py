"""The frame review's typed records (seed 001): a recording as stored
(:class:`Video`) and one change of a mark (:class:`MarkEntry`). Their rows are
read and written in :mod:`.repository`; what they mean in :mod:`.records`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

_JSON = {"info": "{}", "detection": "{}", "exclusions": "[]", "warnings": "[]"}


@dataclass
class Video:
    """One recording as stored: what the REST views and the tab read."""

    id: str
    filename: str
    owner: str
    path: str
    status: str
    created_at: float
    updated_at: float
    source_path: str | None = None
    batch_id: str | None = None
    current_step: str | None = None
    error: str | None = None
    job_id: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    detection: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    frame_count: int | None = None
    first_frame: int | None = None
    first_time: float | None = None
    last_frame: int | None = None
    last_time: float | None = None
    marking_method: str | None = None
    ai_confidence: float | None = None
    review_status: str = "pending"
    reviewed_by: str | None = None
    reviewed_at: float | None = None
    notes: str = ""
    exclusions: list[dict[str, float]] = field(default_factory=list)
    status_bar: float | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Video:
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in row.items() if k in names}
        for k, empty in _JSON.items():
            if isinstance(data.get(k), str) or data.get(k) is None:
                data[k] = json.loads(data.get(k) or empty)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def mark_frame(self, which: str) -> int | None:
        return self.first_frame if which == "first" else self.last_frame

    def mark_time(self, which: str) -> float | None:
        return self.first_time if which == "first" else self.last_time

    def candidates(self, which: str) -> list[dict[str, Any]]:
        return list((self.detection or {}).get(f"{which}_candidates") or [])

    @property
    def latency_ms(self) -> float | None:
        if self.first_time is None or self.last_time is None:
            return None
        return round((self.last_time - self.first_time) * 1000.0, 3)

    @property
    def analysed(self) -> bool:
        return self.status == "completed"

    @property
    def needs_review(self) -> bool:
        """Analysed and not yet confirmed by a reviewer (both marks)."""
        return self.analysed and self.review_status != "reviewed"

    @property
    def report_status(self) -> str:
        """The status a report shows: 'reviewed' once a person confirmed it, else the processing status."""
        return "reviewed" if self.analysed and self.review_status == "reviewed" else self.status


@dataclass
class MarkEntry:
    """One change of a mark: who, when, which mark, from → to, how."""

    id: int
    video_id: str
    which: str
    method: str
    user: str
    at: float
    from_frame: int | None = None
    from_time: float | None = None
    to_frame: int | None = None
    to_time: float | None = None
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
