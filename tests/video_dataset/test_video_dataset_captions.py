"""Captions through the real provider chain: a tiny random-weight local model and a
local OpenAI-protocol server, with the LLM rewrite step."""

from __future__ import annotations

import pytest

from pipelines.captions import CaptionOptions, load_captioner
from pipelines.video_dataset import CAPTION_PRESETS, VideoDatasetOptions, build_video_dataset
from pipelines.video_dataset.captioning import MERGE_INSTRUCTION, REWRITE_INSTRUCTION
from tests.caption_fakes import FakeChatServer


def _reply(model, messages):
    """Frame descriptions for image requests; merged / rewritten text for chat requests."""
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    user = messages[-1]["content"]
    if system == MERGE_INSTRUCTION:
        return f"MERGED({user.count('Frame ')} frames) a dancer spins"
    if system == REWRITE_INSTRUCTION:
        return f"REWRITTEN[{user}]"
    assert any(part.get("type") == "image_url" for part in user)  # a frame was sent
    return "a dancer in a red dress"


@pytest.fixture(scope="module")
def tiny_model(tiny_blips):
    return tiny_blips("person")


def test_local_model_captions_each_clip_then_api_rewrites(tmp_path, media, tiny_model):
    with FakeChatServer(reply=_reply) as server:
        caption = CaptionOptions(
            provider="local",
            local_model=str(tiny_model),
            device="cpu",
            max_new_tokens=8,
            prefix="A high quality video, ",
            api_base_url=server.base_url,
            api_key="sk-secret",
            api_models=["qwen-plus"],
        )
        options = VideoDatasetOptions(caption=caption, rewrite=True, write_preview=False)
        result = build_video_dataset([media["fps30"], media["vfr"]], tmp_path / "ds", options)

    assert len(result.clips) == 2 and not any("failed" in w for w in result.warnings)
    for clip in result.clips:
        text = (tmp_path / "ds" / f"{clip.number}.txt").read_text().strip()
        # the tiny model's own words went to the rewrite, the prefix stays first
        assert text.startswith("A high quality video, REWRITTEN[")
        assert "person" in text
    assert server.models_called() == [
        "qwen-plus",
        "qwen-plus",
    ]  # one rewrite per clip, no image sent
    assert all(r["auth"] == "Bearer sk-secret" for r in server.requests)


def test_api_describes_sampled_frames_merges_and_rewrites(tmp_path, media):
    with FakeChatServer(reply=_reply) as server:
        caption = CaptionOptions(
            provider="api",
            api_base_url=server.base_url,
            api_models=["qwen-vl-max"],
            trigger="ohwx",
            prefix="A high quality video, ",
        )
        options = VideoDatasetOptions(
            caption=caption,
            caption_method="extra",
            caption_frames=3,
            rewrite=True,
            write_preview=False,
        )
        result = build_video_dataset(media["fps30"], tmp_path / "ds", options)

    text = (tmp_path / "ds" / "1.txt").read_text().strip()
    assert text == "ohwx, A high quality video, REWRITTEN[MERGED(3 frames) a dancer spins]"
    assert result.clips[0].caption == text
    # 3 frame requests with the preset's instruction, 1 merge, 1 rewrite
    assert len(server.requests) == 5
    first = server.requests[0]["messages"][0]["content"]
    assert first[0]["text"] == CAPTION_PRESETS["extra"].api_instruction


def test_api_failure_keeps_the_clip_with_the_prefix(tmp_path, media):
    with FakeChatServer(unknown={"gone"}) as server:
        caption = CaptionOptions(
            provider="api", api_base_url=server.base_url, api_models=["gone"], prefix="P"
        )
        result = build_video_dataset(
            media["fps25"],
            tmp_path / "ds",
            VideoDatasetOptions(caption=caption, write_preview=False),
        )
    assert (tmp_path / "ds" / "1.txt").read_text().strip() == "P"
    assert any("caption failed" in w for w in result.warnings)


def test_a_loaded_captioner_is_reused(tmp_path, media, tiny_model):
    """The worker loads the model once and passes it to every job."""
    options = CaptionOptions(
        provider="local", local_model=str(tiny_model), device="cpu", max_new_tokens=8
    )
    captioner = load_captioner(options)
    result = build_video_dataset(
        media["fps25"],
        tmp_path / "ds",
        VideoDatasetOptions(caption=options, write_preview=False),
        captioner=captioner,
    )
    assert "person" in result.clips[0].caption
