"""SAM3's official checkpoint (``sam3.pt``) → a transformers ``Sam3VideoModel`` folder.

Seed 003 sets ``SAM3_MODEL_PATH=/path/to/sam3.pt``: the file of the official
release (facebookresearch/sam3, ``build_sam3_video_model``), a state dict whose
names are the release's modules: ``detector.*`` (the image detector: ViT trunk,
FPN necks, CLIP text encoder, geometry encoder, DETR encoder/decoder,
segmentation head) and ``tracker.*`` (the SAM2-style tracker: prompt encoder,
mask decoder, memory attention, memory encoder). The studio loads SAM3 with
transformers, so the file is converted once into a folder of the models folder,
named by the file's name, size and modification time (a changed file converts
again; the older conversions of the same name are removed).

The names follow the release's modules as read in its source and in
transformers' own conversion (``convert_sam3_video_to_hf.py``); the mapping here
is our own table. Beyond renaming, the release differs in five ways, all undone
here: every detector attention keeps q/k/v fused (``attn.qkv`` in the ViT,
``in_proj_weight`` in ``nn.MultiheadAttention``); the ViT position embedding has
a class-token row; the CLIP text projection is stored transposed; the prompt
encoder's four point embeddings are separate; and the tracker's mask
down-sampler is one ``nn.Sequential`` (conv, norm, act, … final conv).

``to_official`` is the inverse (used by the tests to write a checkpoint in the
release's layout from a tiny transformers model).

The model's shapes come from a ``config.json`` beside the file when it is a
``sam3_video`` config (the facebook/sam3 download has one), else from the
release's defaults (``Sam3VideoConfig()``); the tokenizer from the tokenizer
files beside it, else from the Hugging Face cache (facebook/sam3 or
openai/clip-vit-base-patch32).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.errors import BadInput

log = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = (".pt", ".pth")
CONVERTED_DIR = "sam3-converted"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
    "special_tokens_map.json",
)
TOKENIZER_HUB_IDS = ("facebook/sam3", "openai/clip-vit-base-patch32")

# (release name, transformers name). ``{n}`` is a number kept as is. A name ending in "."
# renames a prefix; any other renames one whole key. First match wins, in both directions.
_DET, _HF_DET = "detector.", "detector_model."
_TRK, _HF_TRK = "tracker.", "tracker_model."
_VIS = _DET + "backbone.vision_backbone."
_TXT = _DET + "backbone.language_backbone.encoder."
_HF_VIT = _HF_DET + "vision_encoder.backbone."
_HF_TXT = _HF_DET + "text_encoder."


def _neck(official: str, hf: str) -> list[tuple[str, str]]:
    return [
        (f"{official}.{{n}}.dconv_2x2_0.", f"{hf}.{{n}}.scale_layers.0."),
        (f"{official}.{{n}}.dconv_2x2_1.", f"{hf}.{{n}}.scale_layers.2."),
        (f"{official}.{{n}}.dconv_2x2.", f"{hf}.{{n}}.scale_layers.0."),  # a 2x level
        (f"{official}.{{n}}.conv_1x1.", f"{hf}.{{n}}.proj1."),
        (f"{official}.{{n}}.conv_3x3.", f"{hf}.{{n}}.proj2."),
    ]


def _attention_block(official: str, hf: str, pairs: dict[str, str]) -> list[tuple[str, str]]:
    """Layers of a transformer block: each (release module → transformers module); an
    attention's ``out_proj`` becomes ``o_proj``."""
    rules = []
    for old, new in pairs.items():
        if old.endswith("attn") or old.endswith("attn_image") or old in ("ca_text",):
            rules.append((f"{official}.{{n}}.{old}.out_proj.", f"{hf}.{{n}}.{new}.o_proj."))
        rules.append((f"{official}.{{n}}.{old}.", f"{hf}.{{n}}.{new}."))
    return rules


