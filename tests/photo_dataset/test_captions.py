"""Caption providers: local VLM (tiny real BLIP), OpenAI-compatible API, composition."""

from __future__ import annotations

import pytest
from PIL import Image

from pipelines.captions import (
    CaptionError,
    CaptionOptions,
    check_caption,
    compose_caption,
    load_captioner,
)
from tests.caption_fakes import FakeChatServer

KEY = "sk-test-SECRET-0123456789abcdef"


def images(n=3):
    return [Image.new("RGB", (64 + 8 * i, 48), (40 * i, 120, 200)) for i in range(n)]


def test_compose_puts_trigger_and_prefix_first_and_cleans_tags():
    sentence = CaptionOptions(trigger="ohwx", prefix="a photo of a woman,")
    assert (
        compose_caption("  This image shows a smiling  woman\n outdoors. ", sentence)
        == "ohwx, a photo of a woman, a smiling woman outdoors."
    )
    tags = CaptionOptions(trigger="ohwx", style="tags")
    assert (
        compose_caption("Red Coat, smiling,red coat;\nOHWX, park.", tags)
        == "ohwx, red coat, smiling, park"
    )
    assert compose_caption("", CaptionOptions(trigger="ohwx")) == "ohwx"


def test_check_caption_warns_on_missing_trigger_and_identity_word():
    options = CaptionOptions(trigger="ohwx", identity_words=["Alice Smith", "Alice"])
    assert check_caption("ohwx, a woman in a park", options) == []
    warnings = check_caption("a photo of alice in a park", options)
    assert any("trigger word 'ohwx'" in w for w in warnings)
    assert any("identity word 'Alice'" in w for w in warnings)


@pytest.fixture(scope="module")
def tiny_blip(tiny_blips):
    return tiny_blips("portrait")


def test_local_model_loads_from_folder_and_captions_each_image(tiny_blip):
    options = CaptionOptions(
        provider="local",
        local_model=str(tiny_blip),
        trigger="ohwx",
        batch_size=2,
        max_new_tokens=3,
        device="cpu",
    )
    captioner = load_captioner(options)
    raws = captioner.describe(images(3), "describe")  # 3 images in batches of 2
    assert raws == ["portrait portrait portrait"] * 3
    assert compose_caption(raws[0], options) == "ohwx, portrait portrait portrait"
    with pytest.raises(CaptionError):
        captioner.chat("rewrite", "x")


def test_missing_local_model_says_how_to_get_it(tmp_path):
    with pytest.raises(CaptionError, match="hf download"):
        load_captioner(
            CaptionOptions(provider="local", local_model=str(tmp_path / "no-such-model"))
        )


def test_api_retries_then_falls_back_and_never_shows_the_key():
    log: list[str] = []
    with FakeChatServer(fail={"primary": 100}) as server:
        options = CaptionOptions(
            provider="api",
            api_base_url=server.base_url,
            api_key=KEY,
            api_models=["primary", "backup"],
            api_retries=2,
            api_backoff=0.01,
        )
        captioner = load_captioner(options, log=log.append)
        raws = captioner.describe(images(2), "describe")
        assert raws == ["a person standing outdoors, described by backup"] * 2
        # 1 try + 2 retries on primary, then backup; the second image starts at backup
        assert server.models_called() == ["primary"] * 3 + ["backup", "backup"]
        assert server.requests[0]["auth"] == f"Bearer {KEY}"  # the key does reach the server
        image_part = server.requests[-1]["messages"][0]["content"][1]
        assert image_part["image_url"]["url"].startswith("data:image/jpeg;base64,")
        assert any("falling back to backup" in line for line in log)
    assert KEY not in " ".join(log) and KEY not in repr(options) and KEY not in repr(captioner)


def test_api_whole_chain_failing_names_each_model_without_the_key():
    with FakeChatServer(fail={"a": 100}, unknown={"b"}) as server:
        options = CaptionOptions(
            provider="api",
            api_base_url=server.base_url,
            api_key=KEY,
            api_models=["a", "b"],
            api_retries=1,
            api_backoff=0.01,
        )
        with pytest.raises(CaptionError) as info:
            load_captioner(options).describe(images(1), "describe")
        # an unknown model is not retried
        assert server.models_called() == ["a", "a", "b"]
    message = str(info.value)
    assert "a: HTTP 500 Internal Server Error" in message and "b: HTTP 404 Not Found" in message
    assert KEY not in message


def test_api_chat_rewrites_text():
    with FakeChatServer(reply=lambda model, messages: messages[-1]["content"].upper()) as server:
        options = CaptionOptions(provider="api", api_base_url=server.base_url, api_models=["m"])
        assert load_captioner(options).chat("a cat on a sofa", "rewrite") == "A CAT ON A SOFA"


def test_bad_options_are_reported_before_any_work():
    with pytest.raises(CaptionError, match="base URL"):
        load_captioner(CaptionOptions(provider="api", api_models=["m"]))
    with pytest.raises(CaptionError, match="Unknown caption provider"):
        load_captioner(CaptionOptions(provider="magic"))
