"""Issue 19, point 1: names are per owner, and a job is bound to the record it was made for.

Two users each have their own ``v1``; another user's dataset answers like a missing
one (the name check, the 409, the reads); and a job retried after its dataset was
deleted and the name taken again never touches the new dataset: the retry is refused,
and a job that runs anyway stops before it reads, writes or deletes anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jobs import datasets, store
from jobs.access import User
from jobs.settings import reset_settings
from tests.conftest import wait_job
from tests.security.conftest import as_

PHOTO_OPTIONS = json.dumps(
    {"quality": {"min_side": 128}, "crop": {"size": 128}, "caption": {"trigger": "ohwx"}}
)


@pytest.fixture(scope="module")
def server_videos(tmp_path_factory) -> Path:
    """The allowed server folder, with two short videos in ``videos/``: read by every test
    of the module (the same settings each time, so one web app serves them)."""
    from tests.video_dataset.video_media import make_testsrc

    root = tmp_path_factory.mktemp("names") / "server"
    (root / "videos").mkdir(parents=True)
    make_testsrc(root / "videos" / "a.mp4", 30, 1.0)
    make_testsrc(root / "videos" / "b.mp4", 30, 1.0)
    return root


@pytest.fixture
def server_root(studio_home, monkeypatch, server_videos) -> Path:
    root = server_videos
    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(root))
    reset_settings()
    return root


@pytest.fixture
def client(server_root, secured):
    return secured


def _photos(seed: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    rng = np.random.default_rng(seed)
    files = []
    for i in range(2):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)).save(buf, "JPEG")
        files.append(("files", (f"p{seed}_{i}.jpg", buf.getvalue(), "image/jpeg")))
    return files


def _new_photos(client, user: str, name: str, seed: int) -> str:
    r = client.post(
        "/api/v1/datasets",
        headers=as_(user),
        files=_photos(seed),
        data={"name": name, "options": PHOTO_OPTIONS},
    )
    assert r.status_code == 201, r.text
    return r.json()["job_id"]


def _new_videos(client, user: str, name: str, server_root: Path) -> str:
    r = client.post(
        "/api/v1/preprocessing/start",
        headers=as_(user),
        json={
            "dataset_name": name,
            "input_path": str(server_root / "videos"),
            "options": {"make_zip": True},
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["task_id"]


def _folder(name: str, user: str) -> Path:
    return Path(datasets.get(name, User(user))["path"])


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its content digest and inode (a rewrite shows)."""
    return {
        str(
            p.relative_to(folder)
        ): f"{hashlib.sha256(p.read_bytes()).hexdigest()}:{p.stat().st_ino}"
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _cancel_and_delete(client, user: str, job_id: str, delete_path: str) -> None:
    assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=as_(user)).status_code == 200
    assert store.get_job(job_id)["status"] == "cancelled"
    r = client.delete(delete_path, headers=as_(user))
    assert r.status_code == 204, r.text


# --------------------------------------------------------------------------- per-owner names


def test_two_users_each_have_their_own_v1_photo_and_video_dataset(client, server_root):
    _new_photos(client, "alice", "v1", 1)
    _new_photos(client, "bob", "v1", 2)  # a 409 when names were global
    _new_videos(client, "alice", "clips", server_root)
    _new_videos(client, "bob", "clips", server_root)
    assert _folder("v1", "alice") != _folder("v1", "bob")
    assert _folder("clips", "alice") != _folder("clips", "bob")
    for user in ("alice", "bob"):
        photos = client.get("/api/v1/datasets", headers=as_(user)).json()
        assert [(d["name"], d["owner"]) for d in photos] == [("v1", user)]
        one = client.get("/api/v1/datasets/v1", headers=as_(user)).json()
        assert one["owner"] == user
        videos = client.get("/api/v1/preprocessing/datasets", headers=as_(user)).json()
        assert [(d["name"], d["owner"]) for d in videos["datasets"]] == [("clips", user)]
        clips = client.get("/api/v1/preprocessing/datasets/clips", headers=as_(user)).json()
        assert clips["owner"] == user
    # bob's delete acts on his own v1 (409: its build is queued), never on alice's
    assert client.delete("/api/v1/datasets/v1", headers=as_("bob")).status_code == 409
    assert client.get("/api/v1/datasets/v1", headers=as_("alice")).json()["owner"] == "alice"
    # an admin sees both, and reaches one by naming its owner
    everyone = client.get("/api/v1/datasets", headers=as_("root")).json()
    assert sorted(d["owner"] for d in everyone) == ["alice", "bob"]
    got = client.get("/api/v1/datasets/v1?owner=bob", headers=as_("root")).json()
    assert got["owner"] == "bob"
    assert client.get("/api/v1/datasets/v1?owner=bob", headers=as_("alice")).status_code == 404


