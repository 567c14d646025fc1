"""Issue 19.7: every upload route cleans file names through one rule
(``pipelines.names.file_name``): folders dropped; ``.``, ``..`` and empty names refused
with a 4xx that says so, never a 500; and a request whose later file fails leaves no
temporary folder behind."""

from __future__ import annotations

import pytest

from pipelines.errors import BadInput
from pipelines.names import file_name
from tests.security.conftest import as_

BAD_NAMES = ["..", ".", "../..", "clips/..", "\\..", " "]


def _leftovers(home) -> list[str]:
    return sorted(p.name for p in home.iterdir() if p.name.startswith("upload"))


def test_the_one_rule_drops_folders_and_refuses_dot_names():
    assert file_name("../../etc/passwd") == "passwd"
    assert file_name("C:\\Users\\me\\clip.mp4") == "clip.mp4"
    for bad in [*BAD_NAMES, "", None, "a\x00b.mp4", "x" * 256]:
        with pytest.raises(BadInput):
            file_name(bad)


def test_video_edit_upload_named_dot_dot_is_a_4xx_not_a_500(secured, studio_home):
    for name in BAD_NAMES:
        resp = secured.post(
            "/api/v1/video/edit",
            files={"file": (name, b"\x00" * 64, "video/mp4")},
            data={"mask_prompt": "the cup", "edit_prompt": "make it red"},
            headers=as_("alice"),
        )
        assert resp.status_code == 422, (name, resp.text)
        assert "file name" in resp.json()["detail"]
    assert _leftovers(studio_home) == []


def test_every_upload_route_refuses_dot_names(secured, studio_home):
    project = secured.post("/api/v1/dance/projects", json={"name": "p1"}, headers=as_("alice"))
    assert project.status_code in (200, 201), project.text
    pid = project.json()["id"]
    routes = [
        ("/api/v1/video/upload", "file", {}),
        ("/api/v1/datasets", "files", {"name": "set1"}),
        ("/api/v1/preprocessing/upload", "files", {"dataset_name": "set2"}),
        (f"/api/v1/dance/projects/{pid}/refs/upload", "file", {}),
        (f"/api/v1/dance/projects/{pid}/motions/upload", "file", {}),
    ]
    for path, field, data in routes:
        resp = secured.post(
            path,
            files={field: ("..", b"data", "application/octet-stream")},
            data=data,
            headers=as_("alice"),
        )
        assert resp.status_code == 422, (path, resp.status_code, resp.text)
        assert "file name" in resp.json()["detail"], path
    batch = secured.post(
        "/api/v1/video/batch-upload",
        files=[("files", ("..", b"data", "video/mp4"))],
        headers=as_("alice"),
    )
    assert batch.status_code == 200 and batch.json()["videos"][0]["status"] == "failed"
    assert "file name" in batch.json()["videos"][0]["message"]
    assert _leftovers(studio_home) == []


def test_a_later_bad_file_removes_the_files_saved_before(secured, studio_home):
    for path, data in [
        ("/api/v1/preprocessing/upload", {"dataset_name": "set3"}),
        ("/api/v1/datasets", {"name": "set4"}),
    ]:
        resp = secured.post(
            path,
            files=[
                ("files", ("first.mp4", b"x" * 4096, "video/mp4")),
                ("files", ("second.mp4", b"y" * 4096, "video/mp4")),
                ("files", ("..", b"z", "video/mp4")),
            ],
            data=data,
            headers=as_("alice"),
        )
        assert resp.status_code == 422, (path, resp.text)
        assert _leftovers(studio_home) == [], path
        assert not list(studio_home.rglob("first.mp4")), path
        assert not list(studio_home.rglob("second.mp4")), path
