"""Text-prompted masks, frame after frame: three backends behind one seam.

- **SAM3 video** (``Sam3VideoModel``): detects what the text names and tracks
  it through the clip (frames streamed in one at a time; old frames and old
  tracker memories are dropped, so memory stays flat on long clips).
- **CLIPSeg** (``CLIPSegForImageSegmentation``): a lighter text segmenter,
  frame by frame.
- **MediaPipe selfie segmentation** (inside the mediapipe wheel, offline): for
  person prompts only; a new user gets a real mask with no download.

A backend opens a :class:`MaskSession` for one prompt; ``session.masks(frames)``
returns one probability map (float32, 0..1, the frame's aspect ratio, any
resolution) per frame. torch, transformers and mediapipe are imported inside
the loaders.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import numpy as np

PERSON_WORDS = frozenset(
    {
        "person",
        "people",
        "human",
        "man",
        "woman",
        "body",
        "subject",
        "persons",
        "humans",
        "men",
        "women",
        "bodies",
        "subjects",
    }
)
_FILLER = {"a", "an", "the", "this", "that", "each", "every", "all", "of"}


def is_person_prompt(text: str) -> bool:
    """'person', 'the woman', 'people' → True; 'hair', "the man's shirt" → False."""
    words = [w for w in re.findall(r"[a-z']+", (text or "").lower()) if w not in _FILLER]
    return bool(words) and all(w in PERSON_WORDS for w in words)


class MaskSession(Protocol):
    def masks(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """One probability map per frame (frames in clip order, each once)."""

    def close(self) -> None: ...


class MaskBackend(Protocol):
    name: str

    def session(self, prompt: str, width: int, height: int) -> MaskSession: ...


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    clipped: np.ndarray = np.clip(np.asarray(x, np.float64), -30.0, 30.0)
    out: np.ndarray = 1.0 / (1.0 + np.exp(-clipped))
    return out.astype(np.float32)


def _to_tensor(frames: list[np.ndarray], size: tuple[int, int], mean: Any, std: Any):
    """RGB uint8 frames -> a normalised NCHW float tensor of ``size`` (w, h)."""
    import cv2
    import torch

    pixels = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_LINEAR) for f in frames]).astype(
        np.float32
    )
    batch: np.ndarray = (pixels / 255.0 - np.asarray(mean, np.float32)) / np.asarray(
        std, np.float32
    )
    return torch.from_numpy(batch.astype(np.float32).transpose(0, 3, 1, 2).copy())


# -- MediaPipe -----------------------------------------------------------------------------


class MediaPipeBackend:
    """People only (selfie segmentation, general model). No weights to load."""

    name = "mediapipe"
    max_side = 512  # the model works at 256 px: smaller input is as good and faster

    def session(self, prompt: str, width: int, height: int) -> MaskSession:
        return _MediaPipeSession(self.max_side)


class _MediaPipeSession:
    def __init__(self, max_side: int):
        import mediapipe as mp

        self._model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        self._max_side = max_side

    def masks(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        import cv2

        out = []
        for frame in frames:
            h, w = frame.shape[:2]
            scale = min(1.0, self._max_side / max(h, w))
            small = (
                frame
                if scale >= 1.0
                else cv2.resize(
                    frame,
                    (max(1, round(w * scale)), max(1, round(h * scale))),
                    interpolation=cv2.INTER_AREA,
                )
            )
            result = self._model.process(np.ascontiguousarray(small))
            mask = result.segmentation_mask
            out.append(
                np.zeros(small.shape[:2], np.float32) if mask is None else mask.astype(np.float32)
            )
        return out

    def close(self) -> None:
        self._model.close()


# -- CLIPSeg -------------------------------------------------------------------------------

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipSegBackend:
    """``CLIPSegForImageSegmentation`` by hand (its processor needs torchvision)."""

    name = "clipseg"

    def __init__(self, folder: str, device: str | None = None):
        import json
        from pathlib import Path

        import torch
        from transformers import AutoTokenizer, CLIPSegForImageSegmentation

        self.device = device or _device()
        model: Any = CLIPSegForImageSegmentation.from_pretrained(folder, use_safetensors=True)
        self.model = model.to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.image_size = int(self.model.config.vision_config.image_size)
        self.mean, self.std = CLIP_MEAN, CLIP_STD
        pre = Path(folder) / "preprocessor_config.json"
        if pre.is_file():
            config = json.loads(pre.read_text())
            self.mean = tuple(config.get("image_mean", self.mean))
            self.std = tuple(config.get("image_std", self.std))
        self._torch = torch

    def session(self, prompt: str, width: int, height: int) -> MaskSession:
        return _ClipSegSession(self, prompt)


class _ClipSegSession:
    def __init__(self, backend: ClipSegBackend, prompt: str):
        self.b = backend
        tokens = backend.tokenizer([prompt], padding=True, return_tensors="pt")
        self.input_ids = tokens["input_ids"].to(backend.device)
        self.attention_mask = tokens["attention_mask"].to(backend.device)

    def masks(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        b = self.b
        pixels = _to_tensor(frames, (b.image_size, b.image_size), b.mean, b.std).to(b.device)
        n = len(frames)
        with b._torch.inference_mode():
            logits = b.model(
                input_ids=self.input_ids.expand(n, -1),
                attention_mask=self.attention_mask.expand(n, -1),
                pixel_values=pixels,
            ).logits
        logits = logits.float().reshape(n, *logits.shape[-2:]).cpu().numpy()
        return [_sigmoid(x) for x in logits]

    def close(self) -> None:
        pass


# -- SAM3 video ------------------------------------------------------------------------------


class Sam3Backend:
    """``Sam3VideoModel`` with a text prompt, frames streamed into one session.

    Imported from ``transformers.models.sam3_video.modeling_sam3_video`` (the
    package's lazy import pulls processors that need torchvision); frames are
    preprocessed by hand: resized to the model's square size, scaled to 0..1,
    normalised with mean 0.5 / std 0.5.
    """

    name = "sam3"

    def __init__(self, folder: str, device: str | None = None):
        import torch
        from transformers import AutoTokenizer
        from transformers.models.sam3_video.modeling_sam3_video import Sam3VideoModel

        self.device = device or _device()
        self.dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        model: Any = Sam3VideoModel.from_pretrained(folder, use_safetensors=True)
        self.model = model.to(self.device, dtype=self.dtype).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.image_size = int(self.model.config.image_size)
        tracker = self.model.config.tracker_config
        self.keep_frames = (
            max(
                int(getattr(tracker, "num_maskmem", 7)),
                int(getattr(tracker, "max_object_pointers_in_encoder", 16)),
            )
            + 2
        )

    def session(self, prompt: str, width: int, height: int) -> MaskSession:
        return _Sam3Session(self, prompt, width, height)


class _Sam3Session:
    def __init__(self, backend: Sam3Backend, prompt: str, width: int, height: int):
        from transformers.models.sam3_video.modeling_sam3_video import Sam3VideoInferenceSession

        self.b = backend
        self.session = Sam3VideoInferenceSession(
            video_height=height,
            video_width=width,
            inference_device=backend.device,
            inference_state_device=backend.device,
            video_storage_device=backend.device,
            dtype=backend.dtype,
        )
        prompt_id = self.session.add_prompt(prompt)
        tokens = backend.tokenizer(
            prompt, return_tensors="pt", padding="max_length", max_length=32, truncation=True
        )
        self.session.prompt_input_ids[prompt_id] = tokens.input_ids.to(backend.device)
        self.session.prompt_attention_masks[prompt_id] = tokens.attention_mask.to(backend.device)
        self.index = 0

    def masks(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        b = self.b
        out = []
        pixels = _to_tensor(frames, (b.image_size, b.image_size), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
        with torch.inference_mode():
            for frame in pixels:
                result = b.model(
                    inference_session=self.session, frame=frame.to(b.device, dtype=b.dtype)
                )
                out.append(self._union(result))
                self._forget_old(result.frame_idx if result.frame_idx is not None else self.index)
                self.index += 1
        return out

    def _union(self, result) -> np.ndarray:
        hidden = set(result.suppressed_obj_ids or ()) | set(
            self.session.hotstart_removed_obj_ids or ()
        )
        logits = [m for obj_id, m in (result.obj_id_to_mask or {}).items() if obj_id not in hidden]
        size = self.b.model.low_res_mask_size
        if not logits:
            return np.zeros((size, size), np.float32)
        stacked = np.stack(
            [m.float().reshape(m.shape[-2], m.shape[-1]).cpu().numpy() for m in logits]
        )
        return _sigmoid(stacked.max(axis=0))

    def _forget_old(self, frame_idx: int) -> None:
        """Drop processed frames and tracker memories the model no longer reads."""
        s = self.session
        try:
            frames = s.processed_frames or {}
            for idx in [i for i in frames if i < frame_idx]:
                del frames[idx]
            limit = frame_idx - self.b.keep_frames
            for per_obj in s.output_dict_per_obj.values():
                old = per_obj.get("non_cond_frame_outputs", {})
                for idx in [i for i in old if i < limit]:
                    del old[idx]
        except (
            AttributeError,
            TypeError,
        ):  # internals moved in another transformers version: keep all
            pass

    def close(self) -> None:
        self.session.reset_state()


def load_backend(name: str, folder: str | None) -> MaskBackend:
    if name == "mediapipe":
        return MediaPipeBackend()
    if folder is None:
        raise ValueError(f"the {name} mask backend needs a model folder")
    if name == "clipseg":
        return ClipSegBackend(folder)
    if name == "sam3":
        return Sam3Backend(folder)
    raise ValueError(f"unknown mask backend {name!r}")