def test_the_name_check_the_409_and_reads_answer_another_users_name_like_a_missing_one(
    client, server_root
):
    _new_videos(client, "alice", "taken", server_root)
    base = "/api/v1/preprocessing"

    def answer(method: str, path: str, name: str, **kw) -> tuple[int, str]:
        r = client.request(method, path.format(name=name), headers=as_("bob"), **kw)
        return r.status_code, r.text.replace(name, "NAME")

    for method, path in (
        ("GET", base + "/check/{name}"),
        ("GET", base + "/datasets/{name}"),
        ("GET", base + "/datasets/{name}/download"),
        ("DELETE", base + "/datasets/{name}"),
        ("GET", "/api/v1/datasets/{name}"),
        ("GET", "/api/v1/datasets/{name}/manifest"),
    ):
        assert answer(method, path, "taken") == answer(method, path, "never"), path
    assert client.get(f"{base}/check/taken", headers=as_("bob")).json()["exists"] is False
    assert client.get(f"{base}/check/taken", headers=as_("alice")).json()["exists"] is True
    # a 409 only for the caller's own name
    again = {"dataset_name": "taken", "input_path": str(server_root / "videos")}
    assert client.post(f"{base}/start", headers=as_("alice"), json=again).status_code == 409
    assert client.post(f"{base}/start", headers=as_("bob"), json=again).status_code == 201


# --------------------------------------------------------------------------- retry after delete


@pytest.mark.slow
def test_retrying_a_photo_job_after_its_dataset_went_never_touches_another_users_v1(
    client, start_worker
):
    old = _new_photos(client, "bob", "v1", 2)  # queued: no worker yet
    _cancel_and_delete(client, "bob", old, "/api/v1/datasets/v1")
    start_worker()
    built = wait_job(_new_photos(client, "alice", "v1", 1), timeout=120)
    assert built["status"] == "succeeded", built["error"]
    alice = _folder("v1", "alice")
    assert (alice / "dataset.zip").is_file()
    before = _snapshot(alice)

    r = client.post(f"/api/v1/jobs/{old}/retry", headers=as_("bob"))
    assert r.status_code == 409, r.text
    assert "deleted" in r.json()["detail"]
    assert store.get_job(old)["status"] == "cancelled"
    assert _snapshot(alice) == before  # folder, manifest, ZIP: the same files, not rewritten
    outputs = store.job_dir(old) / "outputs"
    assert not outputs.exists() or not list(outputs.rglob("*.zip"))  # no link to alice's ZIP
    zip_got = client.get("/api/v1/datasets/v1/download", headers=as_("alice"))
    assert zip_got.status_code == 200 and zip_got.content == (alice / "dataset.zip").read_bytes()


@pytest.mark.slow
def test_retrying_a_video_job_after_its_dataset_went_never_touches_another_users_clips(
    client, start_worker, server_root
):
    old = _new_videos(client, "bob", "clips", server_root)
    _cancel_and_delete(client, "bob", old, "/api/v1/preprocessing/datasets/clips")
    start_worker()
    built = wait_job(_new_videos(client, "alice", "clips", server_root), timeout=120)
    assert built["status"] == "succeeded", built["error"]
    alice = _folder("clips", "alice")
    assert (alice / "1.mp4").is_file() and (alice / "2.txt").is_file()
    alice_zip = store.job_dir(built["id"]) / "outputs" / "clips.zip"
    before, zip_before = _snapshot(alice), alice_zip.read_bytes()

    r = client.post(f"/api/v1/jobs/{old}/retry", headers=as_("bob"))
    assert r.status_code == 409, r.text
    assert store.get_job(old)["status"] == "cancelled"
    assert _snapshot(alice) == before  # alice's clips neither deleted nor rewritten
    assert alice_zip.read_bytes() == zip_before
    info = client.get("/api/v1/preprocessing/datasets/clips", headers=as_("alice")).json()
    assert info["clip_count"] == 2 and info["owner"] == "alice"


def test_a_queued_job_whose_dataset_was_made_again_stops_before_touching_it(client, server_root):
    """The check when the job runs: the folder of the name is another record now (here
    removed behind the studio's back and made again by alice): the job fails and
    alice's clips stay."""
    from jobs.runner import execute

    old = _new_videos(client, "bob", "clips", server_root)
    shutil.rmtree(_folder("clips", "bob"))
    _new_videos(client, "alice", "clips", server_root)
    alice = _folder("clips", "alice")
    (alice / "1.mp4").write_bytes(b"alice's clip")
    (alice / "1.txt").write_text("alice's caption")
    before = _snapshot(alice)

    execute(old)  # the real runner, in this process
    job = store.get_job(old)
    assert job["status"] == "failed" and "deleted" in job["error"], job["error"]
    assert _snapshot(alice) == before


# --------------------------------------------------------------------------- other names


