"""Test doubles at the caption providers' outside boundaries (shared by dataset tests).

- :class:`FakeChatServer`: a local HTTP server on 127.0.0.1 that speaks the OpenAI
  chat-completions protocol; the real ``openai`` client talks to it.
- :func:`build_tiny_blip`: a random-weight ``BlipForConditionalGeneration`` built from a
  tiny config, saved with its processor and tokenizer to a folder, so the real
  ``load_captioner`` loads it offline like a downloaded model.

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


class FakeChatServer:
    """OpenAI-compatible ``POST /v1/chat/completions`` on 127.0.0.1.

    ``fail``: model -> how many requests answer HTTP 500 before it succeeds.
    ``reply``: function(model, messages) -> answer text.
    Every request is recorded in ``requests`` (model, messages, Authorization header).
    """

    def __init__(self, fail: dict[str, int] | None = None, reply=None, unknown: set[str] | None = None):
        self.fail = dict(fail or {})
        self.unknown = set(unknown or ())
        self.reply = reply or (lambda model, messages: f"a person standing outdoors, described by {model}")
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                model = body.get("model", "")
                server.requests.append(
                    {"model": model, "messages": body.get("messages"), "auth": self.headers.get("Authorization", "")}
                )
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": "not found"}})
                if model in server.unknown:
                    return self._send(404, {"error": {"message": f"model {model} does not exist", "type": "invalid_request_error"}})
                if server.fail.get(model, 0) > 0:
                    server.fail[model] -= 1
                    return self._send(500, {"error": {"message": f"{model} is overloaded", "type": "server_error"}})
                text = server.reply(model, body.get("messages"))
                return self._send(200, {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })

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


TINY_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "photo", "of", "person", "woman",
              "man", "smiling", "red", "sky", "cat", "standing", "outdoors", "portrait"]


def build_tiny_blip(folder: Path, word: str = "photo") -> Path:
    """Save a tiny random-weight BLIP captioner (model + processor + tokenizer) to ``folder``.

    The language-model head is biased towards ``word`` so that generation gives a
    known, non-empty text ("photo photo ...") through the real generate/decode path.
    """
    import torch
    from transformers import (BertTokenizerFast, BlipConfig, BlipForConditionalGeneration,
                              BlipImageProcessor, BlipProcessor)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {word: index for index, word in enumerate(TINY_WORDS)}
    tokenizer = BertTokenizerFast(vocab=vocab, bos_token="[CLS]", eos_token="[SEP]")
    processor = BlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tokenizer)
    config = BlipConfig(
        text_config=dict(vocab_size=len(TINY_WORDS), hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=64, bos_token_id=2, eos_token_id=3,
                         pad_token_id=0, sep_token_id=3),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
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
