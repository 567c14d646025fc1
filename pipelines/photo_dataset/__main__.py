"""Local CLI (privacy mode: nothing leaves the machine unless you choose the API provider).

    python -m pipelines.photo_dataset build INPUT [INPUT ...] --output DIR [--caption none|local|api]
        [--trigger WORD] [--keep-per-cluster N] [--crop 1024|buckets] [--model ID]
        [--api-base URL --api-key KEY --api-model M [--api-model M2 ...]]

With ``--videos`` the whole command goes to the video dataset CLI.
The API key may also come from the STUDIO_CAPTION_API_KEY environment variable.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipelines.photo_dataset", description="Build a LoRA photo dataset."
    )
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser(
        "build", help="photos (ZIP, folder or files) -> image/caption pairs + manifest.json"
    )
    b.add_argument("inputs", nargs="+", type=Path, help="ZIP files, folders or image files")
    b.add_argument("--output", "-o", type=Path, required=True, help="output folder")
    b.add_argument("--caption", choices=["none", "local", "api"], default="none")
    b.add_argument("--trigger", default="", help="trigger word, first in every caption")
    b.add_argument("--prefix", default="", help="fixed text after the trigger word")
    b.add_argument("--style", choices=["sentence", "tags"], default="sentence")
    b.add_argument("--keep-per-cluster", type=int, default=None)
    b.add_argument("--crop", default="1024", help="square size in pixels (e.g. 1024) or 'buckets'")
    b.add_argument(
        "--resolution", type=int, default=1024, help="bucket resolution with --crop buckets"
    )
    b.add_argument("--format", choices=["jpg", "png"], default="jpg")
    b.add_argument(
        "--min-side", type=int, default=None, help="drop photos whose shorter side is smaller"
    )
    b.add_argument("--no-faces", action="store_true", help="dedup by pHash only (no MediaPipe)")
    b.add_argument(
        "--insightface-dir", default="", help="buffalo_l folder (or STUDIO_INSIGHTFACE_DIR)"
    )
    b.add_argument(
        "--keep", action="append", default=[], help="source name to keep whatever filter/dedup say"
    )
    b.add_argument("--drop", action="append", default=[], help="source name to drop")
    b.add_argument("--model", default=None, help="local caption model: HF id or folder")
    b.add_argument("--device", default="auto")
    b.add_argument("--api-base", default="")
    b.add_argument("--api-key", default=os.environ.get("STUDIO_CAPTION_API_KEY", ""))
    b.add_argument(
        "--api-model", action="append", default=[], help="in priority order; repeat for fallbacks"
    )
    b.add_argument("--no-zip", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--videos" in argv:
        from pipelines.video_dataset.__main__ import main as video_main

        return video_main(argv)
    args = _parser().parse_args(argv)

    from pipelines.captions import CaptionOptions
    from pipelines.progress import BarProgress, Cancelled

    from .photos import PhotoDatasetError, PhotoDatasetOptions, build_photo_dataset

    options = PhotoDatasetOptions(
        force_keep=args.keep, force_drop=args.drop, make_zip=not args.no_zip
    )
    options.caption = CaptionOptions(
        provider=args.caption,
        trigger=args.trigger,
        prefix=args.prefix,
        style=args.style,
        device=args.device,
        api_base_url=args.api_base,
        api_key=args.api_key,
        api_models=args.api_model,
    )
    if args.model:
        options.caption.local_model = args.model
    if args.keep_per_cluster is not None:
        options.dedup.keep_per_cluster = args.keep_per_cluster
    options.dedup.use_faces = not args.no_faces
    options.dedup.insightface_model_dir = args.insightface_dir
    if args.min_side is not None:
        options.quality.min_side = args.min_side
    if args.crop == "buckets":
        options.crop.mode, options.crop.size = "buckets", args.resolution
    else:
        try:
            options.crop.size = int(args.crop)
        except ValueError:
            print(
                f"error: --crop {args.crop!r}: give a size in pixels (1024) or 'buckets'",
                file=sys.stderr,
            )
            return 2
    options.crop.image_format = args.format

    bar = BarProgress("unpack")
    try:
        result = build_photo_dataset(args.inputs, args.output, options, bar)
    except PhotoDatasetError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (Cancelled, KeyboardInterrupt):
        bar.close()
        print(f"cancelled: what was done is in {args.output}", file=sys.stderr)
        return 130
    bar.close()
    c = result.counts()
    print(
        f"{c['kept']} kept, {c['dropped']} dropped, {c['error']} errors, {c['skipped']} skipped -> {args.output}"
    )
    for r in result.records:
        if r.status in ("error", "skipped"):
            print(f"  {r.status}: {r.name}: {'; '.join(r.reasons)}")
    print(f"manifest: {result.manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
