"""The in-process backend: diffusers' ``WanAnimatePipeline`` on a pair folder.

Wan2.2-Animate animates a reference image with a pose video and a face video.
From the pair folder it takes ``ref_image.png``, the aligned pose frames of
``positive/`` and the face crops of ``face/`` (written by the studio's
preprocessing; a folder made elsewhere without ``face/`` uses the reference's
upper middle instead, which animates the face less). SteadyDancer's negative
poses and ``condition_guide_scale`` / ``end_cond_cfg`` have no counterpart
here; ``sample_guide_scale`` is its guidance scale, ``sample_steps`` its
denoising steps (default 20), ``base_seed`` its generator seed.

The model is loaded by :func:`load_pipeline` (a diffusers folder saved with
``save_pretrained`` or a Hub id, e.g. ``Wan-AI/Wan2.2-Animate-14B-Diffusers``);
the GPU worker keeps it loaded between jobs.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.dance.config import DanceConfig
from pipelines.dance.prepare import frame_name
from pipelines.errors import BadInput, NotFound
from pipelines.progress import NullProgress, Progress

HUB_ID = "Wan-AI/Wan2.2-Animate-14B-Diffusers"
DEFAULT_STEPS = 20
# Wan-Animate's default segment length; clips up to 81 frames run as one segment.
SEGMENT_FRAMES = 77


def load_pipeline(model: str | Path, device: str | None = None, offload: bool = False) -> Any:
    """Load Wan-Animate from a folder or Hub id onto ``device`` (default: CUDA when
    present): bfloat16 on a GPU with the VAE in float32, float32 on the CPU.
    ``offload`` keeps each part on the CPU until it runs (diffusers' model CPU
    offload: far less GPU memory, slower)."""
    import torch
    from diffusers import AutoencoderKLWan, WanAnimatePipeline

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    folder = Path(str(model)).expanduser()
    looks_local = folder.is_absolute() or str(model).startswith((".", "~"))
    if looks_local and not (folder / "model_index.json").is_file():
        raise NotFound(
            f"No Wan-Animate model at {folder}: download {HUB_ID} there "
            f"(huggingface-cli download {HUB_ID} --local-dir {folder}) or set STUDIO_WAN_ANIMATE_MODEL."
        )
    source = str(folder) if looks_local else str(model)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    kwargs: dict[str, Any] = {"dtype": dtype}
    if dtype != torch.float32:
        kwargs["vae"] = AutoencoderKLWan.from_pretrained(
            source, subfolder="vae", dtype=torch.float32
        )
    try:
        pipe = WanAnimatePipeline.from_pretrained(source, **kwargs)
    except OSError as exc:
        raise NotFound(
            f"Could not load Wan-Animate from {model}: {exc}. Download {HUB_ID} into a folder and set "
            "STUDIO_WAN_ANIMATE_MODEL to it."
        ) from None
    if offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _frames(folder: Path, count: int) -> list:
    from PIL import Image

    frames = []
    for index in range(count):
        path = folder / frame_name(index)
        with Image.open(path) as im:
            frames.append(im.convert("RGB"))
    return frames


def _reference_face(image: Any, count: int) -> list:
    width, height = image.size
    side = min(width, height) // 2
    box = ((width - side) // 2, 0, (width - side) // 2 + side, side)
    return [image.crop(box)] * count


def generate(
    pipe: Any,
    input_dir: str | Path,
    config: DanceConfig,
    prompt: str,
    out_path: str | Path,
    fps: float = 16.0,
    progress: Progress | None = None,
) -> dict:
    """Animate the pair folder's reference with its poses; writes ``out_path`` (MP4)."""
    import torch
    from PIL import Image

    from pipelines.dance.video import VideoWriter

    progress = progress or NullProgress()
    folder = Path(input_dir)
    count = config.frame_num
    missing = [
        name
        for name in ("ref_image.png", f"positive/{frame_name(count - 1)}")
        if not (folder / name).is_file()
    ]
    if missing:
        raise BadInput(
            f"{folder} lacks {', '.join(missing)}: the pair folder has fewer than frame_num={count} "
            "pose frames. Prepare the experiment again or lower frame_num."
        )
    t0 = time.perf_counter()
    progress.update(stage="loading inputs", fraction=0.02)
    with Image.open(folder / "ref_image.png") as im:
        image = im.convert("RGB")
    poses = _frames(folder / "positive", count)
    has_faces = (folder / "face" / frame_name(count - 1)).is_file()
    faces = _frames(folder / "face", count) if has_faces else _reference_face(image, count)
    width, height = (max(16, v // 16 * 16) for v in poses[0].size)
    steps = config.sample_steps or DEFAULT_STEPS
    segment = count if count <= 81 else SEGMENT_FRAMES
    segments = 1 if count <= segment else -(-(count - 1) // (segment - 1))
    total = steps * segments
    done = [0]

    def on_step(_pipe: Any, step: int, _t: Any, kwargs: dict) -> dict:
        done[0] += 1
        progress.update(
            stage="sampling", fraction=0.05 + 0.9 * done[0] / total, item=f"step {done[0]}/{total}"
        )  # raises Cancelled after a cancel
        return kwargs

    seed = config.base_seed if config.base_seed >= 0 else secrets.randbits(63)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    progress.update(stage="sampling", fraction=0.05, item=f"step 0/{total}")
    t1 = time.perf_counter()
    with torch.inference_mode():
        result = pipe(
            image=image,
            pose_video=poses,
            face_video=faces,
            prompt=prompt,
            height=height,
            width=width,
            segment_frame_length=segment,
            num_inference_steps=steps,
            mode="animate",
            guidance_scale=config.sample_guide_scale,
            generator=generator,
            output_type="np",
            callback_on_step_end=on_step,
        )
    video = np.asarray(result.frames[0])
    sampling_s = time.perf_counter() - t1
    progress.update(stage="saving", fraction=0.97)
    frames = (np.clip(video, 0, 1) * 255).round().astype(np.uint8)
    with VideoWriter(out_path, fps, frames.shape[2], frames.shape[1]) as writer:
        for frame in frames:
            writer.write(frame)
    return {
        "frames": int(frames.shape[0]),
        "width": int(frames.shape[2]),
        "height": int(frames.shape[1]),
        "steps": steps,
        "segments": segments,
        "seed": seed,
        "faces": "face/" if has_faces else "reference",
        "seconds": round(time.perf_counter() - t0, 3),
        "sampling_seconds": round(sampling_s, 3),
    }
