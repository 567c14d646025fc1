"""The one options type: seed 003's names and defaults, limits, the CLI flags
derived from it, the default output folder, and where models are looked up."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pipelines.errors import BadInput
from pipelines.video_edit import (
    VideoEditOptions,
    VideoEditRequest,
    default_output_dir,
    option_defaults,
)
from pipelines.video_edit.__main__ import build_parser
from pipelines.video_edit.masking import is_person_prompt
from pipelines.video_edit.models import (
    IP2P,
    SAM3,
    ModelMissing,
    available_models,
    choose_mask_backend,
    locate,
)
from pipelines.video_edit.options import VideoEditExtra


def test_defaults_are_seed_003s():
    o = VideoEditOptions()
    assert (
        o.mode,
        o.max_frames,
        o.image_guidance_scale,
        o.guidance_scale,
        o.erode_kernel,
        o.num_inference_steps,
        o.apply_smoothing,
        o.smoothing_window,
        o.smoothing_alpha,
    ) == ("video", None, 1.5, 9.0, 10, 50, True, 5, 0.3)
    assert o.extra.model_path is None and o.extra.sam_path is None
    r = VideoEditRequest(
        input_video_path=Path("a.mp4"), mask_prompt="hair", edit_prompt="make the hair red"
    )
    assert len(r.job_id) == 12 and r.options() == o


@pytest.mark.parametrize(
    "change",
    [
        {"mask_prompt": "hair\x00"},
        {"edit_prompt": "x" * 301},
        {"mask_prompt": "  "},
        {"job_id": "../etc"},
        {"num_inference_steps": 0},
        {"smoothing_alpha": 1.5},
        {"mode": "gif"},
        {"extra": {"typo": 1}},
        {"extra": {"working_size": 100}},
    ],
)
def test_bad_values_are_refused(change):
    values = {
        "input_video_path": Path("a.mp4"),
        "mask_prompt": "hair",
        "edit_prompt": "red",
        **change,
    }
    with pytest.raises(ValidationError):
        VideoEditRequest(**values)


def test_cli_flags_come_from_the_options():
    parser = build_parser()
    flags = {opt for action in parser._actions for opt in action.option_strings}
    for flag in (
        "--mask-prompt",
        "--edit-prompt",
        "--job-id",
        "--output-dir",
        "--mode",
        "--frame-index",
        "--max-frames",
        "--image-guidance-scale",
        "--guidance-scale",
        "--erode-kernel",
        "--num-inference-steps",
        "--no-smoothing",
        "--smoothing-window",
        "--smoothing-alpha",
        "--seed",
        "--model-path",
        "--sam-path",
    ):
        assert flag in flags
    args = parser.parse_args(["clip.mp4", "--mask-prompt", "hair", "--edit-prompt", "red"])
    assert {k: getattr(args, k) for k in option_defaults()} == option_defaults()
    args = parser.parse_args(
        [
            "clip.mp4",
            "--mask-prompt",
            "hair",
            "--edit-prompt",
            "red",
            "--no-smoothing",
            "--mode",
            "single_frame",
            "--max-frames",
            "7",
            "--model-path",
            "/m",
        ]
    )
    assert (args.apply_smoothing, args.mode, args.max_frames, args.model_path) == (
        False,
        "single_frame",
        7,
        "/m",
    )


def test_default_output_dir(monkeypatch):
    assert default_output_dir("j1") == Path("outputs") / "j1"
    monkeypatch.setenv("UR_EDIT_OUTPUT_DIR", "/data/edits")
    assert default_output_dir("j1") == Path("/data/edits/j1")


@pytest.mark.parametrize(
    ("text", "person"),
    [
        ("person", True),
        ("the woman", True),
        ("People", True),
        ("hair", False),
        ("the man's shirt", False),
        ("", False),
    ],
)
def test_person_prompts(text, person):
    assert is_person_prompt(text) is person


def test_a_named_model_that_is_missing_says_which_variable_and_how_to_download(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("INSTRUCT_PIX2PIX_MODEL_PATH", str(tmp_path / "nowhere"))
    with pytest.raises(ModelMissing) as err:
        locate(IP2P)
    text = str(err.value)
    assert (
        "INSTRUCT_PIX2PIX_MODEL_PATH" in text and "hf download timbrooks/instruct-pix2pix" in text
    )
    monkeypatch.delenv("INSTRUCT_PIX2PIX_MODEL_PATH")
    with pytest.raises(ModelMissing, match="not on this machine"):
        locate(IP2P)
    with pytest.raises(ModelMissing, match="not in the Hugging Face cache"):
        locate(IP2P, "someone/not-downloaded")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelMissing, match="holds no InstructPix2Pix weights"):
        locate(IP2P, str(tmp_path / "empty"))


def fake_model(folder: Path, marker: str = "config.json") -> Path:
    """A folder that looks like a model to the lookup (no weights are read there)."""
    folder.mkdir(parents=True)
    (folder / marker).write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")
    return folder


def test_mask_backend_choice(monkeypatch, tmp_path):
    tiny_clipseg, tiny_sam3 = fake_model(tmp_path / "clipseg"), fake_model(tmp_path / "sam3")
    assert choose_mask_backend("person", VideoEditExtra()).backend == "mediapipe"
    with pytest.raises(BadInput) as err:
        choose_mask_backend("hair", VideoEditExtra())
    assert (
        "SAM3" in str(err.value)
        and "CLIPSeg" in str(err.value)
        and "hf download facebook/sam3" in str(err.value)
    )
    assert (
        choose_mask_backend("hair", VideoEditExtra(clipseg_path=str(tiny_clipseg))).backend
        == "clipseg"
    )
    both = VideoEditExtra(clipseg_path=str(tiny_clipseg), sam_path=str(tiny_sam3))
    assert choose_mask_backend("person", both).backend == "sam3"  # SAM3 first when present
    with pytest.raises(BadInput, match="people only"):
        choose_mask_backend("hair", VideoEditExtra(mask_backend="mediapipe"))
    monkeypatch.setenv("SAM3_MODEL_PATH", str(tmp_path / "gone"))
    with pytest.raises(
        ModelMissing, match="SAM3_MODEL_PATH"
    ):  # set but missing: an error, not a fallback
        choose_mask_backend("person", VideoEditExtra())
    monkeypatch.setenv("SAM3_MODEL_PATH", str(tiny_sam3))
    assert choose_mask_backend("hair", VideoEditExtra()).location.folder == tiny_sam3.resolve()


def test_models_folder_and_listing(tmp_path):
    ip2p = fake_model(tmp_path / "models" / "instruct-pix2pix", "model_index.json")
    (ip2p / "unet").mkdir()
    (ip2p / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    rows = {r["model"]: r for r in available_models([ip2p.parent])}
    assert (
        rows["InstructPix2Pix"]["available"] and rows["InstructPix2Pix"]["from"] == "models folder"
    )
    assert rows["MediaPipe selfie segmentation"]["available"]
    assert locate(SAM3, None, [tmp_path], required=False) is None
