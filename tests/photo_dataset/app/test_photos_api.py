"""The photo Dataset builder through the REST API with a real worker: build from a ZIP,
hostile ZIP members reported per file, 409 / 422, manifest, download, review edits."""

from __future__ import annotations

import io
import json
import zipfile

from tests.conftest import wait_job
from tests.photo_dataset.app.conftest import OPTIONS, zip_names


def post(client, name, zip_path=None, options=OPTIONS, **form):
    files = (
        [("files", (zip_path.name, zip_path.read_bytes(), "application/zip"))] if zip_path else None
    )
    return client.post(
        "/api/v1/datasets", data={"name": name, "options": json.dumps(options), **form}, files=files
    )


def test_build_review_and_download_through_rest(client, start_worker, photos_zip):
    start_worker()
    created = post(client, "portraits", photos_zip)
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]
    assert created.json()["name"] == "portraits"

    again = post(client, "portraits", photos_zip)  # the name is reserved at submit
    assert again.status_code == 409 and "already exists" in again.json()["detail"]

    job = wait_job(job_id, timeout=120)
    assert job["status"] == "succeeded", job["error"]
    info = client.get("/api/v1/datasets/portraits").json()
    assert info["status"] == "succeeded" and info["job_id"] == job_id and info["progress"] == 1.0
    assert info["counts"]["kept"] == 4 and info["counts"]["dropped"] == 2
    assert info["download"] == "/api/v1/datasets/portraits/download"
    assert [d["name"] for d in client.get("/api/v1/datasets").json()] == ["portraits"]

    manifest = client.get("/api/v1/datasets/portraits/manifest").json()
    by_name = {f["name"]: f for f in manifest["files"]}
    # hostile members are reported one by one; the photos beside them were built
    reasons = " | ".join(
        f"{f['name']}: {'; '.join(f['reasons'])}"
        for f in manifest["files"]
        if f["status"] == "skipped"
    )
    for member in (
        "../evil.jpg",
        "/etc/evil.jpg",
        "photos/link.jpg",
        "photos/bomb.png",
        "photos/readme.pdf",
    ):
        assert member in reasons, reasons
    assert by_name["photos/astronaut_q40.jpg"]["status"] == "dropped"
    assert "near-duplicate" in by_name["photos/astronaut_q40.jpg"]["reasons"][0]
    cluster = next(c for c in manifest["clusters"] if "photos/astronaut_q40.jpg" in c["dropped"])
    assert len(cluster["kept"]) == 1

    zip_bytes = client.get("/api/v1/datasets/portraits/download")
    assert zip_bytes.status_code == 200
    names = zip_names(zip_bytes.content)
    pairs = [n for n in names if n[:4].isdigit()]
    assert pairs == [
        "0001.jpg",
        "0001.txt",
        "0002.jpg",
        "0002.txt",
        "0003.jpg",
        "0003.txt",
        "0004.jpg",
        "0004.txt",
    ]
    assert "manifest.json" in names and "dataset.toml" in names
    assert (
        zipfile.ZipFile(io.BytesIO(zip_bytes.content)).read("0001.txt").decode().startswith("ohwx")
    )

    # review: keep a dropped duplicate, rewrite a caption (by output name)
    edited = client.post(
        "/api/v1/datasets/portraits/edits",
        json={
            "flips": {"photos/astronaut_q40.jpg": "kept"},
            "captions": {"0002.jpg": "ohwx, a cup of coffee on a saucer"},
        },
    )
    assert edited.status_code == 201, edited.text
    second = wait_job(edited.json()["job_id"], timeout=90)
    assert second["status"] == "succeeded", second["error"]
    assert client.get("/api/v1/datasets/portraits").json()["job_id"] == second["id"]
    manifest = client.get("/api/v1/datasets/portraits/manifest").json()
    by_name = {f["name"]: f for f in manifest["files"]}
    assert by_name["photos/astronaut_q40.jpg"]["status"] == "kept"
    coffee_source = next(
        n for n, f in by_name.items() if f["caption"] == "ohwx, a cup of coffee on a saucer"
    )
    archive = zipfile.ZipFile(io.BytesIO(client.get("/api/v1/datasets/portraits/download").content))
    assert len([n for n in archive.namelist() if n.endswith(".jpg")]) == 5
    coffee_out = by_name[coffee_source]["output"]
    assert (
        archive.read(coffee_out.replace(".jpg", ".txt")).decode().strip()
        == "ohwx, a cup of coffee on a saucer"
    )
    assert by_name["photos/astronaut_q40.jpg"]["caption"].startswith("ohwx")
    cluster = next(c for c in manifest["clusters"] if "photos/astronaut_q40.jpg" in c["kept"])
    assert len(cluster["kept"]) == 2

    # edits that do not fit are refused with a message
    bad = client.post("/api/v1/datasets/portraits/edits", json={"flips": {"nope.jpg": "kept"}})
    assert bad.status_code == 422 and "nope.jpg" in bad.json()["detail"]
    skipped = next(f["name"] for f in manifest["files"] if f["status"] == "skipped")
    bad = client.post("/api/v1/datasets/portraits/edits", json={"flips": {skipped: "kept"}})
    assert bad.status_code == 422 and "cannot be kept" in bad.json()["detail"]
    assert client.delete("/api/v1/datasets/portraits").status_code == 204
    assert client.get("/api/v1/datasets/portraits").status_code == 404


def test_bad_requests_get_clear_messages(client, small_zip, tmp_path, monkeypatch):
    r = post(client, "x", small_zip, options={"dedup": {"keep_per_cluster": "two"}})
    assert r.status_code == 422 and "dedup.keep_per_cluster" in r.json()["detail"]
    r = post(client, "x", small_zip, options={"dedup": {"face_sim": 0.5}})
    assert r.status_code == 422 and "unknown option dedup.face_sim" in r.json()["detail"]
    r = post(client, "x", small_zip, options={"caption": {"provider": "api"}})
    assert r.status_code == 422 and "base URL" in r.json()["detail"]
    r = post(client, "x", small_zip, options="{not json")
    assert r.status_code == 422
    r = post(client, "../etc", small_zip)
    assert r.status_code == 422 and "not allowed" in r.json()["detail"]
    r = post(client, "nothing")
    assert r.status_code == 422 and "Give photos" in r.json()["detail"]
    r = post(client, "outside", server_path="/etc")
    assert r.status_code == 422 and "STUDIO_ALLOWED_ROOTS" in r.json()["detail"]
    assert client.get("/api/v1/datasets").json() == []  # nothing half-created
    assert client.get("/api/v1/datasets/missing").status_code == 404