_NORMS = {"norm1": "layer_norm1", "norm2": "layer_norm2", "norm3": "layer_norm3"}
_FFN = {"linear1": "mlp.fc1", "linear2": "mlp.fc2"}
_MLP3 = {"layers.0": "proj_in", "layers.1": "layers.0", "layers.2": "proj_out"}

RULES: list[tuple[str, str]] = [
    # -- detector: ViT trunk
    (_VIS + "trunk.pos_embed", _HF_VIT + "embeddings.position_embeddings"),
    (_VIS + "trunk.patch_embed.proj.", _HF_VIT + "embeddings.patch_embeddings.projection."),
    (_VIS + "trunk.ln_pre.", _HF_VIT + "layer_norm."),
    (_VIS + "trunk.blocks.{n}.norm1.", _HF_VIT + "layers.{n}.layer_norm1."),
    (_VIS + "trunk.blocks.{n}.norm2.", _HF_VIT + "layers.{n}.layer_norm2."),
    (_VIS + "trunk.blocks.{n}.attn.qkv.", _HF_VIT + "layers.{n}.attention.qkv."),
    (_VIS + "trunk.blocks.{n}.attn.proj.", _HF_VIT + "layers.{n}.attention.o_proj."),
    (_VIS + "trunk.blocks.{n}.mlp.", _HF_VIT + "layers.{n}.mlp."),
    # -- detector: the two FPN necks (the detector's, and the tracker's ``sam2_convs``)
    *_neck(_VIS + "convs", _HF_DET + "vision_encoder.neck.fpn_layers"),
    *_neck(_VIS + "sam2_convs", "tracker_neck.fpn_layers"),
    # -- detector: CLIP text encoder
    (_TXT + "token_embedding.", _HF_TXT + "text_model.embeddings.token_embedding."),
    (_TXT + "positional_embedding", _HF_TXT + "text_model.embeddings.position_embedding.weight"),
    (_TXT + "ln_final.", _HF_TXT + "text_model.final_layer_norm."),
    (_TXT + "text_projection", _HF_TXT + "text_projection.weight"),
    *[
        (
            f"{_TXT}transformer.resblocks.{{n}}.{old}",
            f"{_HF_TXT}text_model.encoder.layers.{{n}}.{new}",
        )
        for old, new in {
            "attn.": "self_attn.",
            "ln_1.": "layer_norm1.",
            "ln_2.": "layer_norm2.",
            "mlp.c_fc.": "mlp.fc1.",
            "mlp.c_proj.": "mlp.fc2.",
        }.items()
    ],
    (_DET + "backbone.language_backbone.resizer.", _HF_DET + "text_projection."),
    # -- detector: geometry encoder
    *_attention_block(
        _DET + "geometry_encoder.encode",
        _HF_DET + "geometry_encoder.layers",
        {"cross_attn_image": "cross_attn", "self_attn": "self_attn", **_FFN, **_NORMS},
    ),
    (_DET + "geometry_encoder.img_pre_norm.", _HF_DET + "geometry_encoder.vision_layer_norm."),
    (_DET + "geometry_encoder.norm.", _HF_DET + "geometry_encoder.prompt_layer_norm."),
    (_DET + "geometry_encoder.encode_norm.", _HF_DET + "geometry_encoder.output_layer_norm."),
    (_DET + "geometry_encoder.", _HF_DET + "geometry_encoder."),
    # -- detector: DETR encoder and decoder
    *_attention_block(
        _DET + "transformer.encoder.layers",
        _HF_DET + "detr_encoder.layers",
        {"cross_attn_image": "cross_attn", "self_attn": "self_attn", **_FFN, **_NORMS},
    ),
    *_attention_block(
        _DET + "transformer.decoder.layers",
        _HF_DET + "detr_decoder.layers",
        {
            "self_attn": "self_attn",
            "ca_text": "text_cross_attn",
            "cross_attn": "vision_cross_attn",
            **_FFN,
            "norm1": "vision_cross_attn_layer_norm",
            "catext_norm": "text_cross_attn_layer_norm",
            "norm2": "self_attn_layer_norm",
            "norm3": "mlp_layer_norm",
        },
    ),
    *[
        (f"{_DET}transformer.decoder.{old}.", f"{_HF_DET}detr_decoder.{new}.")
        for old, new in {
            "presence_token_head.layers.0": "presence_head.layer1",
            "presence_token_head.layers.1": "presence_head.layer2",
            "presence_token_head.layers.2": "presence_head.layer3",
            "presence_token_out_norm": "presence_layer_norm",
            "norm": "output_layer_norm",
            "bbox_embed.layers.0": "box_head.layer1",
            "bbox_embed.layers.1": "box_head.layer2",
            "bbox_embed.layers.2": "box_head.layer3",
            "ref_point_head.layers.0": "ref_point_head.layer1",
            "ref_point_head.layers.1": "ref_point_head.layer2",
            "boxRPB_embed_x.layers.0": "box_rpb_embed_x.layer1",
            "boxRPB_embed_x.layers.1": "box_rpb_embed_x.layer2",
            "boxRPB_embed_y.layers.0": "box_rpb_embed_y.layer1",
            "boxRPB_embed_y.layers.1": "box_rpb_embed_y.layer2",
            "query_embed": "query_embed",
            "reference_points": "reference_points",
            "presence_token": "presence_token",
        }.items()
    ],
    # -- detector: scoring and segmentation head
    *[
        (f"{_DET}dot_prod_scoring.{old}.", f"{_HF_DET}dot_product_scoring.{new}.")
        for old, new in {
            "prompt_mlp.layers.0": "text_mlp.layer1",
            "prompt_mlp.layers.1": "text_mlp.layer2",
            "prompt_mlp.out_norm": "text_mlp_out_norm",
            "prompt_proj": "text_proj",
            "hs_proj": "query_proj",
        }.items()
    ],
    *[
        (f"{_DET}segmentation_head.{old}", f"{_HF_DET}mask_decoder.{new}")
        for old, new in {
            "pixel_decoder.": "pixel_decoder.",
            "mask_predictor.mask_embed.layers.": "mask_embedder.layers.",
            "instance_seg_head.": "instance_projection.",
            "semantic_seg_head.": "semantic_projection.",
            "cross_attend_prompt.out_proj.": "prompt_cross_attn.o_proj.",
            "cross_attend_prompt.": "prompt_cross_attn.",
            "cross_attn_norm.": "prompt_cross_attn_norm.",
        }.items()
    ],
    # -- tracker
    *[
        (_TRK + old, _HF_TRK + new)
        for old, new in {
            "maskmem_tpos_enc": "memory_temporal_positional_encoding",
            "no_mem_embed": "no_memory_embedding",
            "no_mem_pos_enc": "no_memory_positional_encoding",
            "no_obj_ptr": "no_object_pointer",
            "no_obj_embed_spatial": "occlusion_spatial_embedding_parameter",
            "mask_downsample.": "mask_downsample.",
            "obj_ptr_tpos_proj.": "temporal_positional_encoding_projection_layer.",
            **{f"obj_ptr_proj.{o}.": f"object_pointer_proj.{n}." for o, n in _MLP3.items()},
            # prompt encoder
            "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix": "prompt_encoder."
            "shared_embedding.positional_embedding",
            "sam_prompt_encoder.point_embeddings.{n}.": "prompt_encoder.point_embed.{n}.",
            "sam_prompt_encoder.not_a_point_embed.": "prompt_encoder.not_a_point_embed.",
            "sam_prompt_encoder.no_mask_embed.": "prompt_encoder.no_mask_embed.",
            "sam_prompt_encoder.mask_downscaling.0.": "prompt_encoder.mask_embed.conv1.",
            "sam_prompt_encoder.mask_downscaling.1.": "prompt_encoder.mask_embed.layer_norm1.",
            "sam_prompt_encoder.mask_downscaling.3.": "prompt_encoder.mask_embed.conv2.",
            "sam_prompt_encoder.mask_downscaling.4.": "prompt_encoder.mask_embed.layer_norm2.",
            "sam_prompt_encoder.mask_downscaling.6.": "prompt_encoder.mask_embed.conv3.",
            # mask decoder (two-way transformer)
            **{
                f"sam_mask_decoder.transformer.layers.{{n}}.{a}.out_proj.": "mask_decoder."
                f"transformer.layers.{{n}}.{a}.o_proj."
                for a in ("self_attn", "cross_attn_token_to_image", "cross_attn_image_to_token")
            },
            **{
                f"sam_mask_decoder.transformer.layers.{{n}}.norm{i}.": "mask_decoder.transformer."
                f"layers.{{n}}.layer_norm{i}."
                for i in (1, 2, 3, 4)
            },
            "sam_mask_decoder.transformer.layers.{n}.mlp.layers.0.": "mask_decoder.transformer."
            "layers.{n}.mlp.proj_in.",
            "sam_mask_decoder.transformer.layers.{n}.mlp.layers.1.": "mask_decoder.transformer."
            "layers.{n}.mlp.proj_out.",
            "sam_mask_decoder.transformer.final_attn_token_to_image.out_proj.": "mask_decoder."
            "transformer.final_attn_token_to_image.o_proj.",
            "sam_mask_decoder.transformer.norm_final_attn.": "mask_decoder.transformer."
            "layer_norm_final_attn.",
            "sam_mask_decoder.output_upscaling.0.": "mask_decoder.upscale_conv1.",
            "sam_mask_decoder.output_upscaling.1.": "mask_decoder.upscale_layer_norm.",
            "sam_mask_decoder.output_upscaling.3.": "mask_decoder.upscale_conv2.",
            **{
                f"sam_mask_decoder.output_hypernetworks_mlps.{{n}}.{o}.": "mask_decoder."
                f"output_hypernetworks_mlps.{{n}}.{n}."
                for o, n in _MLP3.items()
            },
            **{
                f"sam_mask_decoder.{head}.{o}.": f"mask_decoder.{head}.{n}."
                for head in ("iou_prediction_head", "pred_obj_score_head")
                for o, n in _MLP3.items()
            },
            "sam_mask_decoder.": "mask_decoder.",
            # memory attention
            **{
                f"transformer.encoder.layers.{{n}}.{a}.out_proj.": "memory_attention.layers."
                f"{{n}}.{a}.o_proj."
                for a in ("self_attn", "cross_attn_image")
            },
            **{
                f"transformer.encoder.layers.{{n}}.norm{i}.": f"memory_attention.layers.{{n}}."
                f"layer_norm{i}."
                for i in (1, 2, 3)
            },
            "transformer.encoder.layers.": "memory_attention.layers.",
            "transformer.encoder.norm.": "memory_attention.layer_norm.",
            # memory encoder
            "maskmem_backbone.mask_downsampler.encoder.": "memory_encoder.mask_downsampler."
            "encoder.",
            "maskmem_backbone.pix_feat_proj.": "memory_encoder.feature_projection.",
            "maskmem_backbone.fuser.layers.{n}.dwconv.": "memory_encoder.memory_fuser.layers."
            "{n}.depthwise_conv.",
            "maskmem_backbone.fuser.layers.{n}.norm.": "memory_encoder.memory_fuser.layers."
            "{n}.layer_norm.",
            "maskmem_backbone.fuser.layers.{n}.pwconv1.": "memory_encoder.memory_fuser.layers."
            "{n}.pointwise_conv1.",
            "maskmem_backbone.fuser.layers.{n}.pwconv2.": "memory_encoder.memory_fuser.layers."
            "{n}.pointwise_conv2.",
            "maskmem_backbone.fuser.layers.{n}.gamma": "memory_encoder.memory_fuser.layers."
            "{n}.scale",
            "maskmem_backbone.out_proj.": "memory_encoder.projection.",
        }.items()
    ],
]

