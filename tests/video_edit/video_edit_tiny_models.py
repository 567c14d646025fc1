"""Tiny random-weight models built in the tests and saved with ``save_pretrained``:
the same folders a user points the studio at, loaded by the same loaders.

- InstructPix2Pix: ``UNet2DConditionModel`` (in_channels 8), a small
  ``AutoencoderKL``, a ``CLIPTextModel`` (hidden size 32) and a ``CLIPTokenizer``
  written from a tiny byte-level vocabulary (no download).
- SAM3 video: ``Sam3VideoModel`` from a tiny config (112 px, thresholds 0 so
  random weights still detect something), with the same tokenizer.
- CLIPSeg: ``CLIPSegForImageSegmentation`` from a tiny config.
"""

from __future__ import annotations

from pathlib import Path

from tests import tiny_tokenizers


def write_tokenizer(folder: Path, max_length: int = 77):
    """The models' CLIPTokenizer (tests.tiny_tokenizers.clip), saved to ``folder``."""
    return tiny_tokenizers.clip(folder, max_length)


def build_ip2p(
    folder: Path, vae_channels: tuple[int, ...] = (16, 32), sample_size: int = 32
) -> Path:
    """Tiny InstructPix2Pix saved to ``folder``. The VAE shrinks by 2 per block after the
    first: ``vae_channels=(8, 16, 16, 16)`` gives the real model's 8x latents."""
    import tempfile

    import torch
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=sample_size,
        in_channels=8,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        block_out_channels=list(vae_channels),
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        down_block_types=["DownEncoderBlock2D"] * len(vae_channels),
        up_block_types=["UpDecoderBlock2D"] * len(vae_channels),
        norm_num_groups=8,
    )
    text = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=1000,
            layer_norm_eps=1e-5,
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = write_tokenizer(Path(tmp))
    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear"
    )
    pipe = StableDiffusionInstructPix2PixPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
    return folder


SAM3_IMAGE = 112
SAM3_HIDDEN = 128


def tiny_sam3_config() -> dict:
    """The keyword arguments of the tiny ``Sam3VideoConfig`` (also the GPU benchmark's dry run)."""
    img, hidden, grid = SAM3_IMAGE, SAM3_HIDDEN, SAM3_IMAGE // 14
    vision = {
        "model_type": "sam3_vision_model",
        "fpn_hidden_size": hidden,
        "backbone_feature_sizes": [[grid * 4] * 2, [grid * 2] * 2, [grid] * 2],
        "backbone_config": {
            "model_type": "sam3_vit_model",
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 128,
            "image_size": img,
            "patch_size": 14,
            "window_size": 4,
            "global_attn_indexes": [1],
        },
    }
    detector = {
        "vision_config": vision,
        "text_config": {
            "vocab_size": 1000,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "hidden_size": 32,
            "intermediate_size": 64,
            "projection_dim": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 4,
            "max_position_embeddings": 32,
        },
        "geometry_encoder_config": {
            "hidden_size": hidden,
            "num_layers": 1,
            "num_attention_heads": 4,
            "intermediate_size": 128,
        },
        "detr_encoder_config": {
            "hidden_size": hidden,
            "num_layers": 1,
            "num_attention_heads": 4,
            "intermediate_size": 128,
        },
        "detr_decoder_config": {
            "hidden_size": hidden,
            "num_layers": 1,
            "num_queries": 2,
            "num_attention_heads": 4,
            "intermediate_size": 128,
        },
        "mask_decoder_config": {"hidden_size": hidden, "num_upsampling_stages": 2},
    }
    tracker = {
        "vision_config": vision,
        "image_size": img,
        "prompt_encoder_config": {"hidden_size": hidden, "image_size": img, "patch_size": 14},
        "mask_decoder_config": {
            "hidden_size": hidden,
            "mlp_dim": 256,
            "num_attention_heads": 4,
            "iou_head_hidden_dim": hidden,
        },
        "memory_attention_hidden_size": hidden,
        "memory_attention_num_layers": 1,
        "memory_attention_feed_forward_hidden_size": 256,
        "memory_attention_rope_feat_sizes": [grid, grid],
        "memory_encoder_hidden_size": hidden,
        "memory_encoder_output_channels": 64,
        "mask_downsampler_embed_dim": hidden,
        "memory_fuser_embed_dim": hidden,
        "memory_fuser_intermediate_dim": 256,
        "memory_fuser_num_layers": 1,
    }
    return dict(
        detector_config=detector,
        tracker_config=tracker,
        hotstart_delay=2,
        hotstart_unmatch_thresh=1,
        hotstart_dup_thresh=1,
        score_threshold_detection=0.0,
        new_det_thresh=0.0,
        low_res_mask_size=grid * 4,
        max_num_objects=2,
    )


def build_sam3(folder: Path) -> Path:
    import torch
    from transformers.models.sam3_video.configuration_sam3_video import Sam3VideoConfig
    from transformers.models.sam3_video.modeling_sam3_video import Sam3VideoModel

    torch.manual_seed(0)
    Sam3VideoModel(Sam3VideoConfig(**tiny_sam3_config())).save_pretrained(folder)
    write_tokenizer(folder, max_length=32)
    return folder


def build_clipseg(folder: Path) -> Path:
    import torch
    from transformers import CLIPSegConfig, CLIPSegForImageSegmentation

    config = CLIPSegConfig(
        text_config={
            "vocab_size": 1000,
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "max_position_embeddings": 77,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "pad_token_id": 1,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": 64,
            "patch_size": 8,
        },
        projection_dim=32,
        extract_layers=[0, 1],
        reduce_dim=16,
        decoder_num_attention_heads=2,
        decoder_intermediate_size=32,
    )
    torch.manual_seed(0)
    CLIPSegForImageSegmentation(config).save_pretrained(folder)
    write_tokenizer(folder)
    return folder
