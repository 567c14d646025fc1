"""Issue 23.1: the models every tool declares, listed with where each was found
(``GET /api/v1/models`` and the Models view), fetched by an admin's download job from
a local Hub server (``tests.models.hub_server``) into the models folder, where the
tool then finds it; refused to everyone else."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from jobs import queue, store
from jobs.inputs import InputError
from jobs.models import caption_model, declared_model, find
from jobs.settings import reset_settings
from pipelines.model_download import PARTIAL, UNFINISHED
from tests.conftest import wait_job
from tests.models.hub_server import FakeHub
from tests.photo_dataset.app.conftest import OPTIONS

FLORENCE = "florence-community/Florence-2-base"
EVERY_MODEL = {
    "photo_dataset.caption",
    "video_dataset.caption",
    "video_dataset.caption_tags",
    "video_edit.ip2p",
    "video_edit.sam3",
    "video_edit.clipseg",
    "dance.wan_animate",
    "dance.steadydancer_weights",
    "dance.steadydancer_code",
}


def _client() -> TestClient:
    """The routers as the server mounts them (the core's /api/v1/models among them)."""
    from studio import errors
    from studio.server import mount_routers

    app = FastAPI()
    errors.install(app)
    mount_routers(app)
    return TestClient(app)


def _models(client: TestClient, **headers: str) -> dict[str, dict]:
    answer = client.get("/api/v1/models", headers=headers)
    assert answer.status_code == 200, answer.text
    return {m["id"]: m for m in answer.json()["models"]}


@pytest.fixture(scope="session")
def tiny_florence(tmp_path_factory) -> Path:
    """A tiny random-weight Florence-2 (the caption tools' default model's class)."""
    from tests.caption_fakes import build_tiny_florence2

    return build_tiny_florence2(tmp_path_factory.mktemp("hub") / "florence")


@pytest.fixture
def online(studio_home, monkeypatch):
    """This test's worker may download (the suite runs with HF_HUB_OFFLINE=1), from a
    Hugging Face home of its own (no token, no cache of the machine)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)  # huggingface_hub reads it too
    monkeypatch.setenv("HF_HOME", str(studio_home.parent / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    yield


def test_every_tool_declares_its_models_and_the_api_lists_where_each_is(studio_home, monkeypatch):
    with _client() as client:
        view = client.get("/api/v1/models").json()
        models = {m["id"]: m for m in view["models"]}
        assert set(models) == EVERY_MODEL
        assert view["free_bytes"] > 0 and view["models_dir"] == str(studio_home / "models")
        for model in models.values():
            assert not model["present"] and model["where"] is None, model
            assert model["command"] and model["role"]
        clipseg = models["video_edit.clipseg"]
        assert clipseg["hub_id"] == "CIDAS/clipseg-rd64-refined"
        assert clipseg["setting"] == "CLIPSEG_MODEL_PATH" and clipseg["size"] > 100_000_000
        assert clipseg["command"].startswith("hf download CIDAS/clipseg-rd64-refined")
        assert clipseg["folder"] == str(studio_home / "models" / "clipseg-rd64-refined")
        assert models["dance.steadydancer_code"]["fetchable"] is False
        assert models["dance.steadydancer_weights"]["setting"] == "STEADYDANCER_CKPT_DIR"

        # found by the one model rule: a folder in the models folder ...
        folder = studio_home / "models" / "clipseg-rd64-refined"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        clipseg = _models(client)["video_edit.clipseg"]
        assert clipseg["present"] and clipseg["where"] == str(folder)
        assert clipseg["found_by"] == "models folder"
        # ... not while a download into it is unfinished ...
        unfinished = folder / UNFINISHED
        unfinished.parent.mkdir(parents=True)
        unfinished.touch()
        clipseg = _models(client)["video_edit.clipseg"]
        assert not clipseg["present"] and "partly downloaded" in clipseg["problem"]
        # ... or wherever the variable that overrides it says
        elsewhere = studio_home.parent / "weights" / "sam3"
        elsewhere.mkdir(parents=True)
        (elsewhere / "config.json").write_text("{}")
        monkeypatch.setenv("SAM3_MODEL_PATH", str(elsewhere))
        sam3 = _models(client)["video_edit.sam3"]
        assert sam3["present"] and sam3["found_by"] == "SAM3_MODEL_PATH"


def test_the_models_view_shows_the_same_rows_and_the_free_space(studio_home):
    from studio.tabs import models as tab

    disk, frame, choice = tab.show()
    assert "free" in disk and str(studio_home / "models") in disk
    assert len(frame) == len(EVERY_MODEL)
    assert set(frame["status"]) == {"missing"}
    assert "CIDAS/clipseg-rd64-refined" in set(frame["Hub id or folder"])
    fetchable = [value for _, value in choice.constructor_args["choices"]]
    assert "video_edit.clipseg" in fetchable and "dance.steadydancer_code" not in fetchable


def test_a_non_admin_and_a_demo_visitor_cannot_start_a_download(studio_home, monkeypatch):
    import gradio as gr

    from studio.tabs import models as tab

    monkeypatch.setenv("STUDIO_AUTH", "ana:pw-ana,root:pw-root")
    monkeypatch.setenv("STUDIO_API_TOKENS", "tok-ana:ana,tok-root:root")
    monkeypatch.setenv("STUDIO_ADMINS", "root")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    reset_settings()
    with _client() as client:
        ana = client.post(
            "/api/v1/models/video_edit.clipseg/fetch", headers={"Authorization": "Bearer tok-ana"}
        )
        assert ana.status_code == 403
        assert "Only an admin can download models" in ana.json()["detail"]
        assert _models(client, Authorization="Bearer tok-ana")  # listing is for everyone
        with pytest.raises(gr.Error, match="Only an admin"):
            tab.start_fetch("video_edit.clipseg", SimpleNamespace(username="ana"))
        root = client.post(
            "/api/v1/models/video_edit.clipseg/fetch", headers={"Authorization": "Bearer tok-root"}
        )
        assert root.status_code == 201 and root.json()["kind"] == "models.fetch"
        assert root.json()["lane"] == "cpu"
        again = client.post(
            "/api/v1/models/video_edit.clipseg/fetch", headers={"Authorization": "Bearer tok-root"}
        )
        assert again.status_code == 409 and root.json()["id"] in again.json()["detail"]
    assert [job["owner"] for job in store.list_jobs(kind="models.fetch")[0]] == ["root"]

    for name in ("STUDIO_AUTH", "STUDIO_API_TOKENS", "STUDIO_ADMINS"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("STUDIO_DEMO", "1")
    reset_settings()
    with _client() as visitor:
        answer = visitor.post("/api/v1/models/video_edit.sam3/fetch")
        assert answer.status_code == 403 and "Only an admin" in answer.json()["detail"]
    assert store.list_jobs(kind="models.fetch")[1] == 1  # root's only


def test_offline_nothing_is_fetched_and_the_message_gives_model_size_and_command(studio_home):
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # as the whole suite runs
    with _client() as client:
        answer = client.post("/api/v1/models/video_edit.clipseg/fetch")
        assert answer.status_code == 422
        detail = answer.json()["detail"]
        assert "CLIPSeg (CIDAS/clipseg-rd64-refined, about 610.0 MB)" in detail
        assert "HF_HUB_OFFLINE=1" in detail
        folder = studio_home / "models" / "clipseg-rd64-refined"
        assert (
            f"--local-dir {folder}" in detail
            and "`hf download CIDAS/clipseg-rd64-refined" in detail
        )
        assert client.post("/api/v1/models/nobody.nothing/fetch").status_code == 404
    with pytest.raises(InputError, match=r"Florence-2 base .*about 930\.0 MB.*hf download"):
        caption_model(FLORENCE, "caption.local_model")
    assert store.list_jobs(kind="models.fetch")[1] == 0


def test_a_download_job_fetches_the_model_from_the_hub_and_the_tool_finds_it(
    online, start_worker, tiny_florence, monkeypatch
):
    with FakeHub({FLORENCE: tiny_florence}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        start_worker()
        with _client() as client:
            answer = client.post("/api/v1/models/photo_dataset.caption/fetch")
            assert answer.status_code == 201, answer.text
            job = wait_job(answer.json()["id"], timeout=120)
            assert job["status"] == "succeeded", (job["error"], store.read_log(job["id"]))
            log = store.read_log(job["id"])
            assert "stage: downloading" in log and "downloaded" in log
            folder = studio_home_models() / "Florence-2-base"
            assert job["outputs"]["present"] and job["outputs"]["where"] == str(folder)
            for name, source in hub.files(FLORENCE).items():
                assert (folder / name).read_bytes() == source.read_bytes(), name
            assert job["item"].endswith("downloaded")  # "0.5 MB downloaded"
            # the one model rule finds it now, for both caption tools
            assert caption_model(FLORENCE, "caption.local_model") == str(folder)
            models = _models(client)
            assert models["photo_dataset.caption"]["present"]
            assert models["video_dataset.caption"]["where"] == str(folder)
            assert not models["video_dataset.caption_tags"]["present"]
    gets = [r for r in hub.requests if r["method"] == "GET" and "/resolve/" in r["path"]]
    assert {r["path"].rsplit("/", 1)[-1] for r in gets} >= {"config.json", "model.safetensors"}


def studio_home_models() -> Path:
    from jobs.settings import get_settings

    return get_settings().models_path


def _big_repo(tiny: Path, where: Path) -> Path:
    """The tiny model and a 24 MB weights file: a download of it is seconds long, and
    more than one 10 MB chunk (huggingface_hub writes in 10 MB chunks) can be on disk
    when it stops."""
    import shutil

    folder = where / "big-florence"
    shutil.copytree(tiny, folder)
    (folder / "big.bin").write_bytes(os.urandom(24 << 20))
    return folder


def _partial_sizes(folder: Path) -> list[int]:
    """Sizes of the downloads under way (a small file's can be renamed, complete, between
    the listing and its stat)."""
    sizes = []
    for partial in folder.rglob("*.incomplete"):
        try:
            sizes.append(partial.stat().st_size)
        except FileNotFoundError:
            pass
    return sizes


def test_a_download_cut_by_a_killed_worker_resumes_after_the_restart(
    online, start_worker, tiny_florence, tmp_path, monkeypatch
):
    """The files complete before the kill are not fetched again; the one cut half-way
    starts again (huggingface_hub 2.x keeps no partial file across processes) and,
    cut again by the network, resumes with a Range request within the run."""
    repo = _big_repo(tiny_florence, tmp_path)
    expected = hashlib.sha256((repo / "big.bin").read_bytes()).hexdigest()
    with FakeHub({FLORENCE: repo}, slow={"big.bin"}, chunk=1 << 20, delay=0.1) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        worker = start_worker()
        job = queue.submit("models.fetch", {"model": "photo_dataset.caption"})
        folder = studio_home_models() / "Florence-2-base"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sizes = _partial_sizes(folder / PARTIAL)
            if sizes and max(sizes) >= 10 << 20 and store.get_job(job["id"])["progress"] > 0.2:
                break  # a 10 MB chunk on disk, and the job's progress says so
            time.sleep(0.1)
        running = store.get_job(job["id"])
        assert running["status"] == "running" and running["stage"] == "downloading"
        assert running["progress"] > 0.2 and " of " in running["item"], running
        assert (folder / "config.json").is_file()  # the small files are complete
        worker.kill(signal.SIGKILL)
        assert "partly downloaded" in find(declared_model("photo_dataset.caption").model)[1]
        with pytest.raises(InputError):
            caption_model(FLORENCE, "caption.local_model")

        first = len(hub.requests)
        hub.drop["big.bin"] = 12 << 20  # and the network cuts the next try once
        start_worker()
        done = wait_job(job["id"], timeout=120)
        assert done["status"] == "succeeded", (done["error"], store.read_log(job["id"]))
        assert done["attempts"] == 2
    assert hashlib.sha256((folder / "big.bin").read_bytes()).hexdigest() == expected
    again = [r for r in hub.requests[first:] if r["method"] == "GET" and "/resolve/" in r["path"]]
    assert {r["path"].rsplit("/", 1)[-1] for r in again} == {"big.bin"}  # complete files kept
    assert [r["range"] for r in again] == [None, f"bytes={10 << 20}-"]  # cut at 12 MB: resumed
    assert not list((folder / PARTIAL).rglob("*.incomplete"))  # the killed run's file is gone
    assert caption_model(FLORENCE, "caption.local_model") == str(folder)


def test_cancel_stops_a_download_and_keeps_what_came(
    online, start_worker, tiny_florence, tmp_path, monkeypatch
):
    repo = _big_repo(tiny_florence, tmp_path)
    with FakeHub({FLORENCE: repo}, slow={"big.bin"}, chunk=1 << 20, delay=0.1) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        start_worker()
        job = queue.submit("models.fetch", {"model": "video_dataset.caption"})
        wait_job(job["id"], ("running",))
        deadline = time.monotonic() + 60
        while store.get_job(job["id"])["progress"] < 0.1 and time.monotonic() < deadline:
            time.sleep(0.1)
        queue.cancel(job["id"])
        job = wait_job(job["id"], timeout=60)
    assert job["status"] == "cancelled"
    folder = studio_home_models() / "Florence-2-base"
    assert not (folder / "big.bin").exists() and (folder / "config.json").is_file()
    where, problem = find(declared_model("video_dataset.caption").model)
    assert where is None and "partly downloaded" in problem


def test_with_fetch_on_first_use_the_job_that_needs_the_model_downloads_it_first(
    online, start_worker, tiny_florence, small_zip, monkeypatch
):
    """STUDIO_FETCH_MODELS=auto: a photo dataset with local captions is accepted though
    its caption model is missing; its build job shows "downloading", fetches it, and the
    caption job captions with it."""
    from jobs import datasets
    from jobs.access import User
    from jobs.tools import photo_dataset as photos

    ann = User("ann", is_admin=False)  # the admin's setting, for everyone's jobs
    options = {
        **OPTIONS,
        "caption": {"trigger": "ohwx", "provider": "local", "local_model": FLORENCE},
    }
    options["caption"].update(device="cpu", max_new_tokens=3)
    with pytest.raises(InputError, match="Florence-2 base"):  # off by default
        photos.start_build("auto-off", ann, options, files=[small_zip])
    monkeypatch.setenv("STUDIO_FETCH_MODELS", "auto")
    reset_settings()
    with FakeHub({FLORENCE: tiny_florence}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        start_worker()
        build = photos.start_build("auto-on", ann, options, files=[small_zip])
        build = wait_job(build["id"], timeout=120)
        assert build["status"] == "succeeded", (build["error"], store.read_log(build["id"]))
        log = store.read_log(build["id"], tail=1000)
        assert log.index("stage: downloading") < log.index("stage: unpack")
        caption_job = wait_job(build["outputs"]["next_job"], timeout=180)
        assert caption_job["status"] == "succeeded", caption_job["error"]
    folder = studio_home_models() / "Florence-2-base"
    assert caption_model(FLORENCE) == str(folder)
    kept = [
        f
        for f in photos.read_manifest(datasets.get("auto-on", ann))["files"]
        if f["status"] == "kept"
    ]
    assert kept and all(f["caption_source"] == "local" for f in kept)
    # offline, auto fetches nothing: the submit says what to run instead
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match=r"HF_HUB_OFFLINE=1.*hf download"):
        caption_model("MiaoshouAI/Florence-2-base-PromptGen-v2.0")