# Older internal checkpoints (the ones transformers' script reads) name the two halves so.
PREFIX_ALIASES = {"sam3_model.": _DET, "sam2_predictor.model.": _TRK}


def _compile(template: str) -> re.Pattern[str]:
    exact = not template.endswith(".")
    body = re.escape(template).replace(r"\{n\}", r"(\d+)")
    return re.compile(body + ("$" if exact else ""))


def _fill(template: str, numbers: tuple[str, ...]) -> str:
    for number in numbers:
        template = template.replace("{n}", number, 1)
    return template


@functools.cache
def _rules(backward: bool) -> list[tuple[re.Pattern[str], str]]:
    """The compiled rules, release → transformers (or back), compiled on first use
    (149 patterns: ~0.1 s that a worker's start would otherwise pay)."""
    if backward:
        return [(_compile(new), old) for old, new in RULES]
    return [(_compile(old), new) for old, new in RULES]


def _rename(key: str, rules: list[tuple[re.Pattern[str], str]]) -> str | None:
    for pattern, target in rules:
        found = pattern.match(key)
        if found:
            return _fill(target, found.groups()) + key[found.end() :]
    return None


def official_to_hf_name(key: str) -> str | None:
    """The transformers name of a release key (None: a key transformers has no place for)."""
    for old, new in PREFIX_ALIASES.items():
        if key.startswith(old):
            key = new + key[len(old) :]
    return _rename(key, _rules(backward=False))


