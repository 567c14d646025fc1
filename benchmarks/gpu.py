"""GPU figures in one call: every GPU pipeline of the studio at real size.

    python benchmarks/gpu.py --out benchmarks/gpu-results.md     # one CUDA machine, < 8 min on an H100
    python benchmarks/gpu.py --dry-run                           # CPU, tiny configs, < 60 s (CI)

For each pipeline the real-size model is built from its real config (written
below as dicts: the model cards' config.json values, or the library's default
config where that is the real model) with random weights — random weights at
real size run the same kernels as trained ones — and run through the studio's
own code on a short synthetic input at the seeds' default sizes:

- video edit, editing: InstructPix2Pix (SD 1.5 UNet with 8 input channels, SD
  VAE, CLIP ViT-L text encoder) saved to a folder, loaded by
  ``pipelines.video_edit.editing.load_ip2p`` and run by its ``Editor`` on
  crops at the 512 working size, 4 crops a batch (the options' defaults);
- video edit, masking: SAM3 video (``Sam3VideoModel``, the library's default
  config) and CLIPSeg (CIDAS/clipseg-rd64-refined) loaded by
  ``pipelines.video_edit.masking`` and fed 1280×720 frames 8 at a time;
- captions: Florence-2-base and Qwen2.5-VL-3B loaded by
  ``pipelines.captions.load_captioner`` and run by ``LocalCaptioner``
  (4 images of 1024×1024 a batch, 96 new tokens each);
- dance: Wan2.2-Animate-14B (``WanAnimateTransformer3DModel`` 14B config, UMT5-XXL,
  CLIP ViT-H/14 image encoder, Wan VAE) built in place and run by
  ``pipelines.dance.wan_animate.generate`` on a synthetic pair folder at the
  seed's 1024*576 × 81 frames (832*480 when that runs out of memory).

Each pipeline is loaded (load time: from a folder written just before, so from
the page cache: a lower bound), warmed up, then timed over a few steps; the
table gives seconds per step / frame / image, the peak GPU memory
(``torch.cuda.max_memory_allocated`` after the load) and the load time, for
the variants users pick (half precisions, diffusers' model CPU offload, the
studio's Wan offload option). Each pipeline has a share of the time budget; a
variant that would run past it is skipped with a note. SteadyDancer runs only
as its official code in its own environment: the script prints how to time it.

``--dry-run`` runs the same code on the CPU on tiny configs (so it is tested),
and still prints each real-size model's parameter count, built on the ``meta``
device (no memory). Tokenizers are the tests' offline byte-level ones (ids fit
every real vocabulary; text lengths differ a little from the real tokenizers').
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "tests", ROOT / "tests" / "video_edit", ROOT / "tests" / "dance"):
    sys.path.insert(0, str(_p))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# --------------------------------------------------------------------------- real configs

SD15_UNET = {  # runwayml/stable-diffusion-v1-5 unet/config.json, 8 input channels (timbrooks/instruct-pix2pix)
    "sample_size": 64,
    "in_channels": 8,
    "out_channels": 4,
    "down_block_types": [
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D",
    ],
    "up_block_types": [
        "UpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
    ],
    "block_out_channels": [320, 640, 1280, 1280],
    "layers_per_block": 2,
    "attention_head_dim": 8,
    "cross_attention_dim": 768,
    "norm_num_groups": 32,
}
SD15_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "sample_size": 512,
}
CLIP_L_TEXT = {  # openai/clip-vit-large-patch14 text model (SD 1.5's text encoder)
    "vocab_size": 49408,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": 77,
    "hidden_act": "quick_gelu",
    "projection_dim": 768,
    "bos_token_id": 0,  # the offline byte-level tokenizer's ids
    "eos_token_id": 1,
    "pad_token_id": 1,
}
SAM3_VIDEO: dict[str, Any] = {  # transformers' Sam3VideoConfig() is facebook/sam3's size
    # random weights score nothing above the real thresholds: track what they find, at most 3
    "score_threshold_detection": 0.0,
    "new_det_thresh": 0.0,
    "max_num_objects": 3,
}
CLIPSEG_RD64_REFINED = {  # CIDAS/clipseg-rd64-refined config.json
    "text_config": {
        "vocab_size": 49408,
        "hidden_size": 512,
        "intermediate_size": 2048,
        "num_hidden_layers": 12,
        "num_attention_heads": 8,
        "max_position_embeddings": 77,
        "bos_token_id": 0,
        "eos_token_id": 1,
        "pad_token_id": 1,
    },
    "vision_config": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "image_size": 224,
        "patch_size": 16,
    },
    "projection_dim": 512,
    "extract_layers": [3, 6, 9],
    "reduce_dim": 64,
    "decoder_num_attention_heads": 4,
    "decoder_intermediate_size": 2048,
    "conditional_layer": 0,
    "use_complex_transposed_convolution": True,
}
FLORENCE2_BASE = {  # florence-community/Florence-2-base config.json
    "text_config": {
        "model_type": "bart",
        "vocab_size": 51289,
        "d_model": 768,
        "encoder_layers": 6,
        "decoder_layers": 6,
        "encoder_attention_heads": 12,
        "decoder_attention_heads": 12,
        "encoder_ffn_dim": 3072,
        "decoder_ffn_dim": 3072,
        "max_position_embeddings": 1024,
    },
    "vision_config": {
        "depths": [1, 1, 9, 1],
        "embed_dim": [128, 256, 512, 1024],
        "num_heads": [4, 8, 16, 32],
        "num_groups": [4, 8, 16, 32],
        "window_size": 12,
        "projection_dim": 768,
    },
    "image_size": 768,
    "image_seq_length": 577,
}
QWEN25_VL_3B = {  # Qwen/Qwen2.5-VL-3B-Instruct config.json
    "text_config": {
        "vocab_size": 151936,
        "hidden_size": 2048,
        "intermediate_size": 11008,
        "num_hidden_layers": 36,
        "num_attention_heads": 16,
        "num_key_value_heads": 2,
        "max_position_embeddings": 128000,
        "rms_norm_eps": 1e-6,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1000000.0,
            "mrope_section": [16, 24, 24],
        },
    },
    "vision_config": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "out_hidden_size": 2048,
        "fullatt_block_indexes": [7, 15, 23, 31],
    },
    "tie_word_embeddings": True,
    "image": {"patch_size": 14, "merge_size": 2, "min_pixels": 3136, "max_pixels": 12845056},
}
WAN_ANIMATE_14B: dict[str, Any] = {  # Wan-AI/Wan2.2-Animate-14B-Diffusers
    "transformer": {},  # diffusers' WanAnimateTransformer3DModel defaults are the 14B model
    "vae": {},  # AutoencoderKLWan defaults: the Wan 2.1 VAE
    "text_encoder": {  # google/umt5-xxl encoder
        "vocab_size": 256384,
        "d_model": 4096,
        "d_kv": 64,
        "d_ff": 10240,
        "num_layers": 24,
        "num_heads": 64,
        "relative_attention_num_buckets": 32,
        "feed_forward_proj": "gated-gelu",
    },
    "image_encoder": {  # CLIP ViT-H/14 vision tower
        "hidden_size": 1280,
        "intermediate_size": 5120,
        "num_hidden_layers": 32,
        "num_attention_heads": 16,
        "image_size": 224,
        "patch_size": 14,
        "projection_dim": 1024,
        "hidden_act": "gelu",
    },
    "image_processor_size": 224,
}

# --------------------------------------------------------------------------- tiny configs (dry run)

TINY_UNET = {
    "block_out_channels": [32, 64],
    "layers_per_block": 1,
    "sample_size": 32,
    "in_channels": 8,
    "out_channels": 4,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
    "cross_attention_dim": 32,
    "norm_num_groups": 8,
}
TINY_VAE = {
    "block_out_channels": [8, 16, 16, 16],
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "norm_num_groups": 8,
}
TINY_TEXT = {
    "bos_token_id": 0,
    "eos_token_id": 1,
    "pad_token_id": 1,
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "vocab_size": 1000,
}
TINY_CLIPSEG = {
    "text_config": {**TINY_TEXT, "max_position_embeddings": 77},
    "vision_config": {
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "image_size": 64,
        "patch_size": 8,
    },
    "projection_dim": 32,
    "extract_layers": [0, 1],
    "reduce_dim": 16,
    "decoder_num_attention_heads": 2,
    "decoder_intermediate_size": 32,
}
TINY_FLORENCE2 = {
    "text_config": {
        "model_type": "bart",
        "d_model": 16,
        "max_position_embeddings": 512,
        "encoder_layers": 1,
        "encoder_ffn_dim": 16,
        "encoder_attention_heads": 1,
        "decoder_layers": 1,
        "decoder_ffn_dim": 16,
        "decoder_attention_heads": 1,
    },
    "vision_config": {
        "depths": [1],
        "patch_size": [7],
        "patch_stride": [4],
        "patch_padding": [3],
        "patch_prenorm": [False],
        "embed_dim": [16],
        "num_heads": [1],
        "num_groups": [1],
        "window_size": 12,
        "projection_dim": 16,
    },
    "image_size": 16,
    "image_seq_length": 17,
}
TINY_QWEN25_VL = {
    "text_config": {
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": [2, 1, 1],
        },
    },
    "vision_config": {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 32,
        "num_heads": 4,
        "patch_size": 4,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 16,
        "out_hidden_size": 32,
        "fullatt_block_indexes": [1],
    },
    "tie_word_embeddings": False,
    "image": {"patch_size": 4, "merge_size": 2, "min_pixels": 8 * 8, "max_pixels": 32 * 32},
}
TINY_WAN: dict[str, Any] = {  # tests/dance/wan_tiny.py's sizes
    "transformer": {
        "patch_size": [1, 2, 2],
        "num_attention_heads": 2,
        "attention_head_dim": 12,
        "in_channels": 36,
        "latent_channels": 16,
        "out_channels": 16,
        "text_dim": 32,
        "freq_dim": 256,
        "ffn_dim": 32,
        "num_layers": 2,
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "image_dim": 4,
        "rope_max_seq_len": 32,
        "motion_encoder_channel_sizes": {"4": 16, "8": 16, "16": 16},
        "motion_encoder_size": 16,
        "motion_style_dim": 8,
        "motion_dim": 4,
        "motion_encoder_dim": 16,
        "face_encoder_hidden_dim": 16,
        "face_encoder_num_heads": 2,
        "inject_face_latents_blocks": 2,
    },
    "vae": {
        "base_dim": 3,
        "z_dim": 16,
        "dim_mult": [1, 1, 1, 1],
        "num_res_blocks": 1,
        "temperal_downsample": [False, True, True],
    },
    "text_encoder": {
        "d_model": 32,
        "d_kv": 8,
        "d_ff": 37,
        "num_layers": 2,
        "num_heads": 4,
        "relative_attention_num_buckets": 8,
    },
    "image_encoder": {
        "hidden_size": 4,
        "projection_dim": 4,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 4,
        "intermediate_size": 16,
        "patch_size": 1,
    },
    "image_processor_size": 4,
}

# --------------------------------------------------------------------------- the run


@dataclass
class Row:
    pipeline: str
    counted: str  # what "params" counts
    params: int  # the real-size model's parameters (built on the meta device)
    total: int  # all parameters of the real-size pipeline
    variant: str
    load_s: float | None = None
    warmup_s: float | None = None
    per_unit_s: float | None = None
    unit: str = ""
    peak_gb: float | None = None
    note: str = ""
    run_params: int | None = None  # parameters of the model that ran (tiny in a dry run)


@dataclass
class Bench:
    dry: bool
    device: str
    budget_s: float
    work: Path
    out: Path | None
    json_out: Path | None
    started: float = field(default_factory=time.perf_counter)
    rows: list[Row] = field(default_factory=list)

    # ---- helpers
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def sync(self) -> None:
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()

    def clock(self) -> float:
        self.sync()
        return time.perf_counter()

    def reset_peak(self) -> None:
        import torch

        if self.device == "cuda":
            torch.cuda.reset_peak_memory_stats()

    def peak_gb(self) -> float | None:
        import torch

        if self.device != "cuda":
            return None
        return torch.cuda.max_memory_allocated() / 2**30

    def free(self) -> None:
        import torch

        gc.collect()
        if self.device == "cuda":
            torch.cuda.empty_cache()

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(format_row(row), flush=True)
        self.write()  # after every row: a run cut short still leaves its figures

    def write(self) -> None:
        if self.out is not None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.out.write_text(markdown(self))
        if self.json_out is not None:
            self.json_out.parent.mkdir(parents=True, exist_ok=True)
            self.json_out.write_text(json.dumps([asdict(r) for r in self.rows], indent=1))


@contextlib.contextmanager
def building(device: str, dtype: Any) -> Iterator[None]:
    """Modules built inside are made on ``device`` in ``dtype`` (``meta``: no storage)."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(old)


