"""The diffusers backend: a tiny random-weight WanAnimatePipeline saved as a
folder, loaded the way a user's model is loaded, run on a pair folder."""

from __future__ import annotations

import pytest

from pipelines.dance.config import make_config
from pipelines.dance.synthetic import pair_dir
from pipelines.dance.video import check_video
from pipelines.errors import NotFound
from pipelines.progress import Cancelled

pytestmark = pytest.mark.slow
CONFIG = make_config(
    None, {"frame_num": 17, "size": "32*32", "sample_steps": 2, "sample_guide_scale": 1.0}
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from tests.dance.wan_tiny import save_tiny_wan_animate

    return save_tiny_wan_animate(tmp_path_factory.mktemp("models") / "tiny-wan-animate")


@pytest.fixture(scope="module")
def pipe(tiny_model):
    from pipelines.dance.wan_animate import load_pipeline

    return load_pipeline(tiny_model, device="cpu")


class Steps:
    def __init__(self, cancel_at: int | None = None):
        self.items, self.cancel_at = [], cancel_at

    def update(self, **kw):
        if kw.get("item", "").startswith("step"):
            self.items.append(kw["item"])
            if self.cancel_at is not None and len(self.items) > self.cancel_at:
                raise Cancelled("Cancelled by the user")

    def log(self, line):
        pass


def test_a_tiny_wan_animate_animates_the_pair_folder(pipe, tmp_path):
    folder = pair_dir(tmp_path / "pair", frames=17, side=32)
    from pipelines.dance.wan_animate import generate

    steps = Steps()
    info = generate(
        pipe, folder, CONFIG, "an astronaut dancing", tmp_path / "out.mp4", fps=16, progress=steps
    )
    video = check_video(tmp_path / "out.mp4")
    assert (video.frames, video.width, video.height) == (17, 32, 32)
    assert (info["frames"], info["steps"], info["segments"], info["faces"]) == (17, 2, 1, "face/")
    assert steps.items == ["step 0/2", "step 1/2", "step 2/2"]


def test_cancel_stops_between_steps_and_writes_nothing(pipe, tmp_path):
    from pipelines.dance.wan_animate import generate

    folder = pair_dir(tmp_path / "pair", frames=17, side=32, faces=False)
    with pytest.raises(Cancelled):
        generate(
            pipe, folder, CONFIG, "a dancer", tmp_path / "out.mp4", progress=Steps(cancel_at=1)
        )
    assert not (tmp_path / "out.mp4").exists()


def test_a_missing_model_says_how_to_get_it(tmp_path):
    from pipelines.dance.wan_animate import load_pipeline

    with pytest.raises(
        NotFound, match=r"huggingface-cli download Wan-AI/Wan2\.2-Animate-14B-Diffusers"
    ):
        load_pipeline(tmp_path / "nothing-here", device="cpu")
