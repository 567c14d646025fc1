"""Issue 9 for photo datasets: alice, bob and an admin each reach only what they may
(REST reads and writes, and the tab's events), a link in a server folder that leads
outside the allowed folders is left out with the reason, bad input is a 4xx."""

from __future__ import annotations

import json
import shutil

import pytest

from jobs import datasets
from jobs.access import User
from jobs.settings import reset_settings
from tests.conftest import wait_job
from tests.photo_dataset.app.conftest import OPTIONS, photo_bytes

ALICE, BOB, ROOT = ({"Authorization": f"Bearer {t}"} for t in ("tok-alice", "tok-bob", "tok-root"))


@pytest.fixture
def users(monkeypatch, studio_home):
    monkeypatch.setenv("STUDIO_API_TOKENS", "tok-alice:alice,tok-bob:bob,tok-root:root")
    monkeypatch.setenv("STUDIO_ADMINS", "root")
    reset_settings()


@pytest.fixture
def built(users, client, start_worker, small_zip):
    start_worker()
    files = [("files", (small_zip.name, small_zip.read_bytes(), "application/zip"))]
    r = client.post(
        "/api/v1/datasets",
        headers=ALICE,
        files=files,
        data={"name": "alice_set", "options": json.dumps(OPTIONS)},
    )
    assert r.status_code == 201, r.text
    assert wait_job(r.json()["job_id"], timeout=120)["status"] == "succeeded"
    return "alice_set"


@pytest.mark.slow
def test_bob_cannot_read_or_change_alices_dataset_an_admin_can(client, built):
    base = f"/api/v1/datasets/{built}"
    for path in ("", "/manifest", "/download"):
        assert client.get(base + path, headers=BOB).status_code == 404, path
    edits = {"captions": {"0001.jpg": "ohwx, bob was here"}}
    assert client.post(base + "/edits", headers=BOB, json=edits).status_code == 404
    assert client.delete(base, headers=BOB).status_code == 404
    assert client.get("/api/v1/datasets", headers=BOB).json() == []
    assert [d["name"] for d in client.get("/api/v1/datasets", headers=ALICE).json()] == [built]
    assert [d["name"] for d in client.get("/api/v1/datasets?owner=alice", headers=ROOT).json()] == [
        built
    ]
    assert client.get(base + "/manifest?owner=alice", headers=ROOT).status_code == 200
    assert client.get(base + "/download", headers=ALICE).status_code == 200

    # the tab's events read through the same check
    from studio.tabs import photo_dataset as tab

    assert (
        tab.review_for(built, User("bob"))[1] == []
        and "not yours" in tab.review_for(built, User("bob"))[0]
    )
    assert tab.review_for(built, User("alice"))[1]

    # bad edits are 422 with the reason, never a 500
    for bad in (
        {"crops": {"0001.jpg": [0, 0, 1e308, 5]}},
        {"captions": {"0001.jpg": "a\x00b"}},
        {"captions": {"0001.jpg": "x" * 2001}},
        {"flips": {"nope.jpg": "kept"}},
        {"colour": {}},
    ):
        r = client.post(base + "/edits", headers=ALICE, json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert client.delete(base, headers=ALICE).status_code == 204


def test_bad_names_and_options_are_4xx(client, users, small_zip):
    files = [("files", (small_zip.name, small_zip.read_bytes(), "application/zip"))]
    for name, options in (
        ("x" * 65, {}),
        ("a\x00b", {}),
        ("ok", {"caption": {"trigger": "a\nb"}}),
        ("ok", {"quality": {"min_side": 10**30}}),
        ("ok", {"caption": {"prefix": "p" * 501}}),
        ("ok", "[" * 5000),
    ):
        data = {
            "name": name,
            "options": options if isinstance(options, str) else json.dumps(options),
        }
        r = client.post("/api/v1/datasets", headers=ALICE, files=files, data=data)
        assert 400 <= r.status_code < 500, (
            name[:10],
            options if isinstance(options, dict) else "deep",
            r.text,
        )
    assert datasets.list_all(User("root", True)) == []


@pytest.mark.slow
def test_a_link_leading_outside_the_allowed_folders_is_left_out(
    client, start_worker, tmp_path, monkeypatch, studio_home
):
    root = tmp_path / "server"
    (root / "shoot").mkdir(parents=True)
    private = tmp_path / "private"
    private.mkdir()
    data = photo_bytes()
    (root / "shoot" / "coffee.jpg").write_bytes(data["photos/coffee.jpg"])
    (root / "shoot" / "chelsea.jpg").write_bytes(data["photos/chelsea.jpg"])
    (private / "secret.jpg").write_bytes(data["photos/rocket.jpg"])
    (root / "shoot" / "secret.jpg").symlink_to(private / "secret.jpg")
    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(root))
    reset_settings()
    start_worker()
    r = client.post(
        "/api/v1/datasets",
        data={"name": "linked", "server_path": str(root / "shoot"), "options": json.dumps(OPTIONS)},
    )
    assert r.status_code == 201, r.text
    assert wait_job(r.json()["job_id"], timeout=120)["status"] == "succeeded"
    files = {f["name"]: f for f in client.get("/api/v1/datasets/linked/manifest").json()["files"]}
    assert files["secret.jpg"]["status"] == "skipped"
    assert "outside the allowed server folders" in files["secret.jpg"]["reasons"][0]
    assert {n for n, f in files.items() if f["status"] == "kept"} == {"coffee.jpg", "chelsea.jpg"}
    shutil.rmtree(root)