def count(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


@dataclass
class Variant:
    name: str
    cuda_only: bool = False  # half precisions and offload: not run in a dry run


@dataclass
class Pipeline:
    name: str
    counted: str
    share_s: float  # its share of the 8-minute budget on an H100
    real: dict[str, Any]
    tiny: dict[str, Any]
    sizes: Callable[[dict[str, Any]], tuple[int, int]]  # config -> (counted, total) on meta
    run: Callable[[Bench, dict[str, Any], Variant], Row]
    variants: list[Variant]


def run_pipeline(bench: Bench, p: Pipeline) -> None:
    import torch

    with building("meta", torch.float32):
        params, total = p.sizes(p.real)
    start = time.perf_counter()
    last = 0.0
    for variant in p.variants:
        base = Row(p.name, p.counted, params, total, variant.name)
        spent = time.perf_counter() - start
        if bench.dry and variant.cuda_only:
            base.note = "CUDA only: not run in a dry run"
            bench.add(base)
            continue
        if not bench.dry and bench.elapsed() + last > bench.budget_s:
            base.note = f"skipped: the {bench.budget_s:.0f} s budget is spent"
            bench.add(base)
            continue
        if not bench.dry and spent + last > p.share_s and variant is not p.variants[0]:
            base.note = f"skipped: would run past its {p.share_s:.0f} s share (last variant took {last:.0f} s)"
            bench.add(base)
            continue
        t0 = time.perf_counter()
        try:
            row = p.run(bench, p.tiny if bench.dry else p.real, variant)
            row.pipeline, row.counted, row.params, row.total = p.name, p.counted, params, total
        except Exception as exc:  # one pipeline's failure must not cost the others' figures
            traceback.print_exc()
            base.note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            row = base
            if bench.dry:
                bench.add(row)
                raise
        last = time.perf_counter() - t0
        bench.add(row)
        bench.free()


# --------------------------------------------------------------------------- InstructPix2Pix


def ip2p_modules(cfg: dict[str, Any], tokenizer_dir: Path) -> Any:
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel
    from video_edit_tiny_models import write_tokenizer

    return StableDiffusionInstructPix2PixPipeline(
        unet=UNet2DConditionModel(**cfg["unet"]),
        vae=AutoencoderKL(**cfg["vae"]),
        text_encoder=CLIPTextModel(CLIPTextConfig(**cfg["text"])),
        tokenizer=write_tokenizer(tokenizer_dir),
        scheduler=EulerAncestralDiscreteScheduler(
            beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear"
        ),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def ip2p_sizes(cfg: dict[str, Any]) -> tuple[int, int]:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    unet = count(UNet2DConditionModel(**cfg["unet"]))
    return unet, unet + count(AutoencoderKL(**cfg["vae"])) + count(
        CLIPTextModel(CLIPTextConfig(**cfg["text"]))
    )


def saved(bench: Bench, name: str) -> Path:
    folder = bench.work / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def run_ip2p(bench: Bench, cfg: dict[str, Any], variant: Variant) -> Row:
    """``Editor.edit`` on 4 crops of a person box (600×900 → 344×512), the studio's defaults."""
    import numpy as np
    import torch

    from pipelines.video_edit.editing import Editor, EditSettings, load_ip2p, working_shape

    folder = saved(bench, "ip2p")
    dtype = torch.float16 if bench.device == "cuda" else torch.float32
    with building(bench.device, dtype):
        ip2p_modules(cfg, folder / "tokenizer-src").save_pretrained(folder)
    bench.free()
    t0 = bench.clock()
    if variant.name.endswith("model CPU offload"):
        pipe = load_ip2p(str(folder), device="cpu").to(torch.float16)
        pipe.enable_model_cpu_offload(device=bench.device)
    else:
        pipe = load_ip2p(str(folder))  # the studio's loader: fp16 on CUDA, fp32 on the CPU
        if variant.name.startswith("bf16"):
            pipe = pipe.to(torch.bfloat16)
    load_s = bench.clock() - t0
    bench.reset_peak()
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (900, 600, 3), dtype=np.uint8) for _ in range(4)]
    if bench.dry:
        crops = [c[:90, :60] for c in crops]
    size = 512 if not bench.dry else 64
    w, h = working_shape(crops[0].shape[1], crops[0].shape[0], size)
    stamps: list[float] = []

    def on_step(step: int, total: int) -> None:
        stamps.append(bench.clock())

    t0 = bench.clock()
    Editor(
        pipe,
        EditSettings(prompt="make it a bronze statue", num_inference_steps=2, working_size=size),
    ).edit(crops)
    warmup_s = bench.clock() - t0
    steps = 5 if not bench.dry else 3
    editor = Editor(
        pipe,
        EditSettings(
            prompt="make it a bronze statue", num_inference_steps=steps, working_size=size
        ),
    )
    t0 = bench.clock()
    editor.edit(crops, on_step=on_step)
    total_s = bench.clock() - t0
    per_step = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    outside = total_s - per_step * steps  # text encoding, image latents, VAE decode
    run_params = count(pipe.unet)
    del pipe, editor
    shutil.rmtree(folder, ignore_errors=True)
    return Row(
        "",
        "",
        0,
        0,
        variant.name,
        load_s=load_s,
        warmup_s=warmup_s,
        per_unit_s=per_step,
        unit=f"s/step ({len(crops)} crops of {w}×{h})",
        peak_gb=bench.peak_gb(),
        note=f"{(per_step * 50 + outside) / 4:.2f} s/frame at the default 50 steps; encode+decode {outside:.2f} s/batch",
        run_params=run_params,
    )


