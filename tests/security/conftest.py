"""Three users for the access tests: alice and bob (plain users) and root (an admin)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from jobs.settings import reset_settings

USERS = {"alice": "pw-alice", "bob": "pw-bob", "root": "pw-root"}
TOKENS = {"alice": "tok-alice", "bob": "tok-bob", "root": "tok-root"}


@pytest.fixture
def logins(studio_home, monkeypatch):
    """A studio with logins: alice, bob, and the admin root."""
    monkeypatch.setenv("STUDIO_AUTH", ",".join(f"{u}:{p}" for u, p in USERS.items()))
    monkeypatch.setenv("STUDIO_API_TOKENS", ",".join(f"{t}:{u}" for u, t in TOKENS.items()))
    monkeypatch.setenv("STUDIO_ADMINS", "root")
    reset_settings()
    yield
    reset_settings()


@pytest.fixture
def secured(logins):
    """The app (REST + UI) with logins; ``as_(user)`` gives that user's headers."""
    from tests.conftest import studio_app

    with TestClient(studio_app()) as client:
        yield client


def as_(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[user]}"}


def ui_request(user: str) -> SimpleNamespace:
    """What a Gradio event receives as ``request`` for a logged-in user (its username)."""
    return SimpleNamespace(username=user)
