"""Video edit benchmark: frames/s end to end and per stage, crop-edit-paste
against whole-frame editing, and peak memory on a 1080p clip.

    python benchmarks/video_edit.py            # default run, about 2 minutes on 2 cores
    python benchmarks/video_edit.py --quick    # smaller, for a smoke test

Models: a tiny random-weight InstructPix2Pix built here (SD-shaped: 8× VAE,
8-channel UNet input) and the built-in MediaPipe person mask, on CPU. The
absolute figures say nothing about a real model on a GPU; the ratio and the
memory figures carry over (the edit's cost grows with the pixels it sees).

Baseline (same run, same model, same frames, same steps): **whole-frame
editing**, InstructPix2Pix on the full 1920×1080 frame, against **ours**,
the crop around the dilated mask box resized to 512 on its long side.

Memory: ``run_video_edit`` in a child process on a longer 1080p clip (one
step, small working size, so it stays short); its peak RSS against the size
of the clip decoded whole.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "video_edit"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

W, H, FPS = 1920, 1080, 24


def build_model(folder: Path) -> Path:
    """Tiny InstructPix2Pix with an SD-shaped 8× VAE (latents are 1/8 of the picture, as in the real model)."""
    from video_edit_tiny_models import build_ip2p

    return build_ip2p(folder / "ip2p", vae_channels=(8, 16, 16, 16), sample_size=64)


def make_clip(path: Path, frames: int) -> Path:
    """1080p: the astronaut (360 px) walking across a textured background."""
    import numpy as np
    from video_edit_media import astronaut, background, write_clip

    bg, person = background(W, H), astronaut(360)
    imgs = []
    for i in range(frames):
        x = 100 + (W - 560) * i // max(1, frames - 1)
        img = bg.copy()
        img[H - 360 :, x : x + 360] = person
        imgs.append(img)
    del np
    return write_clip(path, imgs, fps=FPS)


CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(int(sys.argv[3]))
from pipelines.video_edit import VideoEditRequest, run_video_edit
stamps = [("starting", time.perf_counter())]
rss = {}
def high_water():
    # the kernel's peak RSS since the last reset (VmHWM), then reset it: each stage's true peak
    with open("/proc/self/status") as fh:
        peak = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) / 1024
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return peak
class Clock:
    def update(self, *, stage=None, fraction=None, item=None, message=None):
        if stage and stamps[-1][0] != stage:
            rss[stamps[-1][0]] = high_water()
            stamps.append((stage, time.perf_counter()))
    def log(self, line):
        pass
args = json.loads(sys.argv[2])
start = time.perf_counter()
status = run_video_edit(VideoEditRequest(**args), Clock())
end = time.perf_counter()
rss[stamps[-1][0]] = high_water()
stages = {}
for (name, t0), (_, t1) in zip(stamps[1:], stamps[2:] + [("end", end)]):
    stages[name] = stages.get(name, 0.0) + t1 - t0
print(json.dumps({"wall": end - start, "stages": stages, "frames": status.total_frames, "rss": rss,
                  "peak_rss_mb": max(rss.values())}))
"""