# --------------------------------------------------------------------------- masks (SAM3, CLIPSeg)


def sam3_model(cfg: dict[str, Any]) -> Any:
    from transformers.models.sam3_video.configuration_sam3_video import Sam3VideoConfig
    from transformers.models.sam3_video.modeling_sam3_video import Sam3VideoModel

    return Sam3VideoModel(Sam3VideoConfig(**cfg))


def sam3_sizes(cfg: dict[str, Any]) -> tuple[int, int]:
    n = count(sam3_model(cfg))
    return n, n


def clipseg_model(cfg: dict[str, Any]) -> Any:
    from transformers import CLIPSegConfig, CLIPSegForImageSegmentation

    return CLIPSegForImageSegmentation(CLIPSegConfig(**cfg))


def clipseg_sizes(cfg: dict[str, Any]) -> tuple[int, int]:
    n = count(clipseg_model(cfg))
    return n, n


def run_mask(backend_name: str) -> Callable[[Bench, dict[str, Any], Variant], Row]:
    def run(bench: Bench, cfg: dict[str, Any], variant: Variant) -> Row:
        import numpy as np
        import torch
        from video_edit_tiny_models import write_tokenizer

        from pipelines.video_edit.masking import load_backend

        folder = saved(bench, backend_name)
        with building(bench.device, torch.float32):  # saved in fp32 like the published weights
            model = sam3_model(cfg) if backend_name == "sam3" else clipseg_model(cfg)
        model.save_pretrained(folder)
        write_tokenizer(folder, max_length=32 if backend_name == "sam3" else 77)
        del model
        bench.free()
        t0 = bench.clock()
        backend: Any = load_backend(backend_name, str(folder))
        if variant.name.startswith("fp16"):
            backend.model = backend.model.to(torch.float16)
            if backend_name == "sam3":
                backend.dtype = torch.float16
        load_s = bench.clock() - t0
        bench.reset_peak()
        w, h = (1280, 720) if not bench.dry else (128, 72)
        rng = np.random.default_rng(0)
        per_call = 8 if not bench.dry else 2  # the pipeline's MASK_CHUNK; 2 keeps the dry run short
        frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(per_call)]
        session = backend.session("person", w, h)
        t0 = bench.clock()
        session.masks(frames)  # warm-up; SAM3's first frames also fill its hot-start delay
        warmup_s = bench.clock() - t0
        t0 = bench.clock()
        chunks = 2 if not bench.dry else 1
        for _ in range(chunks):
            session.masks(frames)
        per_frame = (bench.clock() - t0) / (chunks * len(frames))
        session.close()
        run_params = count(backend.model)
        del backend, session
        shutil.rmtree(folder, ignore_errors=True)
        return Row(
            "",
            "",
            0,
            0,
            variant.name,
            load_s=load_s,
            warmup_s=warmup_s,
            per_unit_s=per_frame,
            unit=f"s/frame ({w}×{h}, {per_call} a call)",
            peak_gb=bench.peak_gb(),
            note=f"{1 / per_frame:.1f} frames/s"
            + (
                "; random weights: detection thresholds 0, ≤ 3 objects"
                if backend_name == "sam3"
                else ""
            ),
            run_params=run_params,
        )

    return run


