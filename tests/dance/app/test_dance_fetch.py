"""Issue 23.1: with STUDIO_FETCH_MODELS=auto, Wan-Animate counts as set up while it is
missing; the first generation downloads it from the Hub (a local Hub server) into
MODELS_DIR/Wan2.2-Animate-14B-Diffusers (stage "downloading"), then runs with it."""

from __future__ import annotations

from jobs import store
from tests.dance.app.conftest import BASE, wait_state
from tests.dance.app.test_dance_jobs import _job, _setup
from tests.models.hub_server import FakeHub

WAN = "Wan-AI/Wan2.2-Animate-14B-Diffusers"


def test_the_first_wan_animate_generation_fetches_the_model(
    api, dance_env, start_worker, monkeypatch, tmp_path
):
    from jobs.settings import reset_settings
    from tests.dance.wan_tiny import save_tiny_wan_animate

    served = save_tiny_wan_animate(tmp_path / "hub" / "wan")
    monkeypatch.delenv("STEADYDANCER_DIR")
    reset_settings()
    assert api.get(f"{BASE}/models/info").json()["default_backend"] is None  # off by default
    monkeypatch.setenv("STUDIO_FETCH_MODELS", "auto")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    reset_settings()
    with FakeHub({WAN: served}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        start_worker()
        info = api.get(f"{BASE}/models/info").json()
        assert (
            info["default_backend"] == "wan-animate"
            and info["backends"]["wan-animate"]["model"] is None
        )  # not here yet
        pid, exp = _setup(
            api, size="32*32", pose_fit="exact", sample_steps=2, sample_guide_scale=1.0
        )
        job = _job(api, pid, exp["id"])
        status = wait_state(
            api, f"{BASE}/projects/{pid}/steadydancer/jobs/{job['job_id']}", timeout=240
        )
    assert status["state"] == "SUCCESS", status
    assert status["backend"] == "wan-animate"
    log = store.read_log(status["task_id"], tail=2000)
    assert log.index("stage: downloading") < log.index("stage: loading model")
    folder = tmp_path / "models" / "Wan2.2-Animate-14B-Diffusers"
    assert (folder / "model_index.json").is_file()
    assert api.get(f"{BASE}/models/info").json()["backends"]["wan-animate"]["model"] == str(
        folder.resolve()
    )
