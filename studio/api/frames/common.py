"""What every frame review route shares: path parameters with limits, the base
URL for absolute links, the caller of a frame request (a header or a signed link)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from jobs.access import User
from jobs.tools.frames.records import MAX_FRAME
from studio.api.frames import links
from studio.auth import api_user

VideoId = Annotated[
    str,
    Path(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="the recording's id"
    ),
]
TaskId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="the task's id")
]
FrameIndex = Annotated[int, Path(ge=0, le=MAX_FRAME, description="frame number, 0-based")]
Skip = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=500)]
Caller = Annotated[User, Depends(api_user)]


def base_url(request: Request) -> str:
    """The studio's own address as the client reached it (for absolute frame URLs)."""
    return str(request.base_url).rstrip("/")


def frame_caller(
    request: Request,
    video_id: VideoId,
    t: Annotated[
        str | None, Query(max_length=512, description="a signed link of the review tab")
    ] = None,
) -> User:
    """The browser's review viewer sends a signed link; everyone else authenticates as usual."""
    if t:
        user = links.user_from(video_id, t)
        if user is not None:
            return user
    return api_user(request)