# --------------------------------------------------------------------------- captions


def florence_model(cfg: dict[str, Any], ids: dict[str, Any] | None = None) -> Any:
    from transformers import Florence2Config, Florence2ForConditionalGeneration

    ids = ids or {"<s>": 0, "<pad>": 1, "</s>": 2, "<image>": 51288}
    text = {
        "bos_token_id": ids["<s>"],
        "pad_token_id": ids["<pad>"],
        "eos_token_id": ids["</s>"],
        "decoder_start_token_id": ids["</s>"],
        "forced_eos_token_id": ids["</s>"],
        **cfg["text_config"],
    }
    config = Florence2Config(
        text_config=text, vision_config=cfg["vision_config"], image_token_id=ids["<image>"]
    )
    return Florence2ForConditionalGeneration(config)


def qwen_model(cfg: dict[str, Any], ids: dict[str, Any] | None = None) -> Any:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = ids or {
        "<|endoftext|>": 151643,
        "<|im_end|>": 151645,
        "<|image_pad|>": 151655,
        "<|video_pad|>": 151656,
        "<|vision_start|>": 151652,
        "<|vision_end|>": 151653,
    }
    text = {
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
        **cfg["text_config"],
    }
    config = Qwen2_5_VLConfig(
        text_config=text,
        vision_config=cfg["vision_config"],
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=cfg["tie_word_embeddings"],
    )
    return Qwen2_5_VLForConditionalGeneration(config)


