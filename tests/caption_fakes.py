"""Test doubles at the caption providers' outside boundaries (shared by dataset tests).

- :class:`FakeChatServer`: a local HTTP server on 127.0.0.1 that speaks the OpenAI
  chat-completions protocol; the real ``openai`` client talks to it.
- :func:`build_tiny_blip`: a random-weight ``BlipForConditionalGeneration`` built from a
  tiny config, saved with its processor and tokenizer to a folder, so the real
  ``load_captioner`` loads it offline like a downloaded model.
- :func:`build_tiny_florence2`, :func:`build_tiny_qwen25vl`: the same for the native
  ``Florence2ForConditionalGeneration`` and ``Qwen2_5_VLForConditionalGeneration``
  (byte-level tokenizers built in code, PIL image processors), offline.

Usage::

    with FakeChatServer(fail={"bad-model": 10}) as server:
        options = CaptionOptions(provider="api", api_base_url=server.base_url, ...)
    folder = build_tiny_blip(tmp_path / "blip", word="photo")
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests import tiny_tokenizers


class FakeChatServer:
    """OpenAI-compatible ``POST /v1/chat/completions`` on 127.0.0.1.

    ``fail``: model -> how many requests answer HTTP 500 before it succeeds.
    ``reply``: function(model, messages) -> answer text.
    Every request is recorded in ``requests`` (model, messages, Authorization header).
    """

    def __init__(
        self, fail: dict[str, int] | None = None, reply=None, unknown: set[str] | None = None
    ):
        self.fail = dict(fail or {})
        self.unknown = set(unknown or ())
        self.reply = reply or (
            lambda model, messages: f"a person standing outdoors, described by {model}"
        )
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(
                    self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}"
                )
                model = body.get("model", "")
                server.requests.append(
                    {
                        "model": model,
                        "messages": body.get("messages"),
                        "auth": self.headers.get("Authorization", ""),
                    }
                )
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": "not found"}})
                if model in server.unknown:
                    return self._send(
                        404,
                        {
                            "error": {
                                "message": f"model {model} does not exist",
                                "type": "invalid_request_error",
                            }
                        },
                    )
                if server.fail.get(model, 0) > 0:
                    server.fail[model] -= 1
                    return self._send(
                        500,
                        {"error": {"message": f"{model} is overloaded", "type": "server_error"}},
                    )
                text = server.reply(model, body.get("messages"))
                return self._send(
                    200,
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": text},
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def models_called(self) -> list[str]:
        return [r["model"] for r in self.requests]


TINY_WORDS = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "a",
    "photo",
    "of",
    "person",
    "woman",
    "man",
    "smiling",
    "red",
    "sky",
    "cat",
    "standing",
    "outdoors",
    "portrait",
]


def build_tiny_blip(folder: Path, word: str = "photo") -> Path:
    """Save a tiny random-weight BLIP captioner (model + processor + tokenizer) to ``folder``.

    The language-model head is biased towards ``word`` so that generation gives a
    known, non-empty text ("photo photo ...") through the real generate/decode path.
    """
    import torch
    from transformers import (
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = tiny_tokenizers.bert(TINY_WORDS)
    processor = BlipProcessor(
        image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tokenizer
    )
    config = BlipConfig(
        text_config=dict(
            vocab_size=len(TINY_WORDS),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=64,
            bos_token_id=2,
            eos_token_id=3,
            pad_token_id=0,
            sep_token_id=3,
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        ),
        projection_dim=32,
    )
    torch.manual_seed(0)
    model = BlipForConditionalGeneration(config)
    with torch.no_grad():
        model.text_decoder.cls.predictions.decoder.bias[TINY_WORDS.index(word)] += 50.0
    model.generation_config.max_new_tokens = 4
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


# Byte-level BPE vocabularies (no merges): every text encodes, one token per byte.
# ``word`` gets id 0 and the language-model head is zeroed, so greedy generation
# (argmax of all-equal logits -> first index) gives a known text ("photo photo ...")
# through the real generate/decode path, whatever the random weights do.


def _zero_lm_head(model) -> None:
    import torch

    with torch.no_grad():
        model.get_output_embeddings().weight.zero_()


def build_tiny_florence2(folder: Path, word: str = "photo") -> Path:
    """Save a tiny random-weight ``Florence2ForConditionalGeneration`` with its ``Florence2Processor``.

    The native (transformers 5.x) classes: a 1-stage DaViT vision tower on 16x16 images
    (4x4 patches + 1 pooled = 17 image tokens), a 1+1 layer BART, a byte-level BART
    tokenizer with the ``<image>`` token. The processor turns the task tokens
    (``<CAPTION>``, ``<DETAILED_CAPTION>``, ``<MORE_DETAILED_CAPTION>``, ...) into their prompts.
    """
    import torch
    from transformers import (
        Florence2Config,
        Florence2ForConditionalGeneration,
        Florence2Processor,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = tiny_tokenizers.bart(word, extra_special_tokens={"image_token": "<image>"})
    image_processor = CLIPImageProcessorPil(
        do_resize=True,
        size={"height": 16, "width": 16},
        do_center_crop=False,
        crop_size=None,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
        image_seq_length=17,
    )
    processor = Florence2Processor(image_processor=image_processor, tokenizer=tokenizer)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<s>", "<pad>", "</s>")}
    config = Florence2Config(
        text_config=dict(
            model_type="bart",
            vocab_size=len(tokenizer),
            d_model=16,
            max_position_embeddings=512,
            encoder_layers=1,
            encoder_ffn_dim=16,
            encoder_attention_heads=1,
            decoder_layers=1,
            decoder_ffn_dim=16,
            decoder_attention_heads=1,
            bos_token_id=ids["<s>"],
            pad_token_id=ids["<pad>"],
            eos_token_id=ids["</s>"],
            decoder_start_token_id=ids["</s>"],
            forced_eos_token_id=ids["</s>"],
            tie_word_embeddings=False,
        ),
        vision_config=dict(
            depths=[1],
            patch_size=[7],
            patch_stride=[4],
            patch_padding=[3],
            patch_prenorm=[False],
            embed_dim=[16],
            num_heads=[1],
            num_groups=[1],
            window_size=12,
            projection_dim=16,
        ),
        image_token_id=tokenizer.image_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = Florence2ForConditionalGeneration(config)
    _zero_lm_head(model)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


QWEN_CHAT_TEMPLATE = (  # the Qwen2-VL / Qwen2.5-VL template, minus the vision-id option
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

QWEN_SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]


def build_tiny_qwen25vl(folder: Path, word: str = "photo") -> Path:
    """Save a tiny random-weight ``Qwen2_5_VLForConditionalGeneration`` laid out like a Hub download.

    2-layer vision tower (4px patches, 2x2 merge, window + full attention), 2-layer text
    model with M-RoPE, a byte-level ``Qwen2Tokenizer`` with the Qwen special tokens and
    chat template, and a ``Qwen2VLImageProcessor`` (PIL backend) that keeps images
    between 8x8 and 32x32 pixels (a 64x48 image -> 12 image tokens). Files as in the Hub
    repos: tokenizer files, ``preprocessor_config.json``, ``chat_template.jinja`` and a
    ``processor_config.json`` naming ``Qwen2_5_VLProcessor`` (built by the loader; its
    video processor needs torchvision, which the fallback in ``pipelines.captions`` skips).
    """
    import json

    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = tiny_tokenizers.qwen2(
        word,
        QWEN_SPECIALS,
        chat_template=QWEN_CHAT_TEMPLATE,
        additional_special_tokens=QWEN_SPECIALS[1:],
    )
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
    image_processor = Qwen2VLImageProcessorPil(
        patch_size=4, temporal_patch_size=2, merge_size=2, min_pixels=8 * 8, max_pixels=32 * 32
    )
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=512,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [2, 1, 1],
            },
            bos_token_id=ids["<|endoftext|>"],
            eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"],
        ),
        vision_config=dict(
            depth=2,
            hidden_size=32,
            intermediate_size=32,
            num_heads=4,
            patch_size=4,
            spatial_merge_size=2,
            temporal_patch_size=2,
            window_size=16,
            out_hidden_size=32,
            fullatt_block_indexes=[1],
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config)
    _zero_lm_head(model)
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    image_processor.save_pretrained(folder)
    (folder / "chat_template.jinja").write_text(QWEN_CHAT_TEMPLATE)
    (folder / "processor_config.json").write_text(
        json.dumps({"processor_class": "Qwen2_5_VLProcessor"})
    )
    return folder
