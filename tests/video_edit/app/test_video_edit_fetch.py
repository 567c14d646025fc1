"""Issue 23.1: with STUDIO_FETCH_MODELS=auto a video edit that needs a text segmenter
this machine lacks is accepted; its job downloads CLIPSeg from the Hub (a local Hub
server) into the models folder first (stage "downloading"), then masks with it."""

from __future__ import annotations

import pytest

from jobs import store
from jobs.access import User
from jobs.settings import reset_settings
from jobs.tools import video_edit
from pipelines.errors import BadInput
from tests.conftest import wait_job
from tests.models.hub_server import FakeHub

CLIPSEG = "CIDAS/clipseg-rd64-refined"
ANA = User("ana", is_admin=False)


def test_a_mask_preview_fetches_the_missing_segmenter_first(
    allowed_root, start_worker, tiny_clipseg, monkeypatch
):
    fields = {"mask_prompt": "the red car", "edit_prompt": "make it blue"}
    clip = str(allowed_root / "person.mp4")
    with pytest.raises(BadInput, match="No text segmenter"):  # off by default
        video_edit.submit(fields, ANA, server_video=clip, what="mask")
    monkeypatch.setenv("STUDIO_FETCH_MODELS", "auto")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(allowed_root.parent / "hf-home"))
    reset_settings()
    with FakeHub({CLIPSEG: tiny_clipseg}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        start_worker()
        started = video_edit.submit(fields, ANA, server_video=clip, what="mask")
        job = wait_job(started["studio_job_id"], timeout=180)
    log = store.read_log(job["id"], tail=1000)
    assert job["status"] == "succeeded", (job["error"], log)
    assert (
        job["params"]["fetch_first"] == ["clipseg"] and job["params"]["mask_backend"] == "clipseg"
    )
    assert "stage: downloading" in log and f"fetching {CLIPSEG}" in log
    folder = allowed_root.parent / "studio-data" / "models" / "clipseg-rd64-refined"
    assert (folder / "model.safetensors").is_file()
    assert job["outputs"]["names"]  # the mask preview was written
    # the next preview finds it here: nothing to fetch
    again = video_edit.submit(fields, ANA, server_video=clip, what="mask")
    assert store.get_job(again["studio_job_id"])["params"]["fetch_first"] == []
