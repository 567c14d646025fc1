"""Frame review REST: the review (seed 001 ``/review``): the queue, everything
a reviewer needs for one recording, marks (by frame id or number) with their
history, single frames and candidate thumbnails.

One frame as JPEG is read in the request on purpose: a bounded single-frame
read (``jobs.tools.frames.viewer``), like serving a thumbnail.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, Response

from jobs.access import User
from jobs.tools.frames import records as fr
from jobs.tools.frames import viewer
from studio.api.frames import schemas as s
from studio.api.frames.common import (
    Caller,
    FrameIndex,
    Limit,
    Skip,
    VideoId,
    base_url,
    frame_caller,
)
from studio.api.frames.views import iso, marked_frame, parse_frame_id, review_view
from studio.auth import auth_enabled

router = APIRouter(tags=["review"])
FrameCaller = Annotated[User, Depends(frame_caller)]


@router.get(
    "/review/pending",
    response_model=list[s.VideoReviewResponse],
    summary="Your analysed recordings not yet confirmed by a reviewer",
)
def pending(
    request: Request,
    user: Caller,
    skip: Skip = 0,
    limit: Limit = 20,
    include_frames: bool = Query(False, description="also list every frame (all_frames)"),
) -> list[s.VideoReviewResponse]:
    base = base_url(request)
    return [
        review_view(v, user, base, include_frames=include_frames)
        for v in fr.list_pending(user, skip, limit)
    ]


@router.get(
    "/review/{video_id}",
    response_model=s.VideoReviewResponse,
    summary="Everything the reviewer needs for one recording",
)
def get_review(
    video_id: VideoId,
    request: Request,
    user: Caller,
    include_curve: bool = False,
    include_frames: bool = Query(True, description="list every frame (all_frames)"),
) -> s.VideoReviewResponse:
    video = fr.get_video(video_id, user)
    if not video.analysed:
        raise fr.Conflict(
            f"Recording {video_id} is {video.status}; review it once its analysis is done."
        )
    return review_view(video, user, base_url(request), include_curve, include_frames)


def _frame_number(video: fr.Video, fid: str | None, number: int | None, which: str) -> int | None:
    if fid is None:
        return number
    from_id = parse_frame_id(video, fid)
    if number is not None and number != from_id:
        raise fr.FrameInputError(
            f"{which}_frame_id {fid!r} and {which}_frame {number} name different frames; "
            "send one of them."
        )
    return from_id


@router.post(
    "/review/{video_id}/mark",
    response_model=s.FrameMarkingResponse,
    summary="Set the first/last frame (kept in the history)",
)
def mark(
    video_id: VideoId, body: s.FrameMarkingRequest, request: Request, user: Caller
) -> s.FrameMarkingResponse:
    video = fr.get_video(video_id, user)
    first = _frame_number(video, body.first_frame_id, body.first_frame, "first")
    last = _frame_number(video, body.last_frame_id, body.last_frame, "last")
    by_id = body.first_frame_id is not None or body.last_frame_id is not None
    method = body.method or (
        "manual" if by_id else None
    )  # seed 001: a reviewer's choice by id is manual
    reviewer = None if auth_enabled() else body.reviewer
    video = fr.mark(video_id, user, first, last, body.review_notes, method, reviewer=reviewer)
    base = base_url(request)
    return s.FrameMarkingResponse(
        video_id=video_id,
        status="reviewed" if video.review_status == "reviewed" else "in_review",
        message="Marked"
        if video.review_status == "reviewed"
        else "Marked; mark the other frame to finish",
        marking_method=video.marking_method,
        latency_ms=video.latency_ms,
        review_status=video.review_status,
        first_frame=marked_frame(video, "first", base),
        last_frame=marked_frame(video, "last", base),
    )


@router.get(
    "/review/{video_id}/history",
    response_model=list[s.MarkEntryOut],
    summary="Every change of the marks",
)
def mark_history(video_id: VideoId, user: Caller) -> list[s.MarkEntryOut]:
    return [s.MarkEntryOut(**{**h.to_dict(), "at": iso(h.at)}) for h in fr.history(video_id, user)]


@router.get(
    "/review/{video_id}/frame/{index}", summary="One frame as JPEG", response_class=Response
)
def frame(
    video_id: VideoId,
    index: FrameIndex,
    user: FrameCaller,
    max_side: int = Query(720, ge=32, le=4096),
) -> Response:
    data = viewer.frame_jpeg(fr.get_video(video_id, user), index, max_side)
    return Response(
        data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )


@router.get(
    "/review/{video_id}/thumbs/{name}", summary="A candidate thumbnail", response_class=FileResponse
)
def thumb(
    video_id: VideoId,
    user: FrameCaller,
    name: str = Path(max_length=100, pattern=r"^[A-Za-z0-9_.-]+$"),
) -> FileResponse:
    return FileResponse(
        viewer.thumbnail_path(fr.get_video(video_id, user), name), media_type="image/jpeg"
    )
