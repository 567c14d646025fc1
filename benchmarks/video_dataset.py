"""Benchmark: video dataset conversion against running ffmpeg by hand.

    python benchmarks/video_dataset.py            # 8 clips, 8 s, 1080p30 (a few minutes on 2 cores)
    python benchmarks/video_dataset.py --quick    # 4 clips, 4 s

Inputs are generated once with ffmpeg's testsrc2 source (x264 ultrafast) and
cached. Then, on the same files in the same run:

* "ffmpeg by hand, serial": imageio-ffmpeg's binary, one plain command per file,
  one file after the other,
  ``-vf fps=16,scale=W:-2 -c:v libx264 -preset fast -crf 18 -pix_fmt yuv420p -an``
  (the encoder settings the pipeline uses, so the comparison is like for like);
* "ffmpeg by hand, parallel": the same commands, as many at once as the pipeline
  runs (``conversion_workers``: one per core, bounded by memory);
* "pipeline": ``build_video_dataset`` with captions off: probe, convert (several
  clips at once), frame check, N.mp4 + N.txt, dataset.toml and the preview grid,
  everything included.

Files are taken in groups, each group run serial, parallel, pipeline, pipeline,
parallel, serial, so the load of other users on a shared machine falls on all
alike. The table gives wall seconds, video seconds converted per wall second, CPU
seconds and each method's speed against the serial hand baseline (goal for the
pipeline: >= 1.5x).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.video_dataset import VideoDatasetOptions, build_video_dataset
from pipelines.video_dataset.build import conversion_workers
from pipelines.video_dataset.convert import ffmpeg_exe

CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    / "studio-benchmarks"
    / "video_dataset"
)


def make_inputs(count: int, seconds: float, size: str, fps: int) -> list[Path]:
    folder = CACHE / f"{size}_{fps}fps_{seconds:g}s"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        path = folder / f"clip{i:02d}.mp4"
        if not path.exists():
            tmp = path.with_suffix(".partial.mp4")
            subprocess.run(
                [
                    ffmpeg_exe(),
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-y",
                    "-f",
                    "lavfi",
                    "-i",
                    f"testsrc2=size={size}:rate={fps}:duration={seconds}",
                    "-vf",
                    f"hue=h={i * 17}",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-pix_fmt",
                    "yuv420p",
                    str(tmp),
                ],
                check=True,
            )
            tmp.rename(path)
        files.append(path)
    return files


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (ffmpeg)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _hand_command(src: Path, dst: Path, fps: float, max_side: int) -> list[str]:
    return [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(src),
        "-vf",
        f"fps={fps:g},scale={max_side}:-2",
        "-c:v",
        "libx264",
        "-preset",
        "fast",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        "-an",
        str(dst),
    ]


def by_hand(files: list[Path], out: Path, fps: float, max_side: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for i, src in enumerate(files, start=1):
        subprocess.run(_hand_command(src, out / f"{i}.mp4", fps, max_side), check=True)


def by_hand_parallel(files: list[Path], out: Path, fps: float, max_side: int) -> None:
    """The same commands, ``conversion_workers`` at once (what a careful user would script)."""
    from concurrent.futures import ThreadPoolExecutor

    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(conversion_workers(0, len(files))) as pool:
        list(
            pool.map(
                lambda job: subprocess.run(
                    _hand_command(job[1], out / f"{job[0]}.mp4", fps, max_side), check=True
                ),
                enumerate(files, start=1),
            )
        )


def by_pipeline(files: list[Path], out: Path, fps: float, max_side: int) -> None:
    folder = out.parent / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:  # links, so the pipeline reads the same files
        (folder / f.name).symlink_to(f)
    options = VideoDatasetOptions(
        preset=None, fps=fps, max_side=max_side, frame_buckets=(1, 33, 65, 81)
    )
    result = build_video_dataset(folder, out, options)
    assert len(result.clips) == len(files), (
        f"pipeline made {len(result.clips)} clips of {len(files)}"
    )


def timed(run, files, fps, max_side) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one method on ``files``, in a fresh folder."""
    work = Path(tempfile.mkdtemp(prefix="video_dataset_bench_"))
    try:
        wall, cpu = time.perf_counter(), cpu_seconds()
        run(files, work / "out" / "dataset", fps, max_side)
        return time.perf_counter() - wall, cpu_seconds() - cpu
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="4 clips of 4 s instead of 8 of 8 s")
    p.add_argument("--fps", type=float, default=16.0)
    p.add_argument("--max-side", type=int, default=832, help="output width (landscape inputs)")
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--group", type=int, default=8, help="files per group of runs")
    args = p.parse_args()
    count, seconds = (4, 4.0) if args.quick else (8, 8.0)
    if args.quick:
        args.group = 4

    t = time.perf_counter()
    files = make_inputs(count, seconds, args.size, 30)
    print(
        f"inputs: {count} x {seconds:g} s {args.size} 30 fps (ready in {time.perf_counter() - t:.1f} s, cached in {CACHE})"
    )
    video_seconds = count * seconds
    # Groups of files, each run hand / pipeline / pipeline / hand: the other users'
    # load on a shared machine drifts over minutes; this order spreads it over both.
    methods = {"hand": by_hand, "parallel": by_hand_parallel, "pipeline": by_pipeline}
    wall = dict.fromkeys(methods, 0.0)
    cpu = dict.fromkeys(methods, 0.0)
    print(f"{os.cpu_count()} cores; clips converted at once: {conversion_workers(0, args.group)}")
    groups = [files[i : i + args.group] for i in range(0, len(files), args.group)]
    for g, group in enumerate(groups, start=1):
        for name in ("hand", "parallel", "pipeline", "pipeline", "parallel", "hand"):
            w, c = timed(methods[name], group, args.fps, args.max_side)
            wall[name] += w / 2
            cpu[name] += c / 2
            print(f"  group {g}/{len(groups)} {name:<9}{w:8.2f} s wall {c:8.2f} s CPU", flush=True)
    rows = [
        ("ffmpeg by hand, serial", "hand"),
        ("ffmpeg by hand, parallel", "parallel"),
        ("pipeline (build_video_dataset)", "pipeline"),
    ]

    print(
        f"\n{count} clips x {seconds:g} s {args.size} -> {args.fps:g} fps, width {args.max_side}, "
        "libx264 fast crf 18, yuv420p, no audio (each method run twice, mean shown)"
    )
    print(f"{'run':<32}{'wall s':>9}{'video s / s':>13}{'CPU s':>9}{'x serial':>10}")
    for label, key in rows:
        w, c = wall[key], cpu[key]
        print(f"{label:<32}{w:>9.2f}{video_seconds / w:>13.2f}{c:>9.2f}{wall['hand'] / w:>9.2f}x")
    ratio, parallel_ratio = wall["hand"] / wall["pipeline"], wall["parallel"] / wall["pipeline"]
    print(
        f"pipeline vs serial hand {ratio:.2f}x (goal >= 1.5), vs parallel hand {parallel_ratio:.2f}x"
    )
    # The serial hand run already keeps cpu/wall cores busy (FFmpeg's own threads): with the
    # same work, no schedule on these cores can beat it by more than this.
    cores = os.cpu_count() or 1
    ceiling = cores / (cpu["hand"] / wall["hand"])
    print(
        f"the serial hand run keeps {cpu['hand'] / wall['hand']:.2f} of {cores} cores busy: "
        f"the most any schedule of the same work can gain here is {ceiling:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
