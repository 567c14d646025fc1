"""Command line: ``python -m pipelines.frames analyze VIDEO... [--json]``.

Prints per video: fps, frame count, first and last frame (index, time),
confidence and candidates; a bad file gets an error entry, and the exit code
is 1 when any file failed. With ``--json`` stdout holds only JSON (progress
goes to stderr either way).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from ..progress import BarProgress, NullProgress
from .analysis import analyze_many
from .first_last import DEFAULT_STATUS_BAR, parse_exclusions
from .video import FrameReviewError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipelines.frames", description=__doc__.splitlines()[0]
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    an = sub.add_parser(
        "analyze", help="analyse recordings: first/last frame, candidates, metadata"
    )
    an.add_argument("videos", nargs="+", type=Path)
    an.add_argument("--json", action="store_true", help="print JSON only on stdout")
    an.add_argument(
        "--work-dir",
        type=Path,
        help="where metrics.npz, analysis.json and thumbnails go (default: a temp dir)",
    )
    an.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="X,Y,W,H",
        help="ignore a rectangle (fractions 0..1 of the frame); repeatable",
    )
    an.add_argument(
        "--status-bar",
        type=float,
        default=DEFAULT_STATUS_BAR,
        help=f"top share of the screen ignored (default {DEFAULT_STATUS_BAR}; 0 = none)",
    )
    an.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    try:
        exclusions = parse_exclusions(args.exclude)
    except FrameReviewError as exc:
        ap.error(str(exc))
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="frames_"))
    progress = NullProgress() if args.no_progress else BarProgress(desc="analyse")
    try:
        items = analyze_many(args.videos, work, exclusions, args.status_bar, progress)
    finally:
        if isinstance(progress, BarProgress):
            progress.close()
    results = [it.to_dict() for it in items]
    if args.json:
        json.dump(results, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for r in results:
            if not r["ok"]:
                print(f"{r['path']}: ERROR {r['error']}")
                continue
            first, last = r["first"], r["last"]
            print(
                f"{r['path']}: {r['fps']} fps, {r['frame_count']} frames"
                + (" (VFR)" if r["variable_frame_rate"] else "")
            )
            if first and last:
                print(
                    f"  first #{first['index']} at {first['time']:.3f}s, last #{last['index']} at {last['time']:.3f}s, "
                    f"{r['duration_ms']:.0f} ms, confidence {r['confidence']:.2f}"
                )
            print(
                "  first candidates: "
                + ", ".join(f"#{c['index']} ({c['score']})" for c in r["first_candidates"])
            )
            print(
                "  last candidates:  "
                + ", ".join(f"#{c['index']} ({c['score']})" for c in r["last_candidates"])
            )
            for w in r["warnings"]:
                print(f"  warning: {w}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
