"""The frame review API's request and response shapes (seed 001's models, with
the studio's own fields beside them). Names, lengths and number ranges are
limited here, so the OpenAPI page shows them and bad input is a 422, never a 500."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from jobs.tools.frames.records import MAX_FRAME, NOTES_MAX
from jobs.tools.frames.tasks import DESCRIPTION_MAX, NAME_MAX
from pipelines.names import MULTI_LINE, ONE_LINE

ID = Field(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
VideoStatus = Literal["uploading", "processing", "completed", "failed", "cancelled"]


class Exclusion(BaseModel):
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    w: float = Field(gt=0, le=1)
    h: float = Field(gt=0, le=1)


class ExclusionsIn(BaseModel):
    exclusions: list[Exclusion] = Field(
        default_factory=list, max_length=50, description="rectangles x, y, w, h (fractions 0..1)"
    )
    status_bar: float | None = Field(
        None, ge=0, lt=1, description="top share of the screen always excluded (default 0.05)"
    )


class ServerFilesIn(BaseModel):
    path: str = Field(
        min_length=1,
        max_length=4096,
        pattern=ONE_LINE,
        description="a recording or a folder of recordings inside STUDIO_ALLOWED_ROOTS",
    )


class VideoUploadResponse(BaseModel):
    video_id: str | None
    task_id: str | None = Field(description="the analysis job's id (seed: the Celery task id)")
    status: str = Field(
        description="'uploading' once the analysis is queued; 'failed' when the file was refused"
    )
    message: str
    job_id: str | None = None
    filename: str | None = None


class BatchUploadResponse(BaseModel):
    batch_id: str
    total_count: int
    accepted_count: int
    videos: list[VideoUploadResponse]
    skipped: list[str] = Field(default_factory=list, description="server files left out, and why")
    message: str


class FrameRef(BaseModel):
    id: str = Field(description="frame id: '<video_id>_<frame_number>'")
    type: Literal["first", "last"]
    url: str
    timestamp: float | None
    frame_number: int


class VideoStatusResponse(BaseModel):
    video_id: str
    filename: str
    status: VideoStatus
    duration: float | None
    fps: float | None
    width: int | None
    height: int | None
    task_id: str | None
    error_message: str | None
    frames: list[FrameRef]
    progress: int
    current_step: str | None
    created_at: str = Field(description="ISO 8601, UTC")
    updated_at: str
    job_id: str | None = None
    batch_id: str | None = None
    frame_count: int | None = None
    first_frame: int | None = None
    last_frame: int | None = None
    first_time: float | None = None
    last_time: float | None = None
    latency_ms: float | None = None
    marking_method: str | None = None
    ai_confidence: float | None = None
    needs_review: bool = False
    review_status: str = "pending"
    reviewed_by: str | None = None
    warnings: list[str] = Field(default_factory=list)
    exclusions: list[dict[str, float]] = Field(default_factory=list)
    owner: str


class TaskProgress(BaseModel):
    video_id: str
    task_id: str | None
    status: VideoStatus
    progress: int
    current_step: str | None
    error_message: str | None
    job_id: str | None = None


class CancelTaskResponse(BaseModel):
    video_id: str
    task_id: str | None
    status: str
    message: str


class Message(BaseModel):
    message: str


class TaskCreate(BaseModel):
    name: str = Field(
        min_length=1, max_length=NAME_MAX, pattern=ONE_LINE, examples=["Cold start, build 812"]
    )
    description: str = Field("", max_length=DESCRIPTION_MAX, pattern=MULTI_LINE)
    created_by: str | None = Field(
        None,
        max_length=100,
        pattern=ONE_LINE,
        description="kept only for an admin (or an open studio): otherwise the caller",
    )


class TaskUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=NAME_MAX, pattern=ONE_LINE)
    description: str | None = Field(None, max_length=DESCRIPTION_MAX, pattern=MULTI_LINE)


class VideoAddToTask(BaseModel):
    video_ids: list[str] = Field(min_length=1, max_length=1000)
    notes: str = Field("", max_length=NOTES_MAX, pattern=MULTI_LINE)


class VideoAddResponse(BaseModel):
    message: str
    added_count: int
    added: list[str]
    failed_videos: list[dict[str, str]]


class TaskOrder(BaseModel):
    video_ids: list[str] = Field(
        min_length=1, max_length=1000, description="the task's recordings in the wanted order"
    )


class TaskResponse(BaseModel):
    id: str
    name: str
    description: str
    status: Literal["draft", "processing", "completed", "failed"]
    total_videos: int
    completed_videos: int
    failed_videos: int
    processing_videos: int
    total_duration: float | None = Field(description="seconds, sum of first→last")
    avg_duration: float | None
    min_duration: float | None
    max_duration: float | None
    exclusions: list[dict[str, float]]
    created_by: str
    created_at: str
    updated_at: str


class TaskVideo(BaseModel):
    id: str = Field(description="the task-video link: '<task_id>_<video_id>'")
    video_id: str
    order: int
    duration: float | None = Field(description="first→last in seconds")
    first_frame_time: float | None
    last_frame_time: float | None
    notes: str | None
    added_at: str
    video_filename: str
    video_status: str
    video_width: int | None
    video_height: int | None
    first_frame_url: str | None
    last_frame_url: str | None
    first_frame_id: str | None = None
    last_frame_id: str | None = None
    first_frame: int | None = None
    last_frame: int | None = None
    latency_ms: float | None = None
    marking_method: str | None = None


class TaskDetailResponse(TaskResponse):
    videos: list[TaskVideo]


class TaskStatsResponse(BaseModel):
    task_id: str
    task_name: str
    total_videos: int
    completed_videos: int
    processing_videos: int
    failed_videos: int
    total_duration: float | None
    avg_duration: float | None
    min_duration: float | None
    max_duration: float | None
    total_frames: int | None
    avg_frames_per_video: float | None
    count: int
    completed: int
    failed: int
    processing: int
    reviewed: int
    measured: int
    total_ms: float | None
    avg_ms: float | None
    min_ms: float | None
    max_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    avg_frames: float | None
    min_frames: int | None
    max_frames: int | None
    p50_frames: float | None
    p90_frames: float | None


class FrameDetail(BaseModel):
    id: str = Field(description="frame id: '<video_id>_<frame_number>'")
    frame_number: int
    timestamp: float | None
    url: str
    frame_type: Literal["first", "last", "middle"]
    is_first_candidate: bool
    is_last_candidate: bool = False
    confidence_score: float | None = None
    brightness: float | None = None
    sharpness: float | None = None
    scene_change_score: float | None = None
    reason: str | None = None
    thumbnail_url: str | None = None


class MarkEntryOut(BaseModel):
    id: int
    which: Literal["first", "last"]
    from_frame: int | None
    from_time: float | None
    to_frame: int | None
    to_time: float | None
    method: str
    user: str
    notes: str
    at: str


class Curve(BaseModel):
    time: list[float]
    change: list[float]
    brightness: list[float]


class VideoReviewResponse(BaseModel):
    video_id: str
    filename: str
    status: str
    total_frames: int | None
    extracted_frames: int | None = Field(
        description="frames analysed (every frame of the recording)"
    )
    marking_method: str | None
    ai_confidence: float | None
    marked_first_frame: FrameDetail | None
    marked_last_frame: FrameDetail | None
    first_candidates: list[FrameDetail]
    last_candidates: list[FrameDetail]
    all_frames: list[FrameDetail] = Field(
        description="every frame (empty with include_frames=false)"
    )
    needs_review: bool
    reviewed_by: str | None
    reviewed_at: str | None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    latency_ms: float | None = None
    review_status: str = "pending"
    review_notes: str = ""
    exclusions: list[dict[str, float]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    history: list[MarkEntryOut] = Field(default_factory=list)
    curve: Curve | None = None


class FrameMarkingRequest(BaseModel):
    first_frame_id: str | None = Field(
        None,
        max_length=80,
        pattern=r"^[A-Za-z0-9]+_\d{1,8}$",
        description="id of the first frame (from GET /review/{video_id})",
    )
    last_frame_id: str | None = Field(
        None, max_length=80, pattern=r"^[A-Za-z0-9]+_\d{1,8}$", description="id of the last frame"
    )
    first_frame: int | None = Field(
        None, ge=0, le=MAX_FRAME, description="or the frame number (0-based)"
    )
    last_frame: int | None = Field(
        None, ge=0, le=MAX_FRAME, description="or the frame number (0-based)"
    )
    reviewer: str | None = Field(
        None,
        max_length=100,
        pattern=ONE_LINE,
        description="ignored when the studio has logins: the caller is the reviewer",
    )
    review_notes: str | None = Field(None, max_length=NOTES_MAX, pattern=MULTI_LINE)
    method: Literal["manual", "hybrid"] | None = Field(
        None,
        description="seed 001: 'manual' when frames are given by id; with frame numbers, empty means "
        "'hybrid' when the frame is (next to) a detector candidate, else 'manual'",
    )


class FrameMarkingResponse(BaseModel):
    video_id: str
    status: str
    message: str
    first_frame: FrameDetail | None
    last_frame: FrameDetail | None
    marking_method: str | None = None
    latency_ms: float | None = None
    review_status: str = "pending"


class JobQueued(BaseModel):
    job_id: str
    status: str
    video_ids: list[str] | None = None
    message: str | None = None
