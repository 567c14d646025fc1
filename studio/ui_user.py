"""The logged-in user of a Gradio event."""

from __future__ import annotations

import gradio as gr

from studio.auth import User, user_named


def current_user(request: gr.Request | None) -> User:
    return user_named(getattr(request, "username", None) if request is not None else None)