def caption_sizes(kind: str) -> Callable[[dict[str, Any]], tuple[int, int]]:
    def sizes(cfg: dict[str, Any]) -> tuple[int, int]:
        n = count(florence_model(cfg) if kind == "florence2" else qwen_model(cfg))
        return n, n

    return sizes


def save_captioner(bench: Bench, kind: str, cfg: dict[str, Any], dtype: Any) -> Path:
    """Model, tokenizer and processor files as in a Hub download (the tests' offline
    byte-level tokenizers), written to a folder the studio's loader reads."""
    import tiny_tokenizers
    from caption_fakes import QWEN_CHAT_TEMPLATE, QWEN_SPECIALS

    folder = saved(bench, kind)
    cfg = {**cfg, "text_config": dict(cfg["text_config"])}
    if kind == "florence2":
        from transformers import Florence2Processor
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

        tokenizer: Any = tiny_tokenizers.bart(
            "photo", extra_special_tokens={"image_token": "<image>"}
        )
        side = cfg["image_size"]
        Florence2Processor(
            image_processor=CLIPImageProcessorPil(
                do_resize=True,
                size={"height": side, "width": side},
                do_center_crop=False,
                crop_size=None,
                image_mean=[0.485, 0.456, 0.406],
                image_std=[0.229, 0.224, 0.225],
                image_seq_length=cfg["image_seq_length"],
            ),
            tokenizer=tokenizer,
        ).save_pretrained(folder)
        ids: dict[str, Any] = {
            t: tokenizer.convert_tokens_to_ids(t) for t in ("<s>", "<pad>", "</s>")
        }
        ids["<image>"] = tokenizer.image_token_id
        cfg["text_config"].setdefault("vocab_size", len(tokenizer))
        with building(bench.device, dtype):
            model = florence_model(cfg, ids)
    else:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
            Qwen2VLImageProcessorPil,
        )

        tokenizer = tiny_tokenizers.qwen2(
            "photo",
            QWEN_SPECIALS,
            chat_template=QWEN_CHAT_TEMPLATE,
            additional_special_tokens=QWEN_SPECIALS[1:],
        )
        tokenizer.save_pretrained(folder)
        Qwen2VLImageProcessorPil(temporal_patch_size=2, **cfg["image"]).save_pretrained(folder)
        (folder / "chat_template.jinja").write_text(QWEN_CHAT_TEMPLATE)
        (folder / "processor_config.json").write_text(
            json.dumps({"processor_class": "Qwen2_5_VLProcessor"})
        )
        ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
        cfg["text_config"].setdefault("vocab_size", len(tokenizer))
        with building(bench.device, dtype):
            model = qwen_model(cfg, ids)
    # random weights: the head is zeroed so greedy decoding picks a token the byte-level
    # tokenizer knows; min_new_tokens makes every image take the full 96 new tokens
    import torch

    with torch.no_grad():
        model.get_output_embeddings().weight.zero_()
    model.generation_config.min_new_tokens = 96
    model.save_pretrained(folder)
    del model
    return folder


