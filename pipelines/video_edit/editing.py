"""The instruction edit: InstructPix2Pix on the crop around the mask.

Each group of frames shares one crop box (the union of their dilated mask
boxes), resized so its long side is about ``working_size`` (sides multiples of
8). Every frame starts from the same initial latents and the same noise seed
(less flicker); frames are edited in batches, in fp16 on CUDA. The edited
crop goes back into the frame; the feathered mask decides later which of its
pixels are kept. ``on_step`` runs after every denoising step (progress, and
the cancel point).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

CONTEXT = (
    0.15  # the crop box reaches this fraction of the mask box beyond it (context for the model)
)
MIN_MARGIN = 16  # pixels


def ip2p_load_kwargs(device: str, gpu_count: int) -> dict[str, Any]:
    """``from_pretrained`` arguments for InstructPix2Pix on ``device`` with ``gpu_count``
    GPUs visible to the job (its lane's CUDA_VISIBLE_DEVICES): fp16 on CUDA, and with
    more than one GPU the components spread over them (``device_map="balanced"``, as
    seed 003 does); safetensors only, no safety checker."""
    import torch

    kwargs: dict[str, Any] = {
        "dtype": torch.float16 if device == "cuda" else torch.float32,
        "safety_checker": None,
        "requires_safety_checker": False,
        "use_safetensors": True,
    }
    if device == "cuda" and gpu_count > 1:
        kwargs["device_map"] = "balanced"
    return kwargs


def load_ip2p(
    folder: str,
    device: str | None = None,
    say: Callable[[str], None] | None = None,
    gpus: int | None = None,
):
    """``StableDiffusionInstructPix2PixPipeline`` from a diffusers folder, on one GPU, the
    CPU, or balanced over the GPUs this process sees (at most ``gpus`` of them, the
    request's option; None: all)."""
    import torch
    from diffusers import StableDiffusionInstructPix2PixPipeline

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    seen = torch.cuda.device_count() if device == "cuda" else 0
    used = min(seen, gpus or seen)
    kwargs = ip2p_load_kwargs(device, used)
    if "device_map" in kwargs and used < seen:  # only the first ``used`` GPUs take a part
        kwargs["max_memory"] = {i: torch.cuda.mem_get_info(i)[0] for i in range(used)}
    pipe = StableDiffusionInstructPix2PixPipeline.from_pretrained(folder, **kwargs)
    if "device_map" in kwargs:
        if say is not None:
            say(f"edit model balanced over {used} GPUs: {getattr(pipe, 'hf_device_map', '')}")
    else:
        pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def working_shape(width: int, height: int, working_size: int) -> tuple[int, int]:
    """(w, h) for a crop: long side ≈ working_size, both multiples of 8, aspect kept."""
    scale = working_size / max(width, height)
    w = max(8, round(width * scale / 8) * 8)
    h = max(8, round(height * scale / 8) * 8)
    return w, h


def crop_box(
    mask_box: tuple[int, int, int, int], width: int, height: int, feather: int
) -> tuple[int, int, int, int]:
    """The mask box grown by context and the feathered edge, inside the frame."""
    x0, y0, x1, y1 = mask_box
    margin = max(MIN_MARGIN, int(CONTEXT * max(x1 - x0, y1 - y0))) + 3 * feather
    return (
        max(0, x0 - margin),
        max(0, y0 - margin),
        min(width, x1 + margin),
        min(height, y1 + margin),
    )


@dataclass
class EditSettings:
    prompt: str
    num_inference_steps: int = 50
    guidance_scale: float = 9.0
    image_guidance_scale: float = 1.5
    seed: int = 42
    working_size: int = 512


class Editor:
    """Edits crops with one loaded pipeline and one fixed initial noise."""

    def __init__(self, pipe, settings: EditSettings):
        import torch

        self.pipe = pipe
        self.s = settings
        self.device = pipe._execution_device  # where inputs go (the first GPU when balanced)
        self.dtype = pipe.unet.dtype
        self.scale = int(getattr(pipe, "vae_scale_factor", 8))
        channels = int(pipe.vae.config.latent_channels)
        side = settings.working_size // self.scale + 1
        generator = torch.Generator("cpu").manual_seed(settings.seed)
        # one noise field for the job; each crop shape takes its top-left corner
        self.noise = torch.randn(
            (1, channels, side, side), generator=generator, dtype=torch.float32
        )

    def edit(
        self, crops: list[np.ndarray], on_step: Callable[[int, int], None] | None = None
    ) -> list[np.ndarray]:
        """Crops (RGB uint8, one size) -> edited crops of the same size."""
        import cv2
        import torch

        if not crops:
            return []
        h0, w0 = crops[0].shape[:2]
        w, h = working_shape(w0, h0, self.s.working_size)
        batch = np.stack(
            [
                cv2.resize(c, (w, h), interpolation=cv2.INTER_AREA if w < w0 else cv2.INTER_CUBIC)
                for c in crops
            ]
        ).astype(np.float32)
        image = torch.from_numpy(batch.transpose(0, 3, 1, 2) / 255.0).to(
            self.device, self.dtype
        )  # 0..1
        n = len(crops)
        latents = self.noise[:, :, : h // self.scale, : w // self.scale].expand(n, -1, -1, -1)
        latents = latents.to(self.device, self.dtype)
        generators = [torch.Generator("cpu").manual_seed(self.s.seed) for _ in range(n)]
        steps = self.s.num_inference_steps

        def callback(pipe, step: int, timestep, kwargs):
            if on_step is not None:
                on_step(step + 1, steps)
            return {}

        with torch.inference_mode():
            result = self.pipe(
                prompt=[self.s.prompt] * n,
                image=image,
                num_inference_steps=steps,
                guidance_scale=self.s.guidance_scale,
                image_guidance_scale=self.s.image_guidance_scale,
                generator=generators,
                latents=latents,
                output_type="np",
                callback_on_step_end=callback,
            )
        images = np.clip(np.rint(np.asarray(result.images) * 255.0), 0, 255).astype(np.uint8)
        return [cv2.resize(img, (w0, h0), interpolation=cv2.INTER_CUBIC) for img in images]


def paste(frame: np.ndarray, edited_crop: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``frame`` with ``box`` replaced by the edited crop (the mask blends it later)."""
    x0, y0, x1, y1 = box
    out = frame.copy()
    out[y0:y1, x0:x1] = edited_crop
    return out
