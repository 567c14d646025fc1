"""Local caption models beyond BLIP: tiny real Florence-2 and Qwen2.5-VL through the real loader.

The models are random-weight instances of the real transformers classes with a zeroed
language-model head (see ``tests/caption_fakes.py``), so greedy decoding gives
"photo photo ..." and the tests can check the exact text that comes out of the
generate -> trim -> decode path. ``_Recorder`` only watches the transformers processor
(what text goes in, what ids come out); our code runs unchanged.
"""

from __future__ import annotations

import pytest
from PIL import Image

from pipelines.captions import (
    CaptionOptions,
    check_caption,
    compose_caption,
    default_instruction,
    load_captioner,
)
from tests.caption_fakes import build_tiny_florence2, build_tiny_qwen25vl


def images(n=3):
    # different widths: Qwen gets a different number of image tokens per image -> padded batch
    return [Image.new("RGB", (64 + 8 * i, 48), (40 * i, 120, 200)) for i in range(n)]


class _Recorder:
    """Wraps a transformers processor: records each call's text and result, delegates everything."""

    def __init__(self, processor):
        self._processor, self.calls = processor, []

    def __call__(self, *args, **kwargs):
        result = self._processor(*args, **kwargs)
        self.calls.append((kwargs.get("text"), result))
        return result

    def __getattr__(self, name):
        return getattr(self._processor, name)


def _options(folder, **extra):
    return CaptionOptions(
        provider="local",
        local_model=str(folder),
        max_new_tokens=8,
        device="cpu",
        trigger="ohwx",
        **extra,
    )


@pytest.fixture(scope="module")
def florence(tmp_path_factory):
    return build_tiny_florence2(tmp_path_factory.mktemp("florence2"), word="photo")


@pytest.fixture(scope="module")
def qwen(tmp_path_factory):
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("qwen25vl"), word="photo")


def test_florence2_captions_a_batch_and_maps_task_tokens(florence):
    options = _options(florence, batch_size=2)
    captioner = load_captioner(options)
    assert type(captioner.model).__name__ == "Florence2ForConditionalGeneration"
    assert captioner.model_type == "florence2"
    recorder = captioner.processor = _Recorder(captioner.processor)

    # a free instruction: the style picks the Florence task (sentence -> <MORE_DETAILED_CAPTION>)
    raws = captioner.describe(images(3), default_instruction(options))  # batches of 2 + 1
    assert len(raws) == 3 and all(isinstance(r, str) for r in raws)
    assert all(
        r and set(r.split()) == {"photo"} for r in raws
    )  # decoder start/<s>/</s> are skipped
    assert [text for text, _ in recorder.calls] == [
        ["<MORE_DETAILED_CAPTION>"] * 2,
        ["<MORE_DETAILED_CAPTION>"],
    ]

    # a task token as the instruction is used as is; the processor turns it into its prompt
    recorder.calls.clear()
    raws = captioner.describe(images(2), "<DETAILED_CAPTION>")
    assert len(raws) == 2 and all(set(r.split()) == {"photo"} for r in raws)
    text, inputs = recorder.calls[0]
    assert text == ["<DETAILED_CAPTION>"] * 2
    prompt = captioner.processor.tokenizer.decode(inputs["input_ids"][0], skip_special_tokens=True)
    assert "Describe in detail what is shown in the image." in prompt
    assert inputs["pixel_values"].shape[0] == 2

    # tags style without a task token -> <DETAILED_CAPTION>
    captioner.options.style = "tags"
    recorder.calls.clear()
    captioner.describe(images(1), "List tags")
    assert recorder.calls[0][0] == ["<DETAILED_CAPTION>"]

    caption = compose_caption(raws[0], options)
    assert caption.startswith("ohwx, photo")
    assert check_caption(caption, options) == []


def test_qwen25vl_captions_a_padded_batch_through_the_chat_template(qwen):
    options = _options(qwen, batch_size=4)
    captioner = load_captioner(options)
    assert type(captioner.model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert captioner.model_type == "qwen2_5_vl"
    recorder = captioner.processor = _Recorder(captioner.processor)

    instruction = "Describe the person in one sentence."
    raws = captioner.describe(images(3), instruction)
    # exactly the 8 new tokens: the prompt (system, user, instruction) is cut off before decoding
    assert raws == [" ".join(["photo"] * 8)] * 3

    ((texts, inputs),) = recorder.calls
    assert len(texts) == 3
    for text in texts:
        assert text.startswith("<|im_start|>system\n")
        assert (
            f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{instruction}<|im_end|>\n"
            in text
        )
        assert text.endswith("<|im_start|>assistant\n")
    # images of different sizes -> different numbers of image tokens -> left padding
    pad = captioner.processor.tokenizer.pad_token_id
    tokens = inputs["image_grid_thw"].prod(-1) // 4
    assert len(set(tokens.tolist())) > 1
    assert (inputs["input_ids"][:, -1] != pad).all() and (inputs["input_ids"][:, 0] == pad).any()

    caption = compose_caption(raws[0], options)
    assert caption == "ohwx, " + raws[0]
    assert check_caption(caption, options) == []


def test_qwen25vl_single_image_and_one_per_batch(qwen):
    captioner = load_captioner(_options(qwen, batch_size=1))
    raws = captioner.describe(images(2), "What is in this picture?")
    assert raws == [" ".join(["photo"] * 8)] * 2