def run_caption(kind: str) -> Callable[[Bench, dict[str, Any], Variant], Row]:
    def run(bench: Bench, cfg: dict[str, Any], variant: Variant) -> Row:
        import numpy as np
        import torch
        from PIL import Image

        from pipelines.captions import CaptionOptions, default_instruction, load_captioner

        dtype = torch.bfloat16 if bench.device == "cuda" else torch.float32
        folder = save_captioner(bench, kind, cfg, dtype)
        bench.free()
        options = CaptionOptions(provider="local", local_model=str(folder), device=bench.device)
        if bench.dry:
            options.max_new_tokens = 4
        t0 = bench.clock()
        captioner: Any = load_captioner(options)  # bf16 on CUDA, fp32 on the CPU
        if variant.name.startswith("fp16"):
            captioner.model = captioner.model.to(torch.float16)
        load_s = bench.clock() - t0
        if bench.dry:
            captioner.model.generation_config.min_new_tokens = options.max_new_tokens
        bench.reset_peak()
        side = 1024 if not bench.dry else 64
        rng = np.random.default_rng(0)
        images = [
            Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
            for _ in range(options.batch_size)
        ]
        instruction = default_instruction(options)
        t0 = bench.clock()
        captioner.describe(images, instruction)
        warmup_s = bench.clock() - t0
        t0 = bench.clock()
        captioner.describe(images, instruction)
        per_image = (bench.clock() - t0) / len(images)
        run_params = count(captioner.model)
        del captioner
        shutil.rmtree(folder, ignore_errors=True)
        return Row(
            "",
            "",
            0,
            0,
            variant.name,
            load_s=load_s,
            warmup_s=warmup_s,
            per_unit_s=per_image,
            unit=f"s/image ({side}×{side}, {options.batch_size} a batch, {options.max_new_tokens} tokens)",
            peak_gb=bench.peak_gb(),
            note=f"{options.max_new_tokens / per_image:.0f} new tokens/s per image in a batch of {options.batch_size}",
            run_params=run_params,
        )

    return run


# --------------------------------------------------------------------------- Wan2.2-Animate


def wan_parts(cfg: dict[str, Any]) -> dict[str, Any]:
    from diffusers import WanAnimateTransformer3DModel
    from transformers import CLIPVisionConfig, CLIPVisionModel, UMT5Config, UMT5EncoderModel

    return {
        "transformer": WanAnimateTransformer3DModel(**cfg["transformer"]),
        "text_encoder": UMT5EncoderModel(UMT5Config(**cfg["text_encoder"])),
        "image_encoder": CLIPVisionModel(CLIPVisionConfig(**cfg["image_encoder"])),
    }


def wan_sizes(cfg: dict[str, Any]) -> tuple[int, int]:
    from diffusers import AutoencoderKLWan

    parts = wan_parts(cfg)
    total = sum(count(m) for m in parts.values()) + count(AutoencoderKLWan(**cfg["vae"]))
    return count(parts["transformer"]), total


