"""Command line: ``python -m pipelines.video_edit INPUT --mask-prompt P --edit-prompt E [options]``.

Every option flag comes from :class:`pipelines.video_edit.VideoEditOptions`
(its defaults, limits and help). A progress bar runs on stderr; the exit code
is 0 when the job finished and 1 (with the error on stderr) when it failed;
``status.json`` in the output folder says the same.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipelines.video_edit.options import (
    VideoEditRequest,
    default_output_dir,
    nest_extra,
    new_job_id,
    option_defaults,
    option_fields,
)

FLAG_NAMES = {"apply_smoothing": "--no-smoothing"}


def _kind(annotation: Any) -> Any:
    """The plain type of a field: int, float, str, bool, or the Literal's choices."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    if args and typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return _kind(args[0])
    if typing.get_origin(annotation) is typing.Annotated:
        return _kind(args[0])
    return annotation


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.video_edit",
        description="Mask what --mask-prompt names in every frame and edit it as --edit-prompt says "
        "(SAM3 / CLIPSeg / MediaPipe masks, InstructPix2Pix edit, temporal smoothing).",
    )
    parser.add_argument("input", type=Path, help="the clip to edit")
    parser.add_argument("--mask-prompt", required=True, help="what to mask, e.g. 'hair', 'person'")
    parser.add_argument("--edit-prompt", required=True, help="what to do, e.g. 'make the hair red'")
    parser.add_argument("--job-id", default=None, help="names the outputs (default: a new id)")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="default: $UR_EDIT_OUTPUT_DIR/<job_id>, else ./outputs/<job_id>",
    )
    defaults = option_defaults()
    for name, field in option_fields().items():
        kind = _kind(field.annotation)
        help_text = f"{field.description} (default: {defaults[name]})"
        if kind is bool:
            parser.add_argument(
                FLAG_NAMES.get(name, f"--no-{name.replace('_', '-')}"),
                dest=name,
                action="store_false",
                default=defaults[name],
                help=f"turn off: {help_text}",
            )
        elif isinstance(kind, list):
            parser.add_argument(
                f"--{name.replace('_', '-')}",
                dest=name,
                choices=kind,
                default=defaults[name],
                help=help_text,
            )
        else:
            parser.add_argument(
                f"--{name.replace('_', '-')}",
                dest=name,
                type=kind,
                default=defaults[name],
                help=help_text,
            )
    return parser


def request_from_args(args: argparse.Namespace) -> VideoEditRequest:
    values = {name: getattr(args, name) for name in option_fields()}
    job_id = args.job_id or new_job_id()
    return VideoEditRequest(
        job_id=job_id,
        input_video_path=args.input,
        output_dir=args.output_dir,
        mask_prompt=args.mask_prompt,
        edit_prompt=args.edit_prompt,
        **nest_extra(values),
    )


def main(argv: list[str] | None = None) -> int:
    from pipelines.progress import BarProgress, Cancelled
    from pipelines.video_edit.pipeline import run_video_edit
    from pipelines.video_edit.status import StatusFile, VideoEditStatus, one_line

    args = build_parser().parse_args(argv)
    try:
        request = request_from_args(args)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"error: {problems}", file=sys.stderr)
        if args.job_id:  # a job with a name still leaves its status
            folder = args.output_dir or default_output_dir(args.job_id)
            StatusFile(
                folder,
                VideoEditStatus(job_id=args.job_id, status="failed", error=one_line(problems)),
            ).write()
        return 2
    bar = BarProgress(desc="video edit")
    try:
        status = run_video_edit(request, bar)
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        bar.close()
        print(f"error: {one_line(str(exc) or type(exc).__name__)}", file=sys.stderr)
        print(f"status: {request.resolved_output_dir() / 'status.json'}", file=sys.stderr)
        return 1
    bar.close()
    print(
        f"{status.message}\noutput: {status.output_video_path}\nmask:   {status.mask_preview_path}\n"
        f"log:    {status.logs_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
