"""The photo dataset job kinds in a real worker: API captions with the key kept out of
every record, local captions in the GPU lane (model loaded once), server folders and
crop boxes set in review."""

from __future__ import annotations

import json
import sqlite3
import zipfile

import pytest
from PIL import Image

from jobs import datasets, store
from jobs.access import SYSTEM, User
from jobs.settings import get_settings, reset_settings
from jobs.tools import photo_dataset as photos
from tests.caption_fakes import FakeChatServer
from tests.conftest import wait_job
from tests.photo_dataset.app.conftest import OPTIONS

KEY = "sk-test-SECRET-4242"
ANN = User("ann", is_admin=True)  # as in an open studio (typed API URLs are for admins)


def options(**caption):
    return {**OPTIONS, "caption": {**OPTIONS["caption"], **caption}}


def everything_written(home) -> str:
    """Every record and file the studio keeps: both databases, status files, logs, datasets."""
    text = []
    for db in home.glob("*.db"):
        con = sqlite3.connect(db)
        text += list(con.iterdump())
        con.close()
    for path in home.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".txt", ".toml", ".zip", ".db-wal", ""):
            text.append(path.read_bytes().decode("latin-1"))
    return "\n".join(text)


def test_api_captions_with_fallback_and_the_key_never_stored(studio_home, start_worker, small_zip):
    start_worker()
    with FakeChatServer(fail={"busy-model": 50}) as server:
        job = photos.start_build(
            "api-set",
            ANN,
            options(
                provider="api",
                api_base_url=server.base_url,
                api_models=["busy-model", "good-model"],
                api_retries=0,
                api_timeout=5,
            ),
            files=[small_zip],
            api_key=KEY,
        )
        assert KEY not in json.dumps(job)
        done = wait_job(job["id"], timeout=120)
    assert done["status"] == "succeeded", done["error"]
    assert done["lane"] == "cpu" and "next_job" not in done["outputs"]
    assert {r["auth"] for r in server.requests} == {f"Bearer {KEY}"}  # the key reached the API ...
    assert server.models_called()[0] == "busy-model" and "good-model" in server.models_called()
    manifest = photos.read_manifest(datasets.get("api-set", ANN))
    kept = [f for f in manifest["files"] if f["status"] == "kept"]
    assert kept and all(
        f["caption"].startswith("ohwx, ") and "good-model" in f["caption"] for f in kept
    )
    assert all(f["caption_source"] == "api" for f in kept)
    # ... and nowhere else: not in the jobs table, status.json, log.txt, the manifest or the ZIP
    assert (store.job_dir(job["id"]) / "log.txt").is_file()
    assert KEY not in everything_written(studio_home)
    assert (
        list((get_settings().home / "secrets").iterdir()) == []
    )  # the key file is deleted at the end


def local_options(model):
    return options(
        provider="local", local_model=str(model), device="cpu", max_new_tokens=3, batch_size=2
    )


def test_local_captions_are_chained_at_submit_and_follow_the_builds_end(
    studio_home, small_zip, tiny_blip, monkeypatch
):
    from jobs import queue

    monkeypatch.setenv("STUDIO_MODELS_DIR", str(tiny_blip.parent))
    reset_settings()
    build = photos.start_build("chained", ANN, local_options(tiny_blip), files=[small_zip])
    (captions,) = store.list_jobs(kind=photos.CAPTION)[0]
    assert captions["kind"] == "photo_dataset.caption" and captions["after"] == build["id"]
    assert captions["status"] == "queued" and captions["stage"].startswith("waiting for")
    assert datasets.get("chained", ANN)["job_id"] == build["id"]  # the build is the dataset's job
    queue.cancel(build["id"])  # no worker: cancelled before it started
    ended = store.get_job(captions["id"])
    assert ended["status"] == "cancelled" and "Not started" in ended["message"]  # never waits on
    queue.retry(build["id"])  # the retried build brings its captions back
    again = store.get_job(captions["id"])
    assert again["status"] == "queued" and again["stage"].startswith("waiting for")


def test_a_refused_build_leaves_no_dataset_behind(studio_home, small_zip, monkeypatch):
    from jobs import queue
    from pipelines.errors import TooManyJobs

    monkeypatch.setenv("STUDIO_DEMO", "1")  # every visitor may have one job at once
    monkeypatch.setenv("STUDIO_DEMO_MAX_JOBS", "1")
    reset_settings()
    visitor = User("visitor-1")
    busy = queue.submit("system.sleep", {"seconds": 1}, owner=visitor.name)
    with pytest.raises(TooManyJobs):
        photos.start_build("refused", visitor, options(), files=[small_zip])
    assert datasets.record("refused", visitor.name) is None
    assert not datasets.folder("refused", visitor.name).exists()
    queue.cancel(busy["id"])
    again = photos.start_build("refused", visitor, options(), files=[small_zip])
    assert again["status"] == "queued"  # the name is free again