def wan_pipeline(bench: Bench, cfg: dict[str, Any]) -> Any:
    """Wan-Animate as ``load_pipeline`` leaves it: bf16 on CUDA with the VAE in fp32."""
    import tiny_tokenizers
    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanAnimatePipeline
    from transformers import CLIPImageProcessor
    from wan_tiny import WORDS

    cfg = dict(cfg)
    if bench.dry:
        cfg["text_encoder"] = {**cfg["text_encoder"], "vocab_size": len(WORDS)}
    dtype = torch.bfloat16 if bench.device == "cuda" else torch.float32
    with building(bench.device, dtype):
        parts = wan_parts(cfg)
    with building(bench.device, torch.float32):
        vae = AutoencoderKLWan(**cfg["vae"])
    side = cfg["image_processor_size"]
    pipe: Any = WanAnimatePipeline(
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0),
        tokenizer=tiny_tokenizers.t5(WORDS),
        image_processor=CLIPImageProcessor(crop_size=side, size=side),
        **parts,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def pair_folder(folder: Path, width: int, height: int, frames: int, face: int) -> Path:
    """A synthetic pair folder (reference, pose frames, face crops) as the studio writes it."""
    import numpy as np
    from PIL import Image

    from pipelines.dance.prepare import frame_name

    rng = np.random.default_rng(0)
    for sub in ("positive", "face"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(
        folder / "ref_image.png"
    )
    pose = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    crop = Image.fromarray(rng.integers(0, 256, (face, face, 3), dtype=np.uint8))
    for i in range(frames):
        pose.save(folder / "positive" / frame_name(i))
        crop.save(folder / "face" / frame_name(i))
    return folder


class StepClock:
    """A ``Progress`` that stamps every sampling step (after the GPU finished it)."""

    def __init__(self, bench: Bench):
        self.bench = bench
        self.stamps: list[float] = []

    def update(self, *, stage=None, fraction=None, item=None, message=None) -> None:
        if stage == "sampling" and item and not item.startswith("step 0/"):
            self.stamps.append(self.bench.clock())

    def log(self, line: str) -> None:
        pass


def run_wan(bench: Bench, cfg: dict[str, Any], variant: Variant) -> Row:
    """``generate`` at 1024*576 × 81 frames, 3 steps (2 with offload); the first step is
    the warm-up. Out of memory while sampling: the next smaller size; out of memory
    after the steps (the VAE decode): the step figures stand, with a note."""
    import torch

    from pipelines.dance.config import make_config
    from pipelines.dance.wan_animate import generate

    offload = variant.name.endswith("offload_model")
    t0 = bench.clock()
    pipe = wan_pipeline(bench, cfg)
    if offload:
        pipe.enable_model_cpu_offload(device=bench.device)  # what load_pipeline(offload=True) does
    load_s = bench.clock() - t0
    sizes = ["1024*576", "832*480"] if not bench.dry else ["32*32"]
    frames, face = (81, 512) if not bench.dry else (5, 16)
    steps = 2 if offload or bench.dry else 3
    notes: list[str] = []
    clock = StepClock(bench)
    try:
        for size in sizes:
            config = make_config(None, {"size": size, "frame_num": frames, "sample_steps": steps})
            width, height = config.width_height
            folder = pair_folder(saved(bench, "wan-pair"), width, height, frames, face)
            clock = StepClock(bench)
            bench.reset_peak()
            started = bench.clock()
            try:
                generate(
                    pipe, folder, config, "a person dancing", bench.work / "wan.mp4", progress=clock
                )
            except torch.OutOfMemoryError:
                bench.free()
                if len(clock.stamps) >= steps:
                    notes.append("out of GPU memory after the steps (VAE decode)")
                    break
                notes.append(f"{size}: out of GPU memory while sampling")
                continue
            notes.append(f"decode + save {bench.clock() - clock.stamps[-1]:.1f} s")
            break
        else:
            raise RuntimeError("; ".join(notes))
    finally:
        shutil.rmtree(bench.work / "wan-pair", ignore_errors=True)
        (bench.work / "wan.mp4").unlink(missing_ok=True)
    stamps = clock.stamps
    per_step = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    run_params = count(pipe.transformer)
    del pipe
    return Row(
        "",
        "",
        0,
        0,
        variant.name,
        load_s=load_s,
        warmup_s=stamps[0] - started,  # text and image encoders, VAE encode, the first step
        per_unit_s=per_step,
        unit=f"s/step ({width}×{height} × {frames} frames, CFG 5.0)",
        peak_gb=bench.peak_gb(),
        note="; ".join(notes)
        + f"; {per_step * 20 / 60:.1f} min of sampling at the default 20 steps; "
        "load = built in place (not read from disk)",
        run_params=run_params,
    )


# --------------------------------------------------------------------------- SteadyDancer


def steadydancer_command() -> str:
    """How to time SteadyDancer: its own generate_dancer.py with the seed's defaults."""
    import shlex

    from pipelines.dance.config import DEFAULT_PROMPT, make_config
    from pipelines.dance.steadydancer import SteadyDancerSetup, build_argv

    setup = SteadyDancerSetup(
        Path("$STEADYDANCER_DIR"), "python", Path("$MODELS_DIR/SteadyDancer-14B")
    )
    argv = build_argv(
        setup, "$PAIR", make_config(None, {"sample_steps": 3}), DEFAULT_PROMPT, "/tmp/sd.mp4"
    )
    argv[1] = "generate_dancer.py"
    text = " ".join(shlex.quote(a) if not a.startswith("$") else a for a in argv)
    return (
        "cd $STEADYDANCER_DIR && /usr/bin/time -v " + text + "  # its tqdm bar gives s/it; "
        "add --offload_model True --t5_cpu for the low-memory figure; $PAIR: a prepared pair folder "
        "(the studio's dance preprocessing) of 81 frames"
    )


# --------------------------------------------------------------------------- the table


PIPELINES = [
    Pipeline(
        "video edit: InstructPix2Pix",
        "SD 1.5 UNet (8 in-channels)",
        60,
        {"unet": SD15_UNET, "vae": SD15_VAE, "text": CLIP_L_TEXT},
        {"unet": TINY_UNET, "vae": TINY_VAE, "text": TINY_TEXT},
        ip2p_sizes,
        run_ip2p,
        [
            Variant("fp16 (studio)"),
            Variant("bf16", cuda_only=True),
            Variant("fp16 + model CPU offload", cuda_only=True),
        ],
    ),
    Pipeline(
        "video edit: SAM3 video mask",
        "Sam3VideoModel",
        60,
        SAM3_VIDEO,
        {},  # filled by tiny_sam3_config() at the start
        sam3_sizes,
        run_mask("sam3"),
        [Variant("bf16 (studio)"), Variant("fp16", cuda_only=True)],
    ),
    Pipeline(
        "video edit: CLIPSeg mask",
        "clipseg-rd64-refined",
        20,
        CLIPSEG_RD64_REFINED,
        TINY_CLIPSEG,
        clipseg_sizes,
        run_mask("clipseg"),
        [Variant("fp32 (studio)"), Variant("fp16", cuda_only=True)],
    ),
    Pipeline(
        "captions: Florence-2-base",
        "Florence2ForConditionalGeneration",
        30,
        FLORENCE2_BASE,
        TINY_FLORENCE2,
        caption_sizes("florence2"),
        run_caption("florence2"),
        [Variant("bf16 (studio)"), Variant("fp16", cuda_only=True)],
    ),
    Pipeline(
        "captions: Qwen2.5-VL-3B",
        "Qwen2_5_VLForConditionalGeneration",
        60,
        QWEN25_VL_3B,
        TINY_QWEN25_VL,
        caption_sizes("qwen2_5_vl"),
        run_caption("qwen2_5_vl"),
        [Variant("bf16 (studio)"), Variant("fp16", cuda_only=True)],
    ),
    Pipeline(
        "dance: Wan2.2-Animate-14B",
        "WanAnimateTransformer3DModel",
        230,
        WAN_ANIMATE_14B,
        TINY_WAN,
        wan_sizes,
        run_wan,
        [Variant("bf16, VAE fp32 (studio)"), Variant("bf16 + offload_model", cuda_only=True)],
    ),
]


def _num(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _billions(n: int | None) -> str:
    return "" if n is None else f"{n / 1e9:.3f} B"


COLUMNS = [
    "pipeline",
    "model (params counted)",
    "params",
    "pipeline total",
    "variant",
    "load s",
    "warm-up s",
    "time",
    "unit",
    "peak GPU GB",
    "note",
]


def cells(row: Row) -> list[str]:
    return [
        row.pipeline,
        row.counted,
        f"{row.params:,} ({_billions(row.params)})",
        _billions(row.total),
        row.variant,
        _num(row.load_s),
        _num(row.warmup_s),
        _num(row.per_unit_s, 3),
        row.unit,
        _num(row.peak_gb, 1),
        row.note,
    ]


def format_row(row: Row) -> str:
    return " | ".join(c for c in cells(row))


def markdown(bench: Bench) -> str:
    import platform

    import torch

    if bench.device == "cuda":
        card = f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    else:
        card = f"CPU dry run (tiny configs; params are the real sizes), torch {torch.__version__}"
    lines = [
        f"`python benchmarks/gpu.py{' --dry-run' if bench.dry else ''}` on {card}, "
        f"{platform.node() or 'this machine'}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{bench.elapsed():.0f} s in all.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in cells(r)) + " |" for r in bench.rows]
    lines += [
        "",
        "SteadyDancer-14B runs only as its official code in its own environment; time it with:",
        "",
        "```",
        steadydancer_command(),
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny configs (CI)")
    parser.add_argument("--out", type=Path, help="write the table as Markdown here")
    parser.add_argument("--json", type=Path, help="write the rows as JSON here")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for everything")
    parser.add_argument(
        "--only", nargs="*", default=None, help="pipelines whose name contains one of these words"
    )
    parser.add_argument("--work-dir", type=Path, help="where models are saved and loaded back")
    args = parser.parse_args(argv)

    import torch

    if not args.dry_run and not torch.cuda.is_available():
        parser.error("no CUDA device here: run on a GPU machine, or --dry-run on the CPU")
    device = "cpu" if args.dry_run else "cuda"
    if args.dry_run:
        torch.set_num_threads(min(2, os.cpu_count() or 1))
    from video_edit_tiny_models import tiny_sam3_config

    PIPELINES[1].tiny = tiny_sam3_config()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="studio-gpu-bench-"))
    bench = Bench(args.dry_run, device, args.budget, work, args.out, args.json)
    print(" | ".join(COLUMNS), flush=True)
    try:
        for p in PIPELINES:
            if args.only and not any(w.lower() in p.name.lower() for w in args.only):
                continue
            run_pipeline(bench, p)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    bench.write()
    print("\nSteadyDancer (not run here):", steadydancer_command())
    print(
        f"\n{bench.elapsed():.1f} s in all" + (f"; table written to {args.out}" if args.out else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