def hf_to_official_name(key: str) -> str | None:
    return _rename(key, _rules(backward=True))


# --------------------------------------------------------------------------- whole state dicts

_FUSED = re.compile(r"^(.*)\.(qkv\.|in_proj_)(weight|bias)$")
_SPLIT = re.compile(r"^(detector_model\..*)\.([qkv])_proj\.(weight|bias)$")
_DOWNSAMPLER = re.compile(r"^(.*\.mask_downsampler\.)encoder\.(\d+)\.(.*)$")
_HF_DOWNSAMPLER = re.compile(
    r"^(.*\.mask_downsampler\.)(?:layers\.(\d+)\.(conv|layer_norm)|(final_conv))\.(.*)$"
)
POS_EMBED = _HF_VIT + "embeddings.position_embeddings"
TEXT_PROJECTION = _HF_TXT + "text_projection.weight"
POINT_EMBED = _HF_TRK + "prompt_encoder.point_embed"
SHARED_PE = (
    _HF_TRK + "prompt_encoder.shared_embedding.positional_embedding",
    _HF_TRK + "shared_image_embedding.positional_embedding",
)


def _downsampler_layers(keys: Any) -> int:
    """How many conv+norm layers the transformers memory encoder's down-sampler has."""
    found = {int(m.group(2)) for k in keys if (m := _HF_DOWNSAMPLER.match(k)) and m.group(2)}
    return max(found) + 1 if found else 0