def test_local_captions_run_in_the_gpu_lane_with_the_model_loaded_once(
    studio_home, start_worker, small_zip, tiny_blip, monkeypatch
):
    model = tiny_blip
    monkeypatch.setenv("STUDIO_MODELS_DIR", str(model.parent))  # models: the one model rule
    reset_settings()
    start_worker()
    firsts = [
        photos.start_build(
            name,
            ANN,
            options(
                provider="local",
                local_model=str(model),
                device="cpu",
                max_new_tokens=3,
                batch_size=2,
            ),
            files=[small_zip],
        )
        for name in ("local-a", "local-b")
    ]
    captions = []
    for first, name in zip(firsts, ("local-a", "local-b"), strict=True):
        cpu = wait_job(first["id"], timeout=120)
        assert cpu["status"] == "succeeded" and cpu["lane"] == "cpu", cpu["error"]
        caption_job = wait_job(cpu["outputs"]["next_job"], timeout=180)
        assert caption_job["status"] == "succeeded", caption_job["error"]
        assert caption_job["kind"] == "photo_dataset.caption" and caption_job["lane"] == "gpu"
        meta = datasets.get(name, SYSTEM, owner=ANN.name)
        assert meta["job_id"] == caption_job["id"] and meta["status"] == "succeeded"
        kept = [
            f
            for f in photos.read_manifest(datasets.get(name, ANN))["files"]
            if f["status"] == "kept"
        ]
        assert kept and all(
            f["caption"].startswith("ohwx, photo") and f["caption_source"] == "local" for f in kept
        )
        with zipfile.ZipFile(datasets.folder(name, ANN.name) / "dataset.zip") as z:
            assert z.read("0001.txt").decode().startswith("ohwx, photo")
        captions.append(store.read_log(caption_job["id"], tail=1000))
    # the two caption jobs ran one after the other in the GPU lane; only the first loaded the model
    assert sum("loading caption model" in log for log in captions) == 1


def test_server_folder_input_and_a_crop_box_set_in_review(
    studio_home, start_worker, small_zip, tmp_path, monkeypatch
):
    root = tmp_path / "shared"
    root.mkdir()
    with zipfile.ZipFile(small_zip) as z:
        z.extractall(root)
    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(root))
    reset_settings()
    start_worker()
    job = photos.start_build("folder-set", ANN, OPTIONS, server_paths=[str(root / "photos")])
    assert wait_job(job["id"], timeout=120)["status"] == "succeeded"
    before = {f["name"]: f for f in photos.read_manifest(datasets.get("folder-set", ANN))["files"]}
    kept = sorted(n for n, f in before.items() if f["status"] == "kept")
    target, other = kept[0], kept[1]

    edit = photos.submit_edits("folder-set", ANN, {"crops": {target: [10, 20, 310, 320]}})
    assert wait_job(edit["id"], timeout=90)["status"] == "succeeded"
    after = {f["name"]: f for f in photos.read_manifest(datasets.get("folder-set", ANN))["files"]}
    assert after[target]["crop_box"] == [10, 20, 310, 320] and after[target]["focus"] == "override"
    assert Image.open(datasets.folder("folder-set", ANN.name) / after[target]["output"]).size == (
        256,
        256,
    )
    assert after[other]["crop_box"] == before[other]["crop_box"]  # the others keep their crop ...
    assert after[other]["focus"] == before[other]["focus"]  # ... and how it was found
    assert after[other]["caption"] == before[other]["caption"]


def test_cancel_during_captions_keeps_the_work_done_and_says_so(
    studio_home, start_worker, photos_zip
):
    """A slow caption API: cancel while captioning; the manifest records what was done."""
    import time

    from jobs import queue

    start_worker()
    answered = []

    def slow(model, messages):
        answered.append(model)
        time.sleep(1.5)
        return "a person, slowly described"

    with FakeChatServer(reply=slow) as server:
        job = photos.start_build(
            "slow-set",
            ANN,
            options(
                provider="api",
                api_base_url=server.base_url,
                api_models=["m"],
                api_retries=0,
                api_timeout=10,
            ),
            files=[photos_zip],
            api_key=KEY,
        )
        deadline = time.monotonic() + 90
        while not answered and time.monotonic() < deadline:
            time.sleep(0.1)
        assert answered, "the build never reached the caption step"
        queue.cancel(job["id"])
        done = wait_job(job["id"], timeout=30)
    assert done["status"] == "cancelled"
    manifest = photos.read_manifest(datasets.get("slow-set", ANN))
    assert manifest["status"] == "cancelled"
    statuses = {f["name"]: f["status"] for f in manifest["files"]}
    astronauts = [
        statuses[f"photos/{n}"]
        for n in ("astronaut.jpg", "astronaut_q40.jpg", "astronaut_bright.jpg")
    ]
    assert (
        astronauts.count("kept") == 1
    )  # dedup had finished before the cancel: its decisions are kept
    # the crops written before the cancel are still there
    assert list(datasets.folder("slow-set", ANN.name).glob("[0-9][0-9][0-9][0-9].jpg"))
    assert list((studio_home / "secrets").iterdir()) == []  # cancelled: the key file is gone too


def test_several_photos_uploaded_as_files(client, start_worker, tmp_path):
    from tests.photo_dataset.app.conftest import photo_bytes

    start_worker()
    files = []
    for name, data in photo_bytes().items():
        path = tmp_path / name.split("/")[-1]
        path.write_bytes(data)
        files.append(("files", (path.name, data, "image/jpeg")))
    r = client.post(
        "/api/v1/datasets", data={"name": "loose", "options": json.dumps(OPTIONS)}, files=files
    )
    assert r.status_code == 201, r.text
    done = wait_job(r.json()["job_id"], timeout=120)
    assert done["status"] == "succeeded", done["error"]
    manifest = photos.read_manifest(datasets.get("loose", SYSTEM, owner="anonymous"))
    assert {f["name"] for f in manifest["files"]} == {n.split("/")[-1] for n in photo_bytes()}
    with zipfile.ZipFile(datasets.folder("loose", "anonymous") / "dataset.zip") as z:
        assert (
            len([n for n in z.namelist() if n.endswith(".txt")]) == 4
        )  # astronaut + coffee + chelsea + rocket