def run_child(args: dict, threads: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), json.dumps(args, default=str), str(threads)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def crop_vs_whole(model: Path, clip: Path, frames: int, steps: int) -> dict:
    """Seconds per frame: ours (crop → 512) against whole-frame editing (1920×1080), same frames."""
    import numpy as np

    from pipelines.video_edit.editing import Editor, EditSettings, crop_box, load_ip2p
    from pipelines.video_edit.masking import MediaPipeBackend
    from pipelines.video_edit.smoothing import MaskShape, composite, shape_mask
    from pipelines.video_edit.video_io import read_frames

    pipe = load_ip2p(str(model), device="cpu")
    imgs = list(read_frames(clip, 0, frames))
    session = MediaPipeBackend().session("person", W, H)
    masks = [shape_mask(p, W, H, MaskShape()) for p in session.masks(imgs)]
    session.close()
    ours = Editor(
        pipe,
        EditSettings(prompt="make the person red", num_inference_steps=steps, working_size=512),
    )
    whole = Editor(
        pipe, EditSettings(prompt="make the person red", num_inference_steps=steps, working_size=W)
    )
    ours.edit([imgs[0][:64, :64]])  # warm up
    times = {"ours": 0.0, "whole": 0.0}
    pixels = {"ours": 0, "whole": W * H}
    for img, m in zip(imgs, masks, strict=True):
        for name in ("whole", "ours"):  # interleaved, so other load falls on both alike
            t0 = time.perf_counter()
            if name == "ours":
                x0, y0, x1, y1 = crop_box(m.box, W, H, 6)
                edited = img.copy()
                edited[y0:y1, x0:x1] = ours.edit([img[y0:y1, x0:x1]])[0]
                pixels["ours"] = (x1 - x0) * (y1 - y0)
            else:
                edited = whole.edit([img])[0]
            composite(img, edited, m.soft)
            times[name] += time.perf_counter() - t0
    del np
    return {k: v / frames for k, v in times.items()} | {"pixels": pixels}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--frames", type=int, default=8, help="frames of the end-to-end run (1080p)"
    )
    parser.add_argument("--steps", type=int, default=2, help="denoising steps")
    parser.add_argument(
        "--compare-frames", type=int, default=1, help="frames of the crop vs whole-frame comparison"
    )
    parser.add_argument(
        "--compare-steps",
        type=int,
        default=1,
        help="denoising steps in the comparison (both sides)",
    )
    parser.add_argument(
        "--memory-frames", type=int, default=72, help="frames of the 1080p memory run"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: steady figures on a shared machine, where spinning OpenMP threads "
        "wait on other users' processes)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="4 frames, 1 compare frame, 24 memory frames"
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.quick:
        args.frames, args.compare_frames, args.memory_frames = 4, 1, 24

    with tempfile.TemporaryDirectory(prefix="bench-video-edit-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        model = build_model(tmp)
        clip = make_clip(tmp / "walk.mp4", max(args.frames, args.compare_frames))
        long_clip = make_clip(tmp / "long.mp4", args.memory_frames)
        short_clip = make_clip(tmp / "short.mp4", max(1, args.memory_frames // 3))
        print(f"setup (tiny model, clips): {time.perf_counter() - t0:.1f} s", file=sys.stderr)

        base = {
            "mask_prompt": "person",
            "edit_prompt": "make the person red",
            "extra": {"model_path": str(model)},
        }
        e2e = run_child(
            {
                **base,
                "job_id": "e2e",
                "input_video_path": str(clip),
                "output_dir": str(tmp / "e2e"),
                "num_inference_steps": args.steps,
                "max_frames": args.frames,
            },
            args.threads,
        )
        cmp = crop_vs_whole(model, clip, args.compare_frames, args.compare_steps)
        light = {"num_inference_steps": 1, "extra": {"model_path": str(model), "working_size": 128}}
        mem = run_child(
            {
                **base,
                **light,
                "job_id": "mem",
                "input_video_path": str(long_clip),
                "output_dir": str(tmp / "mem"),
            },
            args.threads,
        )
        mem_short = run_child(
            {
                **base,
                **light,
                "job_id": "short",
                "input_video_path": str(short_clip),
                "output_dir": str(tmp / "short"),
            },
            args.threads,
        )

    n = e2e["frames"]
    print(
        f"\nVideo edit, {W}x{H} @ {FPS} fps, tiny random-weight InstructPix2Pix + MediaPipe mask, CPU only "
        f"({os.cpu_count()} cores, {args.threads} torch thread(s)), {args.steps} steps\n"
    )
    print(f"End to end ({n} frames): {n / e2e['wall']:.2f} frames/s, {e2e['wall']:.1f} s\n")
    print("| stage | s | frames/s |\n|---|---|---|")
    for stage, seconds in e2e["stages"].items():
        if stage not in ("finished",):
            print(
                f"| {stage} | {seconds:.2f} | {n / seconds if seconds > 0 else float('inf'):.1f} |"
            )
    ratio = cmp["whole"] / cmp["ours"]
    print(
        f"\nEditing a 1080p frame ({args.compare_frames} frame(s), same model, {args.compare_steps} step(s) each, "
        "edit + paste through the mask):\n"
    )
    print("| method | pixels edited | s/frame | frames/s | ratio |\n|---|---|---|---|---|")
    print(
        f"| whole-frame editing (baseline) | {W}x{H} | {cmp['whole']:.2f} | {1 / cmp['whole']:.2f} | 1.00 |"
    )
    print(
        f"| crop-edit-paste (ours, 512 long side) | crop {cmp['pixels']['ours']:,} px → ≤512 | {cmp['ours']:.2f} | "
        f"{1 / cmp['ours']:.2f} | {ratio:.1f}× faster |"
    )
    decoded = args.memory_frames * W * H * 3 / 2**20
    print(
        f"\nMemory: run_video_edit on {args.memory_frames} frames of 1080p ({decoded:.0f} MB if decoded whole), "
        f"{mem['wall']:.1f} s, whole process:\n"
    )
    print("| stage | peak RSS in the stage (MB) |\n|---|---|")
    for stage, mb in mem["rss"].items():
        print(f"| {stage} | {mb:.0f} |")
    print(f"| **peak** | **{mem['peak_rss_mb']:.0f}** |")
    short = mem_short["frames"]
    print(
        f"\nThe same on {short} frames: peak {mem_short['peak_rss_mb']:.0f} MB; on {mem['frames']} frames: "
        f"{mem['peak_rss_mb']:.0f} MB (ratio {mem['peak_rss_mb'] / mem_short['peak_rss_mb']:.2f} for "
        f"{mem['frames'] / short:.0f}× the frames)."
    )


if __name__ == "__main__":
    main()
