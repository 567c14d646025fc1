"""Command line: ``python -m pipelines.video_dataset build INPUT --output DIR ...``.

Runs locally; nothing is uploaded unless ``--caption api`` is chosen.
"""

from __future__ import annotations

import argparse
import os
import sys

from pipelines.captions import CaptionError, CaptionOptions
from pipelines.progress import BarProgress, Cancelled
from pipelines.video_dataset.buckets import FRAME_POLICIES, PRESETS
from pipelines.video_dataset.build import VideoDatasetOptions, build_video_dataset
from pipelines.video_dataset.captioning import CAPTION_PRESETS, DEFAULT_CAPTION_METHOD, DEFAULT_CAPTION_PREFIX
from pipelines.video_dataset.clips import SPLIT_MODES


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipelines.video_dataset build",
        description="Turn a folder, ZIP or list of videos into N.mp4 + N.txt for video LoRA trainers.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="folder, ZIP or video files")
    p.add_argument("--output", "-o", required=True, help="dataset folder to create")
    p.add_argument("--videos", action="store_true", help=argparse.SUPPRESS)  # from `python -m pipelines.photo_dataset`
    p.add_argument("--preset", choices=[*PRESETS, "custom"], default="wan",
                   help="target model: wan (16 fps), hunyuan (24), ltx (25); custom with --fps")
    p.add_argument("--fps", type=float, help="frame rate (default: the preset's)")
    p.add_argument("--max-side", type=int, help="longest side at most N pixels")
    p.add_argument("--resolution", help="WxH: scale to cover and centre-crop, e.g. 832x480")
    p.add_argument("--clip-seconds", type=float, help="split into clips of S seconds (with --split scenes: longest scene)")
    p.add_argument("--split", choices=SPLIT_MODES, default="none", help="split long videos (none, fixed, scenes)")
    p.add_argument("--scene-threshold", type=float, default=0.12,
                   help="0..1 picture change that counts as a cut (default 0.12)")
    p.add_argument("--frames", choices=FRAME_POLICIES, default="warn", dest="frame_policy",
                   help="clips that do not fit the frame buckets: warn, trim to 4k+1, drop too short")
    p.add_argument("--frame-buckets", help="comma-separated, e.g. 1,33,65 (default: the preset's)")
    p.add_argument("--prefix", default=DEFAULT_CAPTION_PREFIX, help=f"caption prefix (default {DEFAULT_CAPTION_PREFIX!r})")
    p.add_argument("--trigger", default="", help="trigger word put first in every caption")
    p.add_argument("--caption", choices=["none", "local", "api"], default="none", help="caption provider")
    p.add_argument("--method", choices=list(CAPTION_PRESETS), default=DEFAULT_CAPTION_METHOD, help="caption method")
    p.add_argument("--instruction", default="", help="custom caption instruction (overrides --method's)")
    p.add_argument("--model", help="local caption model id or folder")
    p.add_argument("--device", default="auto")
    p.add_argument("--caption-frames", type=int, default=1, help="1: first frame; N: N sampled frames merged")
    p.add_argument("--api-base", default="", help="OpenAI-compatible base URL, e.g. https://host/v1")
    p.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY", ""),
                   help="API key (default: $OPENAI_API_KEY, which keeps it out of shell history)")
    p.add_argument("--api-model", action="append", default=[], help="API model, repeat for fallbacks in priority order")
    p.add_argument("--rewrite", action="store_true", help="rewrite each caption with the API's LLM (Qwen optimize)")
    p.add_argument("--zip", action="store_true", help="also write DIR.zip")
    p.add_argument("--append", action="store_true", help="add clips to an existing dataset folder")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "build":
        argv = argv[1:]
    args = parser().parse_args(argv)
    try:
        caption = CaptionOptions(
            provider=args.caption, trigger=args.trigger, prefix=args.prefix, instruction=args.instruction,
            device=args.device, api_base_url=args.api_base, api_key=args.api_key, api_models=args.api_model,
            style="tags" if args.method == "tags" else "sentence",
        )
        if args.model:
            caption.local_model = args.model
        options = VideoDatasetOptions(
            preset=None if args.preset == "custom" else args.preset, fps=args.fps, max_side=args.max_side,
            resolution=_size(args.resolution) if args.resolution else None,
            split=args.split, clip_seconds=args.clip_seconds, scene_threshold=args.scene_threshold,
            frame_policy=args.frame_policy,
            frame_buckets=tuple(int(x) for x in args.frame_buckets.split(",")) if args.frame_buckets else None,
            caption=caption, caption_method=None if args.instruction else args.method,
            caption_frames=args.caption_frames, rewrite=args.rewrite, make_zip=args.zip, append=args.append,
        )
        bar = BarProgress("video dataset")
        try:
            result = build_video_dataset(args.inputs, args.output, options, bar)
        finally:
            bar.close()
    except Cancelled:
        print("cancelled; finished clips are kept", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted; finished clips are kept", file=sys.stderr)
        return 130
    except (ValueError, CaptionError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{len(result.clips)} clips, {result.total_duration:.1f} s in {result.output_dir} "
        f"({len(result.skipped)} skipped, {result.seconds:.1f} s)"
    )
    if result.zip_path:
        print(f"zip: {result.zip_path}")
    return 0 if result.clips or not result.skipped else 1


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"resolution {text!r} must look like 832x480") from None
    return w, h


if __name__ == "__main__":
    sys.exit(main())
