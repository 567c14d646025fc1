"""Issue 19.10: signed frame links of the review tab.

- An empty or short key file is never used to sign: a new key is written.
- A link carries no rights: when it is used, the user it names is looked up again. An
  admin who is no longer an admin, or a login that was removed, no longer opens another
  user's frames with an old link."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from jobs.access import User
from jobs.settings import reset_settings
from pipelines.frames.synthetic import Timeline, make_recording
from studio.api.frames import links
from tests.frames.app.conftest import wait_video
from tests.security.conftest import USERS, as_


def _forged(video_id: str, name: str, key: bytes) -> list[str]:
    """Tokens for ``name`` signed with ``key``, in the old and the current layout."""
    exp = int(time.time()) + 3600
    tokens = []
    for raw_msg, fields in [
        (f"{video_id}|{name}|1|{exp}", f"{name}|1|{exp}"),
        (f"link|{video_id}|{name}|{exp}", f"{name}|{exp}"),
    ]:
        mac = hmac.new(key, raw_msg.encode(), hashlib.sha256).hexdigest()[:32]
        tokens.append(base64.urlsafe_b64encode(f"{fields}|{mac}".encode()).decode().rstrip("="))
    return tokens


@pytest.mark.parametrize("content", [b"", b"short"])
def test_an_empty_or_short_key_file_is_replaced_by_a_new_key(logins, studio_home, content):
    path = studio_home / "secrets" / "frame-links.key"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    links._keys.clear()
    token = links.sign("vid1", User("alice"))
    assert len(path.read_bytes()) >= 32 and path.read_bytes() != content
    assert path.stat().st_mode & 0o777 == 0o600
    assert links.user_from("vid1", token) == User("alice")
    for forged in _forged("vid1", "root", content):
        assert links.user_from("vid1", forged) is None


@pytest.fixture
def alices_recording(secured, start_worker, tmp_path):
    start_worker()
    rec = make_recording(tmp_path / "login.mp4", fps=30, timeline=Timeline(tap=0.5, tail=0.5))
    with open(rec.path, "rb") as fh:
        up = secured.post(
            "/api/v1/video/upload",
            files={"file": ("login.mp4", fh, "video/mp4")},
            headers=as_("alice"),
        )
    assert up.status_code == 200, up.text
    vid = up.json()["video_id"]
    secured.headers.update(as_("alice"))
    assert wait_video(secured, vid)["status"] == "completed"
    secured.headers.clear()
    return vid


def test_a_link_is_checked_against_the_users_rights_now(secured, alices_recording, monkeypatch):
    vid = alices_recording
    frame = f"/api/v1/review/{vid}/frame/0"
    admin_link = links.sign(vid, User("root", True))
    alice_link = links.sign(vid, User("alice"))
    assert secured.get(frame, params={"t": admin_link}).status_code == 200
    assert secured.get(frame, params={"t": alice_link}).status_code == 200

    monkeypatch.setenv("STUDIO_ADMINS", "")  # root is no longer an admin
    reset_settings()
    resp = secured.get(frame, params={"t": admin_link})
    assert resp.status_code == 404, resp.text  # like any recording that is not theirs
    assert secured.get(frame, params={"t": alice_link}).status_code == 200  # still alice's

    others = {u: p for u, p in USERS.items() if u != "alice"}
    monkeypatch.setenv("STUDIO_AUTH", ",".join(f"{u}:{p}" for u, p in others.items()))
    monkeypatch.setenv("STUDIO_API_TOKENS", "tok-bob:bob")
    reset_settings()
    assert secured.get(frame, params={"t": alice_link}).status_code == 401  # login removed