def to_hf(official: dict[str, Any], expected: Any) -> tuple[dict[str, Any], list[str]]:
    """The release's state dict → (transformers state dict, release keys left out).
    ``expected``: the transformers model's keys (the down-sampler's depth comes from them)."""
    import torch

    layers = _downsampler_layers(expected)
    out: dict[str, Any] = {}
    dropped: list[str] = []
    points: dict[int, Any] = {}
    for key, tensor in official.items():
        name = official_to_hf_name(key)
        if name is None:
            dropped.append(key)
            continue
        if name == POS_EMBED and tensor.shape[1] != round(tensor.shape[1] ** 0.5) ** 2:
            tensor = tensor[:, 1:, :]  # the class-token row; transformers has none
        elif name == TEXT_PROJECTION:
            tensor = tensor.T.contiguous()
        if name.startswith(POINT_EMBED + "."):
            points[int(name.split(".")[-2])] = tensor
            continue
        sampled = _DOWNSAMPLER.match(name)
        if sampled:
            index = int(sampled.group(2))
            head, rest = sampled.group(1), sampled.group(3)
            if index == 3 * layers:
                name = f"{head}final_conv.{rest}"
            elif index % 3 in (0, 1):
                part = "conv" if index % 3 == 0 else "layer_norm"
                name = f"{head}layers.{index // 3}.{part}.{rest}"
        fused = _FUSED.match(name)
        if fused:
            for letter, piece in zip("qkv", torch.chunk(tensor, 3, dim=0), strict=True):
                out[f"{fused.group(1)}.{letter}_proj.{fused.group(3)}"] = piece.contiguous()
            continue
        out[name] = tensor
    if points:
        out[POINT_EMBED + ".weight"] = torch.cat([points[i] for i in sorted(points)], dim=0)
    if SHARED_PE[0] in out:
        out[SHARED_PE[1]] = out[SHARED_PE[0]]
    return out, dropped