def test_scenario_names_are_per_owner(logins, monkeypatch):
    from jobs.tools.monitor import scenarios

    monkeypatch.setenv("STUDIO_ADMINS", "root,ops")
    reset_settings()
    root, ops = User("root", True), User("ops", True)
    scenarios.create("probe", "print('root')", user=root)
    scenarios.create("probe", "print('ops')", user=ops)  # a 409 when names were global
    assert scenarios.get("probe", root)["code"] == "print('root')"
    assert scenarios.get("probe", ops)["code"] == "print('ops')"
    assert scenarios.get("probe", root, owner="ops")["code"] == "print('ops')"
    with pytest.raises(scenarios.ScenarioExists):
        scenarios.create("probe", "print(2)", user=ops)
    scenarios.update("probe", ops, code="print('ops 2')")
    scenarios.delete("probe", root)
    assert scenarios.get("probe", ops)["code"] == "print('ops 2')"
    with pytest.raises(scenarios.ScenarioNotFound):
        scenarios.get("probe", root)
    job = scenarios.submit_run("probe", ops)
    assert job["params"]["code"] == "print('ops 2')" and job["owner"] == "ops"


def test_task_and_project_names_are_per_owner(client):
    """Frame review tasks and dance projects are kept by id; their names never cross users."""
    ids = {}
    for user in ("alice", "bob"):
        r = client.post("/api/v1/task/create", headers=as_(user), json={"name": "v1"})
        assert r.status_code == 201, r.text
        ids[user] = r.json()["id"]
    assert ids["alice"] != ids["bob"]
    for user in ("alice", "bob"):
        rows = client.get("/api/v1/task/list", headers=as_(user)).json()
        assert [(t["id"], t["name"]) for t in rows] == [(ids[user], "v1")]
    assert client.get(f"/api/v1/task/{ids['alice']}", headers=as_("bob")).status_code == 404
    from jobs.tools.dance import records

    for user in ("alice", "bob"):
        records.create_project(User(user), "v1")
    with pytest.raises(records.Conflict):
        records.create_project(User("alice"), "v1")


# --------------------------------------------------------------------------- an old studio folder


@contextmanager
def _before_per_owner_names(home: Path) -> Iterator[None]:
    """STUDIO_HOME's database as the release before per-owner names left it (records
    revision 0001); after the block, today's code upgrades it, as ``python app.py`` does."""
    from jobs import records

    records.dispose()
    for suffix in ("", "-wal", "-shm"):
        (home / f"studio.db{suffix}").unlink(missing_ok=True)
    records.upgrade("0001")
    yield
    assert records.upgrade() == ("0001", records.head_revision())


def test_datasets_of_the_old_layout_move_under_their_owner_with_their_jobs_bound(studio_home):
    from jobs import queue, records

    root = studio_home / "datasets"

    def old_dataset(name: str, owner: str, created_at: float) -> None:
        (root / name).mkdir(parents=True)
        (root / name / datasets.META).write_text(
            json.dumps({"name": name, "kind": "videos", "owner": owner, "created_at": created_at})
        )
        (root / name / "1.mp4").write_bytes(owner.encode())

    def old_job(name: str, owner: str, created_at: float) -> str:
        # A row of that release's jobs table (its columns only: later revisions add some).
        from jobs.records.sql import insert
        from jobs.records.tables import jobs as jobs_table

        job_id = store.new_job_id()
        old = dict(kind="video_dataset.build", lane="cpu", owner=owner, title=name)
        records.execute(
            insert(jobs_table).values(
                id=job_id,
                params=json.dumps({"dataset": name, "options": {}}),
                status="failed",
                max_attempts=1,
                created_at=created_at,
                **old,
            )
        )
        return job_id

    with _before_per_owner_names(studio_home):
        stale = old_job("bob", "bob", 100.0)  # bob's earlier dataset "bob", deleted since
        old_dataset("bob", "alice", 200.0)  # alice's dataset named like the user bob
        old_dataset("mine", "bob", 200.0)
        current = old_job("bob", "alice", 300.0)
        other_owner = old_job("mine", "alice", 300.0)  # alice's job of a name that is bob's now

    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("1.mp4")) == [
        "alice/bob/1.mp4",
        "bob/mine/1.mp4",
    ]
    assert datasets.get("bob", User("alice"))["owner"] == "alice"
    assert datasets.get("mine", User("bob"))["owner"] == "bob"
    assert (root / "alice" / "bob" / "1.mp4").read_bytes() == b"alice"
    assert datasets.bound_folder(store.get_job(current)["params"]) == root / "alice" / "bob"
    for refused in (stale, other_owner):
        with pytest.raises(datasets.DatasetGone):
            queue.retry(refused)
    # a second start finds nothing to do
    assert records.upgrade() == (records.head_revision(), records.head_revision())


def test_scenarios_of_the_old_table_keep_working_with_per_owner_names(
    logins, studio_home, monkeypatch
):
    from jobs.tools.monitor import scenarios

    root = User("root", True)
    with _before_per_owner_names(studio_home):
        scenarios.create("probe", "print(1)", user=root)  # the old table: the name is the key
    assert scenarios.get("probe", root)["code"] == "print(1)"
    monkeypatch.setenv("STUDIO_ADMINS", "root,ops")
    reset_settings()
    scenarios.create("probe", "print(2)", user=User("ops", True))
    assert scenarios.get("probe", root)["code"] == "print(1)"
