"""Server paths must lie inside STUDIO_ALLOWED_ROOTS; uploads obey the size limit."""

from __future__ import annotations

import os

import pytest

from jobs.inputs import InputError, check_size, server_path
from jobs.settings import reset_settings


def test_server_paths_are_off_without_allowed_roots(studio_home):
    with pytest.raises(InputError, match="STUDIO_ALLOWED_ROOTS"):
        server_path("/etc")


def test_server_path_inside_outside_and_through_a_link(studio_home, tmp_path, monkeypatch):
    allowed = tmp_path / "photos"
    (allowed / "set1").mkdir(parents=True)
    outside = tmp_path / "private"
    outside.mkdir()
    (allowed / "escape").symlink_to(outside)
    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(allowed))
    reset_settings()
    assert server_path(allowed / "set1") == (allowed / "set1").resolve()
    with pytest.raises(InputError, match="outside the allowed"):
        server_path(outside)
    with pytest.raises(InputError, match="outside the allowed"):
        server_path(f"{allowed}/../private")
    with pytest.raises(InputError, match="outside the allowed"):
        server_path(allowed / "escape")  # a link out of the root does not count as inside
    with pytest.raises(InputError, match="does not exist"):
        server_path(allowed / "nope")


def test_upload_size_limit(studio_home, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_MAX_UPLOAD_MB", "1")
    reset_settings()
    big = tmp_path / "big.mp4"
    big.write_bytes(os.urandom(2 * 2**20))
    with pytest.raises(InputError, match="limit is 1 MB"):
        check_size(big)
    small = tmp_path / "small.mp4"
    small.write_bytes(b"x" * 1000)
    check_size(small)