def to_official(hf: dict[str, Any]) -> dict[str, Any]:
    """A transformers ``Sam3VideoModel`` state dict → the release's layout (for tests, and
    to check that the table above names every weight)."""
    import torch

    layers = _downsampler_layers(hf)
    hf = dict(hf)
    hf.pop(SHARED_PE[1], None)
    out: dict[str, Any] = {}
    triples: dict[tuple[str, str], dict[str, Any]] = {}
    for key, tensor in hf.items():
        split = _SPLIT.match(key)
        if split:
            triples.setdefault((split.group(1), split.group(3)), {})[split.group(2)] = tensor
            continue
        if key == POINT_EMBED + ".weight":
            for i, row in enumerate(tensor):
                out[f"{_TRK}sam_prompt_encoder.point_embeddings.{i}.weight"] = row[None].clone()
            continue
        if key == POS_EMBED:
            tensor = torch.cat([torch.zeros_like(tensor[:, :1]), tensor], dim=1)
        elif key == TEXT_PROJECTION:
            tensor = tensor.T.contiguous()
        sampled = _HF_DOWNSAMPLER.match(key)
        if sampled:
            index = (
                3 * layers
                if sampled.group(4)
                else 3 * int(sampled.group(2)) + (0 if sampled.group(3) == "conv" else 1)
            )
            key = f"{sampled.group(1)}encoder.{index}.{sampled.group(5)}"
        out[_official(key)] = tensor
    for (module, kind), parts in triples.items():
        fused = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)
        joint = "qkv." if module.endswith(".attention") else "in_proj_"
        out[_official(f"{module}.{joint}{kind}")] = fused
    # The release names a neck level with one up-sampling conv ``dconv_2x2`` (two: _0 and _1).
    for key in list(out):
        if ".dconv_2x2_0." in key and key.replace("_2x2_0.", "_2x2_1.") not in out:
            out[key.replace("dconv_2x2_0.", "dconv_2x2.")] = out.pop(key)
    return out


def _official(key: str) -> str:
    name = hf_to_official_name(key)
    if name is None:
        raise KeyError(f"no release name for {key}")
    return name


# --------------------------------------------------------------------------- conversion


def is_checkpoint_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in CHECKPOINT_SUFFIXES


def converted_folder(checkpoint: Path, base: Path) -> Path:
    """Where ``checkpoint`` is (or will be) converted: by its name, size and mtime."""
    stat = checkpoint.stat()
    return base / CONVERTED_DIR / f"{checkpoint.stem}-{stat.st_size}-{stat.st_mtime_ns}"


