"""Seed 003's ``SAM3_MODEL_PATH=/path/to/sam3.pt``: the official release's checkpoint file.

The checkpoint here is written in the release's layout (``detector.*`` / ``tracker.*``
names, fused q/k/v, the class-token row…) from a tiny random transformers model, by
the inverse of the studio's mapping; the studio converts it once into the models
folder and masks with it.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from video_edit_tiny_models import tiny_sam3_config, write_tokenizer

from pipelines.errors import BadInput
from pipelines.video_edit.sam3_checkpoint import CONVERTED_DIR, to_official


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """(sam3.pt in the release's layout beside its config.json and tokenizer, the tiny
    transformers model's state dict it was written from)."""
    import torch
    from transformers.models.sam3_video.configuration_sam3_video import Sam3VideoConfig
    from transformers.models.sam3_video.modeling_sam3_video import Sam3VideoModel

    torch.manual_seed(1)
    config = Sam3VideoConfig(**tiny_sam3_config())
    model = Sam3VideoModel(config)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    # One weight in the release, two copies in transformers (as in transformers' conversion).
    state["tracker_model.shared_image_embedding.positional_embedding"] = state[
        "tracker_model.prompt_encoder.shared_embedding.positional_embedding"
    ]
    folder = tmp_path_factory.mktemp("sam3_release")
    torch.save({"model": to_official(state)}, folder / "sam3.pt")
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    write_tokenizer(folder, max_length=32)
    return folder / "sam3.pt", state


@pytest.mark.slow
def test_the_checkpoint_has_the_release_names(official):
    import torch

    path, state = official
    keys = torch.load(path, weights_only=True)["model"]
    assert {k.split(".")[0] for k in keys} == {"detector", "tracker"}
    # Names read in facebookresearch/sam3 (vitdet.py, text_encoder_ve.py, decoder.py,
    # sam3_tracker_base.py, memory.py).
    for name in (
        "detector.backbone.vision_backbone.trunk.pos_embed",
        "detector.backbone.vision_backbone.trunk.blocks.0.attn.qkv.weight",
        "detector.backbone.vision_backbone.convs.0.dconv_2x2_0.weight",
        "detector.backbone.vision_backbone.convs.1.dconv_2x2.weight",
        "detector.backbone.vision_backbone.sam2_convs.0.conv_1x1.weight",
        "detector.backbone.language_backbone.encoder.transformer.resblocks.0.attn.in_proj_weight",
        "detector.transformer.decoder.layers.0.ca_text.in_proj_weight",
        "detector.segmentation_head.cross_attend_prompt.in_proj_weight",
        "tracker.sam_prompt_encoder.point_embeddings.3.weight",
        "tracker.sam_mask_decoder.output_upscaling.0.weight",
        "tracker.maskmem_backbone.mask_downsampler.encoder.12.weight",
        "tracker.maskmem_backbone.fuser.layers.0.gamma",
        "tracker.transformer.encoder.layers.0.cross_attn_image.q_proj.weight",
    ):
        assert name in keys, name
    assert not any(".q_proj." in k for k in keys if k.startswith("detector."))
    pos = state["detector_model.vision_encoder.backbone.embeddings.position_embeddings"]
    assert keys["detector.backbone.vision_backbone.trunk.pos_embed"].shape[1] == pos.shape[1] + 1


@pytest.mark.slow
def test_sam3_pt_is_converted_once_and_masks(tmp_path, official, clips, monkeypatch):
    import torch
    from transformers.models.sam3_video.modeling_sam3_video import Sam3VideoModel

    from pipelines.video_edit import VideoEditRequest, preview_mask
    from pipelines.video_edit.models import available_models

    source, state = official
    pt = tmp_path / "release" / "sam3.pt"
    shutil.copytree(source.parent, pt.parent)
    models = tmp_path / "models"
    monkeypatch.setenv("SAM3_MODEL_PATH", str(pt))
    row = next(r for r in available_models([models]) if r["model"] == "SAM3")
    assert row["available"] and "converted on first use" in row["from"]

    def preview(job_id: str):
        return preview_mask(
            VideoEditRequest(
                job_id=job_id,
                input_video_path=clips["person"],
                output_dir=tmp_path / job_id,
                mask_prompt="hair",
                edit_prompt="-",
                frame_index=2,
                extra={"mask_backend": "sam3", "mask_threshold": 0.3},
            ),
            search_dirs=[models],
        )

    status = preview("first")
    assert status.status == "finished" and "(sam3)" in status.message
    assert (tmp_path / "first" / "first_mask.png").is_file()
    log = (tmp_path / "first" / "first_log.txt").read_text()
    assert "converting the official checkpoint" in log
    for step in ("1/4", "2/4", "3/4", "4/4"):
        assert f"SAM3 conversion {step}" in log
    stat = pt.stat()
    folder = models / CONVERTED_DIR / f"sam3-{stat.st_size}-{stat.st_mtime_ns}"
    converted = Sam3VideoModel.from_pretrained(folder).state_dict()
    assert set(converted) == set(state)
    assert all(torch.equal(converted[k], state[k]) for k in state)  # every weight in place

    status = preview("again")  # cached by size and mtime: no second conversion
    assert status.status == "finished"
    assert "converting" not in (tmp_path / "again" / "again_log.txt").read_text()

    os.utime(pt, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the file changed
    assert preview("changed").status == "finished"
    assert "converting" in (tmp_path / "changed" / "changed_log.txt").read_text()
    assert [p.name for p in (models / CONVERTED_DIR).iterdir() if p.is_dir()] == [
        f"sam3-{stat.st_size}-{stat.st_mtime_ns + 10**9}"
    ]  # the older conversion is gone


def test_a_pt_file_that_is_not_sam3_is_refused_with_a_message(tmp_path):
    import torch

    from pipelines.video_edit.sam3_checkpoint import convert

    pt = tmp_path / "other.pt"
    torch.save({"model": {"layer.weight": torch.zeros(2, 2)}}, pt)
    with pytest.raises(BadInput, match="not the official SAM3 video checkpoint"):
        convert(pt, tmp_path / "out")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(BadInput, match="could not be read"):
        convert(tmp_path / "junk.pt", tmp_path / "out2")


def test_a_file_that_is_not_a_checkpoint_is_named_in_the_message(tmp_path, monkeypatch):
    from pipelines.video_edit.models import SAM3, ModelMissing, locate

    other = tmp_path / "sam3.bin"
    other.write_bytes(b"x")
    monkeypatch.setenv("SAM3_MODEL_PATH", str(other))
    with pytest.raises(ModelMissing, match=r"is a file; give the official sam3\.pt"):
        locate(SAM3, None, [tmp_path])
