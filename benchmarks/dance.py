"""Benchmark: dance pose preprocessing against the bare MediaPipe pose loop.

    python benchmarks/dance.py            # 81 frames (SteadyDancer's count) of 1280×720, 3 rounds
    python benchmarks/dance.py --quick    # 33 frames of 640×360, 1 round

The driving clip is the astronaut of scikit-image sliding over a background
(a real person: MediaPipe finds real poses), generated once into a temporary
folder. On the same clip, in the same run:

* "bare MediaPipe loop": PyAV decodes every frame to RGB and
  ``mp.solutions.pose.Pose(model_complexity=1).process(frame)`` runs on it — the
  least any pose preprocessing must do (the model load is counted once);
* "studio preprocessing": ``pipelines.dance.prepare.prepare_input`` end to end
  at SteadyDancer's default config (1024*576 area, frame_num = the clip's frames):
  the reference's pose, the poses of every frame, face crops, alignment, the
  positive and negative JPEGs, ``driving_video.mp4``, ``prompt.txt`` and the
  two-panel preview video.

Rounds run bare, studio, studio, bare … so other load on a shared machine falls
on both alike; the fastest round of each counts. The table gives frames/s,
seconds and the ratio studio/bare (how much of the bare loop's speed the whole
preprocessing keeps).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GLOG_minloglevel", "2")

from pipelines.dance.config import make_config
from pipelines.dance.synthetic import dancing_clip, write_reference


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
    return usage.ru_utime + usage.ru_stime


def bare_loop(path: Path) -> tuple[float, int, int]:
    """(seconds, frames, frames with a person) for decode + MediaPipe pose."""
    import av
    import mediapipe as mp

    t0 = time.perf_counter()
    found = frames = 0
    with (
        mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as pose,
        av.open(str(path)) as video,
    ):
        stream = video.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in video.decode(stream):
            result = pose.process(frame.to_ndarray(format="rgb24"))
            frames += 1
            found += result.pose_landmarks is not None
    return time.perf_counter() - t0, frames, found


def studio(path: Path, ref: Path, frames: int, out: Path) -> tuple[float, dict]:
    from pipelines.dance.prepare import prepare_input

    shutil.rmtree(out, ignore_errors=True)
    config = make_config(None, {"frame_num": frames})
    t0 = time.perf_counter()
    result = prepare_input(
        ref, path, out / "input", config, prompt="an astronaut dancing", preview=out / "preview.mp4"
    )
    return time.perf_counter() - t0, result.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="33 frames of 640×360, one round")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    frames, (width, height, person) = (
        (33, (640, 360, 300)) if args.quick else (81, (1280, 720, 600))
    )
    rounds = args.rounds or (1 if args.quick else 3)
    work = Path(tempfile.mkdtemp(prefix="dance-bench-"))
    try:
        clip = dancing_clip(
            work / "dance.mp4",
            frames=frames,
            width=width,
            height=height,
            person=person,
            step=max(1, (width - person) // frames),
        )
        ref = write_reference(work / "astronaut.png")
        wall: dict[str, list[float]] = {"bare": [], "studio": []}
        cpu: dict[str, list[float]] = {"bare": [], "studio": []}
        detail: dict = {}
        found = 0
        for r in range(rounds):
            order = ("bare", "studio") if r % 2 == 0 else ("studio", "bare")
            for which in order:
                c0 = cpu_seconds()
                if which == "bare":
                    seconds, _, found = bare_loop(clip.path)
                else:
                    seconds, detail = studio(clip.path, ref, frames, work / "out")
                wall[which].append(seconds)
                cpu[which].append(cpu_seconds() - c0)
                print(
                    f"round {r + 1} {which}: {seconds:.2f} s, CPU {cpu[which][-1]:.2f} s",
                    file=sys.stderr,
                )
        bare, ours = min(wall["bare"]), min(wall["studio"])
        bare_cpu, ours_cpu = min(cpu["bare"]), min(cpu["studio"])
        print(
            f"\nDance pose preprocessing, {frames} frames of {width}×{height} (person in {found}/{frames} "
            f"for the bare loop), pose frames {detail['width']}×{detail['height']}, best of {rounds}:\n"
        )
        print("| measurement | frames/s | wall s | CPU s | ratio (wall) | ratio (CPU) |")
        print("|---|---|---|---|---|---|")
        print(
            f"| bare MediaPipe loop (decode + Pose.process) | {frames / bare:.1f} | {bare:.2f} | {bare_cpu:.2f} | | |"
        )
        print(
            f"| studio preprocessing (everything) | {frames / ours:.1f} | {ours:.2f} | {ours_cpu:.2f} | "
            f"{bare / ours:.2f}× | {bare_cpu / ours_cpu:.2f}× |"
        )
        print(
            "\n(ratio = bare / studio: the share of the bare loop's speed the whole preprocessing keeps)"
        )
        parts = detail["seconds"]
        print(
            f"\nstudio parts (last run): reference {parts['reference']:.2f} s (its pose, copies); one pass "
            f"over the video {parts['poses']:.2f} s (decode, detect, align, positive + negative JPEGs on two "
            f"threads, face crops, preview); frames without a person: {detail['frames_without_person']}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