def is_converted(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def _config(checkpoint: Path):
    from transformers.models.sam3_video.configuration_sam3_video import Sam3VideoConfig

    beside = checkpoint.parent / "config.json"
    if beside.is_file():
        try:
            data = json.loads(beside.read_text())
        except (OSError, ValueError) as exc:
            raise BadInput(f"SAM3: {beside} is not readable JSON ({exc}).") from None
        if isinstance(data, dict) and data.get("model_type") == "sam3_video":
            return Sam3VideoConfig.from_dict(data), str(beside)
    return Sam3VideoConfig(), "the release's defaults"


def _copy_tokenizer(checkpoint: Path, target: Path) -> str:
    beside = [checkpoint.parent / n for n in TOKENIZER_FILES if (checkpoint.parent / n).is_file()]
    if beside:
        for path in beside:
            shutil.copy2(path, target / path.name)
        return str(checkpoint.parent)
    from transformers import AutoTokenizer

    for hub_id in TOKENIZER_HUB_IDS:
        try:
            tokenizer = AutoTokenizer.from_pretrained(hub_id, local_files_only=True)
        except (OSError, ValueError):
            continue
        tokenizer.save_pretrained(target)
        return f"{hub_id} (Hugging Face cache)"
    raise BadInput(
        f"SAM3: no tokenizer for {checkpoint.name}. Put the tokenizer files of facebook/sam3 "
        f"(tokenizer.json, tokenizer_config.json…) beside it, or download one with "
        f"`hf download {TOKENIZER_HUB_IDS[0]} --include 'tokenizer*' '*.txt' '*.json'`."
    )


def _read_state_dict(checkpoint: Path) -> dict[str, Any]:
    import torch

    try:  # weights only: a checkpoint file runs no code
        data = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:
        raise BadInput(
            f"SAM3: {checkpoint} could not be read as a PyTorch checkpoint ({exc}). Point "
            "SAM3_MODEL_PATH at the official sam3.pt or at a transformers folder."
        ) from None
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        data = data["model"]
    if not isinstance(data, dict) or not data:
        raise BadInput(f"SAM3: {checkpoint} holds no state dict.")
    return data


def convert(checkpoint: Path, folder: Path, say: Callable[[str], None] | None = None) -> Path:
    """Convert ``checkpoint`` into ``folder`` unless already done (one process at a time;
    the others wait and find it done). Returns ``folder``."""
    from filelock import FileLock

    def note(line: str) -> None:
        log.info(line)
        if say is not None:
            say(line)

    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if is_converted(folder):
            return folder
        started = time.monotonic()
        size = checkpoint.stat().st_size
        note(
            f"SAM3: converting the official checkpoint {checkpoint} ({size / 1e9:.2f} GB) "
            f"into {folder} (once; later jobs load the converted folder)"
        )
        note("SAM3 conversion 1/4: reading the checkpoint")
        official = _read_state_dict(checkpoint)
        config, config_from = _config(checkpoint)
        note(
            f"SAM3 conversion 2/4: renaming {len(official)} weights (model shapes from "
            f"{config_from})"
        )
        import torch
        from transformers.models.sam3_video.modeling_sam3_video import Sam3VideoModel

        with torch.device("meta"):
            expected = set(Sam3VideoModel(config).state_dict())
        state, dropped = to_hf(official, expected)
        unknown = sorted(set(state) - expected)
        missing = sorted(expected - set(state))
        if missing:
            raise BadInput(
                f"SAM3: {checkpoint} is not the official SAM3 video checkpoint (or not for this "
                f"config): {len(missing)} weights are missing, e.g. {', '.join(missing[:3])}."
            )
        if dropped or unknown:
            note(
                f"SAM3 conversion: {len(dropped) + len(unknown)} weights transformers does not "
                f"use are left out (e.g. {', '.join((dropped + unknown)[:3])})"
            )
        note("SAM3 conversion 3/4: building the transformers model")
        model = Sam3VideoModel(config)
        model.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=True)
        tmp = folder.with_name(folder.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        note(f"SAM3 conversion 4/4: writing safetensors and the tokenizer into {folder}")
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer_from = _copy_tokenizer(checkpoint, tmp)
        (tmp / "converted_from.json").write_text(
            json.dumps(
                {
                    "checkpoint": str(checkpoint),
                    "size": size,
                    "mtime_ns": checkpoint.stat().st_mtime_ns,
                    "config": config_from,
                    "tokenizer": tokenizer_from,
                },
                indent=1,
            )
        )
        del model, state, official
        os.replace(tmp, folder)
        for old in folder.parent.glob(f"{checkpoint.stem}-*"):  # earlier versions of the file
            if old.is_dir() and old != folder and not old.name.endswith(".partial"):
                shutil.rmtree(old, ignore_errors=True)
        note(f"SAM3: converted in {time.monotonic() - started:.1f} s")
    return folder
