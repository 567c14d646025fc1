"""The logged-in user of a Gradio event (in the public demo: the browser's visitor)."""

from __future__ import annotations

import gradio as gr

from jobs.settings import get_settings
from studio.auth import User, user_named, visitor


def current_user(request: gr.Request | None) -> User:
    if get_settings().demo_mode:
        return user_named(visitor(_cookies(request)))
    return user_named(getattr(request, "username", None) if request is not None else None)


def _cookies(request: gr.Request | None) -> dict[str, str]:
    """The event's cookies (of the request that started it, also for queued events)."""
    http = getattr(request, "request", None) if request is not None else None
    if http is not None:
        return dict(http.cookies)
    kept = getattr(request, "kwargs", {}).get("cookies") if request is not None else None
    return dict(kept) if isinstance(kept, dict) else {}
