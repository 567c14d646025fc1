"""Command line: ``python -m pipelines.video_dataset build INPUT --output DIR ...``.

Runs locally; nothing is uploaded unless ``--caption api`` is chosen.
"""

from __future__ import annotations

import argparse
import os
import sys

from pipelines.captions import CaptionError
from pipelines.errors import BadInput
from pipelines.progress import BarProgress, Cancelled
from pipelines.video_dataset.build import build_video_dataset
from pipelines.video_dataset.options import add_cli_flags, from_cli


def parser() -> argparse.ArgumentParser:
    """The options' flags come from :class:`pipelines.video_dataset.options.VideoOptions`."""
    p = argparse.ArgumentParser(
        prog="python -m pipelines.video_dataset build",
        description="Turn a folder, ZIP or list of videos into N.mp4 + N.txt for video LoRA trainers.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="folder, ZIP or video files")
    p.add_argument("--output", "-o", required=True, help="dataset folder to create")
    p.add_argument(
        "--videos", action="store_true", help=argparse.SUPPRESS
    )  # from `python -m pipelines.photo_dataset`
    add_cli_flags(p)
    p.add_argument(
        "--scene-threshold",
        type=float,
        default=0.12,
        help="0..1 picture change that counts as a cut (default 0.12)",
    )
    p.add_argument("--frame-buckets", help="comma-separated, e.g. 1,33,65 (default: the preset's)")
    p.add_argument(
        "--instruction", default="", help="custom caption instruction (overrides --method's)"
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get("OPENAI_API_KEY", ""),
        help="API key (default: $OPENAI_API_KEY, which keeps it out of shell history)",
    )
    p.add_argument("--append", action="store_true", help="add clips to an existing dataset folder")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "build":
        argv = argv[1:]
    args = parser().parse_args(argv)
    try:
        options = from_cli(args)
        plan = options.plan(args.api_key)
        if options.rewrite_skipped():
            print(f"note: {options.rewrite_skipped()}", file=sys.stderr)
        plan.scene_threshold, plan.append, plan.make_zip = (
            args.scene_threshold,
            args.append,
            options.make_zip,
        )
        if args.frame_buckets:
            plan.frame_buckets = tuple(int(x) for x in args.frame_buckets.split(","))
        if args.instruction:
            plan.caption.instruction = args.instruction
        bar = BarProgress("video dataset")
        try:
            result = build_video_dataset(args.inputs, args.output, plan, bar)
        finally:
            bar.close()
    except Cancelled:
        print("cancelled; finished clips are kept", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted; finished clips are kept", file=sys.stderr)
        return 130
    except (BadInput, ValueError, CaptionError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{len(result.clips)} clips, {result.total_duration:.1f} s in {result.output_dir} "
        f"({len(result.skipped)} skipped, {result.seconds:.1f} s)"
    )
    for s in result.skipped:
        print(f"left out: {s.reason}", file=sys.stderr)
    if result.zip_path:
        print(f"zip: {result.zip_path}")
    return 0 if result.clips or not result.skipped else 1


if __name__ == "__main__":
    sys.exit(main())
