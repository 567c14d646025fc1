"""Benchmark of the frame review analysis against plain decoding and PySceneDetect.

Run from the repository root (virtualenv active)::

    python benchmarks/frames.py                  # 10 s and 60 s, 1080x2400, 60 fps (600 and 3600 frames)
    python benchmarks/frames.py --quick          # 5 s of the same recording size, for a smoke run
    python benchmarks/frames.py --seconds 10     # one length only
    python benchmarks/frames.py --compare /tmp/old-checkout   # its analyze() beside ours (before/after)
    python benchmarks/frames.py --phone 5 10 20  # phone-like recordings at 5/10/20 Mbit/s (below)

The synthetic H.264 recordings (pipelines.frames.synthetic, libx264 ultrafast,
CRF 23, yuv420p, GOP 1 s) are generated once and cached in ``--cache-dir``
(default: ``$TMPDIR/studio-frames-bench``; about 40 s for both on 2 cores).
Each measurement runs in its own child process, which imports its libraries
first (PyAV; OpenCV and Pillow for ours, as a worker has them after its first
job; scenedetect for PySceneDetect) and, for decode and ours, first handles a
small warm-up recording (4 s of 270x600, cached beside the others) as a worker
has done before (codecs initialised, lazily imported modules loaded), then
starts the clock, and reports its wall time, CPU time and peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``):

- decode only: PyAV, ``thread_type = "AUTO"``, nothing done per frame but reading ``pts``
  (the baseline of the goals), and the same with ``thread_type = "SLICE"`` (no frame
  threads: what ``analyze()`` uses for a light stream coded in several slices, such as
  these recordings, see ``pipelines.frames.metrics.LIGHT_BITS_PER_PIXEL``);
- ours: ``pipelines.frames.analyze`` end to end (probe, one decoding pass with
  metrics, detection, candidate thumbnails, files written); the decoding pass
  alone is reported too;
- PySceneDetect: ``SceneManager`` + ``ContentDetector`` (its default OpenCV backend).

Each measurement is repeated (``--repeat`` rounds, default 5), interleaved (one
run of each kind per round); each figure is the median of the rounds with their
spread (lowest-highest) beside it, and each ratio is the median of the rounds'
own ratios (a neighbour's burst on the shared cores falls on one round's runs);
peak memory is the largest seen. A last line gives ours' CPU seconds over the
slice-threaded decode-only run's and the wall ratios they allow (see ``cpu_bound``):
on shared cores the CPU figures are the steadier ones.

``--phone MBITS...``: phone-like recordings instead (4 s of 1080x2400 at 60 fps, libx264
``veryfast`` with CABAC, one slice per picture as phones and screen recorders write, the given
average bit rates, a still page with a moving gradient and sigma-6 camera noise on its lower
40 %): decode-only with frame threads (``AUTO``) and with slice threads, and ``analyze()``,
which picks its decoder threading by the stream (``pipelines.frames.metrics._light``); the
table gives each recording's bits per pixel and frame and slices, and ours against both
decodes (medians of the interleaved rounds).

Goals: ours ≥ 0.8× the slice-threaded decode-only frames/s (issue 25; ≥ 0.8× and
0.9× ``AUTO`` decode before), ≥ 1.2× PySceneDetect's, peak memory < 400 MB,
detection at the truth.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

W, H, FPS = 1080, 2400, 60
WARM_NAME = "warmup_270x600_30fps.mp4"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def cpu_s() -> float:
    """CPU seconds of this process so far, all its threads (user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def warm_clip(path: str) -> str:
    """The small warm-up recording beside the measured one (see :func:`recording`)."""
    return str(Path(path).with_name(WARM_NAME))


def decode_all(path: str, thread_type: str = "AUTO") -> int:
    import av

    n = 0
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_type = thread_type
        for frame in c.decode(s):
            _ = frame.pts
            n += 1
    return n


# -- measurements (each run in a child process) ---------------------------------
def child_decode(path: str, thread_type: str = "AUTO") -> dict:
    decode_all(warm_clip(path), thread_type)  # a worker has decoded before: codecs initialised
    c0, t0 = cpu_s(), time.perf_counter()
    n = decode_all(path, thread_type)
    return {
        "frames": n,
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": cpu_s() - c0,
        "peak_mb": peak_mb(),
    }


def child_decode_slice_threads(path: str) -> dict:
    return child_decode(path, "SLICE")


def child_ours(path: str) -> dict:
    import av  # noqa: F401 - libraries loaded before the clock starts, as in a worker
    import cv2  # noqa: F401
    import PIL.Image  # noqa: F401

    from pipelines.frames import analyze

    with tempfile.TemporaryDirectory() as work:  # a worker has run a job before: modules loaded
        analyze(warm_clip(path), work)
    marks = {}

    class Stages:
        def update(self, *, stage=None, fraction=None, item=None, message=None):
            if stage and stage not in marks:
                marks[stage] = time.perf_counter()

        def log(self, line):
            pass

    with tempfile.TemporaryDirectory() as work:
        c0, t0 = cpu_s(), time.perf_counter()
        a = analyze(path, work, progress=Stages())
        t1, c1 = time.perf_counter(), cpu_s()
    order = [*sorted(marks.items(), key=lambda kv: kv[1]), ("end", t1)]
    stages = {name: round(t_next - t, 4) for (name, t), (_, t_next) in itertools.pairwise(order)}
    return {
        "frames": a.frame_count,
        "seconds": t1 - t0,
        "cpu_seconds": c1 - c0,
        "decode_pass_seconds": marks["detecting"] - marks["decoding"],
        "stages": stages,
        "peak_mb": peak_mb(),
        "first": a.detection.first.index,
        "last": a.detection.last.index,
    }


def child_scenedetect(path: str) -> dict:
    from scenedetect import ContentDetector, SceneManager, open_video

    c0, t0 = cpu_s(), time.perf_counter()
    video = open_video(path)
    sm = SceneManager()
    sm.add_detector(ContentDetector())
    n = sm.detect_scenes(video)
    return {
        "frames": n,
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": cpu_s() - c0,
        "peak_mb": peak_mb(),
        "scenes": len(sm.get_scene_list()),
    }


CHILDREN = {
    "decode": child_decode,
    "decode1": child_decode_slice_threads,
    "ours": child_ours,
    "before": child_ours,
    "scenedetect": child_scenedetect,
}


def run_child(kind: str, path: Path, root: Path = ROOT) -> dict:
    """Run one measurement in a fresh process (``root``: the checkout whose pipelines it
    imports); also poll its RSS (psutil) as a cross-check of ru_maxrss."""
    import psutil

    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(path), str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    ps, polled = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            polled = max(polled, ps.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{kind} failed:\n{err}")
    res = json.loads(out.strip().splitlines()[-1])
    res["polled_peak_mb"] = polled / 2**20
    return res


# -- recording -------------------------------------------------------------------
def warm_recording(cache_dir: Path) -> Path:
    """The warm-up recording every measured one has beside it (:func:`warm_clip`): 4 s of
    270x600 (a second to make), in a child process like the recordings."""
    warm = cache_dir / WARM_NAME
    if not warm.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        part = warm.with_name("partial_" + WARM_NAME)
        code = (
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); from pipelines.frames.synthetic import "
            f"make_recording; make_recording({str(part)!r}, width=270, height=600, seed=5)"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
        part.rename(warm)
    return warm


def recording(seconds: float, cache_dir: Path) -> tuple[Path, dict]:
    from pipelines.frames.synthetic import Timeline

    tap = max(1.0, seconds * 0.3)
    tl = Timeline(tap=tap, zoom=0.3, splash=0.8, loading=0.8, tail=max(1.0, seconds - tap - 1.9))
    path = cache_dir / f"bench_{W}x{H}_{FPS}fps_{seconds:g}s.mp4"
    warm_recording(cache_dir)
    truth_path = path.with_suffix(".json")
    if path.exists() and truth_path.exists():
        return path, json.loads(truth_path.read_text())
    cache_dir.mkdir(parents=True, exist_ok=True)
    print(f"generating {path} ({seconds:g} s, {W}x{H}, {FPS} fps, ultrafast)...", file=sys.stderr)
    t0 = time.perf_counter()
    tmp = path.with_name("partial_" + path.name)
    # In a child process: the generator's memory must not count towards the children measured later
    # (ru_maxrss survives fork + exec).
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from pipelines.frames.synthetic import Timeline, make_recording; "
        f"t = make_recording({str(tmp)!r}, width={W}, height={H}, fps={FPS}, timeline=Timeline(tap={tl.tap}, zoom={tl.zoom}, "
        f"splash={tl.splash}, loading={tl.loading}, tail={tl.tail}), preset='ultrafast', gop={FPS}, seed=5); "
        "print(json.dumps({'first': t.first_index, 'last': t.last_index, 'frames': t.frame_count}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    t = json.loads(out.stdout.strip().splitlines()[-1])
    tmp.rename(path)
    truth_path.write_text(json.dumps(t))
    print(f"  generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path, t


def make_phone(path: str, mbps: float, seconds: float = 4.0) -> None:
    """A phone-like recording (see the module's docstring), one slice per picture."""
    import av
    import numpy as np

    rng = np.random.default_rng(0)
    page = np.full((H, W), 235, np.uint8)
    for y in range(120, 1400, 60):  # lines of text
        page[y : y + 24, 60 : 60 + int(rng.integers(300, 960))] = 40
    top = int(H * 0.6)
    yy, xx = np.mgrid[0 : H - top, 0:W]
    grey = np.full((H // 2, W), 128, np.uint8)  # the chroma planes, one under the other
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.bit_rate = int(mbps * 1_000_000)
        stream.thread_type = "FRAME"  # frame-threaded encoding: one slice per picture
        stream.options = {"preset": "veryfast", "g": str(FPS)}
        for i in range(int(seconds * FPS)):
            luma = page.copy()
            moving = 128 + 60 * np.sin((xx + 8 * i) / 90.0) * np.cos((yy - 5 * i) / 70.0)
            luma[top:] = np.clip(moving + rng.normal(0, 6, moving.shape), 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(np.concatenate([luma, grey]), format="yuv420p")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def phone_recording(mbps: float, cache_dir: Path) -> Path:
    warm_recording(cache_dir)
    path = cache_dir / f"phone_{W}x{H}_{FPS}fps_{mbps:g}Mbit.mp4"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr)
        part = path.with_name("partial_" + path.name)
        subprocess.run([sys.executable, __file__, "--make-phone", str(part), str(mbps)], check=True)
        part.rename(path)
    return path


def measure_phone(mbps_list: list[float], args: argparse.Namespace) -> None:
    import statistics

    import av

    from pipelines.frames import metrics

    kinds = ["decode", "decode1", "ours"] + (["before"] if args.compare else [])
    paths = {mbps: phone_recording(mbps, args.cache_dir) for mbps in mbps_list}
    runs: dict[tuple[float, str], list[dict]] = {(m, k): [] for m in mbps_list for k in kinds}
    for round_ in range(max(1, args.repeat)):
        for mbps in mbps_list if round_ % 2 == 0 else mbps_list[::-1]:
            for kind in kinds if round_ % 2 == 0 else kinds[::-1]:
                print(f"{mbps:g} Mbit/s: {kind} (round {round_ + 1})...", file=sys.stderr)
                root = args.compare if kind == "before" else ROOT
                runs[(mbps, kind)].append(run_child(kind, paths[mbps], root))

    def med(mbps: float, kind: str) -> str:
        rs = runs[(mbps, kind)]
        return (
            f"{statistics.median(r['seconds'] for r in rs):.3f} "
            f"({statistics.median(r['cpu_seconds'] for r in rs):.2f})"
        )

    def ratio(mbps: float, kind: str, base: str) -> str:
        rs = [
            b["seconds"] / a["seconds"]
            for a, b in zip(runs[(mbps, kind)], runs[(mbps, base)], strict=True)
        ]
        return f"{statistics.median(rs):.2f}x ({min(rs):.2f}-{max(rs):.2f})"

    print(
        f"\nphone-like recordings, 4 s of {W}x{H} at {FPS} fps, {args.repeat} interleaved rounds;"
    )
    print(
        "seconds (CPU seconds), medians; ratios: frames/s of ours over the decode's, median (range)"
    )
    head = ["bit rate", "bits/pixel/frame", "slices", "ours decodes with", "decode AUTO"]
    head += ["decode SLICE", "ours", "ours ÷ AUTO", "ours ÷ SLICE"]
    head += ["before", "before ÷ AUTO"] if args.compare else []
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for mbps, path in paths.items():
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            bpp = metrics._bits_per_pixel(c, stream)
            light = metrics._light(path, c, stream)
        cells = [f"{mbps:g} Mbit/s", f"{bpp:.3f}", str(metrics._slices(path))]
        cells += ["slice threads" if light else "frame threads", med(mbps, "decode")]
        cells += [med(mbps, "decode1"), med(mbps, "ours"), ratio(mbps, "ours", "decode")]
        cells += [ratio(mbps, "ours", "decode1")]
        if args.compare:
            cells += [med(mbps, "before"), ratio(mbps, "before", "decode")]
        print("| " + " | ".join(cells) + " |")


def measure(seconds: float, args: argparse.Namespace) -> dict:
    path, truth = recording(seconds, args.cache_dir)
    kinds = (
        ["decode", "decode1", "ours"]
        + (["before"] if args.compare else [])
        + ([] if args.skip_scenedetect else ["scenedetect"])
    )
    # Interleaved rounds (one run of each kind per round): every figure is the median of
    # the rounds, every ratio the median of each round's own ratio; the spread is shown.
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for round_ in range(max(1, args.repeat)):
        for kind in kinds:
            print(f"{seconds:g} s: measuring {kind} (round {round_ + 1})...", file=sys.stderr)
            r = run_child(kind, path, args.compare if kind == "before" else ROOT)
            r["fps"] = r["frames"] / r["seconds"]
            if "decode_pass_seconds" in r:
                r["pass_fps"] = r["frames"] / r["decode_pass_seconds"]
            runs[kind].append(r)
    res = {kind: _median_run(rs) for kind, rs in runs.items()}
    return {"seconds": seconds, "path": path, "truth": truth, "res": res, "runs": runs}


def _median_run(rs: list[dict]) -> dict:
    """The run of median speed (its stages, detection), with the median of each figure,
    the largest peak memory and ``spread``: the lowest and highest frames/s."""
    import statistics

    mid = sorted(rs, key=lambda r: r["fps"])[(len(rs) - 1) // 2]
    out = dict(mid)
    for key in ("fps", "seconds", "cpu_seconds", "pass_fps", "decode_pass_seconds"):
        if key in mid:
            out[key] = statistics.median(r[key] for r in rs)
    out["peak_mb"] = max(r["peak_mb"] for r in rs)
    out["polled_peak_mb"] = max(r.get("polled_peak_mb", 0) for r in rs)
    out["spread"] = (min(r["fps"] for r in rs), max(r["fps"] for r in rs))
    if "pass_fps" in mid:
        out["pass_spread"] = (min(r["pass_fps"] for r in rs), max(r["pass_fps"] for r in rs))
    return out


def round_ratios(runs: dict[str, list[dict]], kind: str, base: str, key: str = "fps") -> str:
    """Median of the rounds' ratios ``kind / base`` (same round), with their range."""
    import statistics

    ratios = [a[key] / b["fps"] for a, b in zip(runs[kind], runs[base], strict=True)]
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def cpu_bound(runs: dict[str, list[dict]]) -> str:
    """The CPU seconds of ours against the slice-threaded decode-only run, and the wall ratios
    they allow (medians of the rounds' own figures).

    Ours decodes the same frames as the baseline and does its work on top, on the same cores:
    used as fully as the baseline uses them, it runs at (baseline CPU / our CPU) of the
    baseline's speed; with every core busy from start to end at most (baseline seconds ×
    cores / our CPU). On shared cores the CPU figures are the steadier ones."""
    import statistics

    d1, ours = runs["decode1"], runs["ours"]
    cores = os.cpu_count() or 1
    same_use = statistics.median(
        a["cpu_seconds"] / b["cpu_seconds"] for a, b in zip(d1, ours, strict=True)
    )
    all_busy = statistics.median(
        a["seconds"] * cores / b["cpu_seconds"] for a, b in zip(d1, ours, strict=True)
    )
    extra = statistics.median(
        b["cpu_seconds"] - a["cpu_seconds"] for a, b in zip(d1, ours, strict=True)
    )
    return (
        f"CPU: ours {extra:.2f} s over the slice-threaded decode-only run's "
        f"({same_use:.2f}x its CPU: the wall ratio at its use of the cores; with all {cores} "
        f"cores busy throughout at most {all_busy:.2f}x)"
    )


def report(m: dict, repeat: int) -> None:
    res, runs, truth = m["res"], m["runs"], m["truth"]
    dec, dec1, ours = res["decode"], res["decode1"], res["ours"]
    goal = 0.8
    rows = [
        ("decode only (PyAV, threaded)", dec, "fps", "spread", ""),
        (
            "decode only (PyAV, slice threads)",
            dec1,
            "fps",
            "spread",
            f"{round_ratios(runs, 'decode1', 'decode')} decode",
        ),
    ]

    def ratios(kind: str, key: str) -> str:
        return (
            f"{round_ratios(runs, kind, 'decode', key)} decode, "
            f"{round_ratios(runs, kind, 'decode1', key)} slice-threads decode"
        )

    for kind, label in (("before", "before"), ("ours", "ours")):
        if kind not in res:
            continue
        r = res[kind]
        rows += [
            (
                f"{label}: decoding pass with metrics",
                r,
                "pass_fps",
                "pass_spread",
                ratios(kind, "pass_fps"),
            ),
            (
                f"{label}: analyze() end to end",
                r,
                "fps",
                "spread",
                ratios(kind, "fps")
                + (f" (goal >= {goal} slice-threads decode)" if kind == "ours" else ""),
            ),
        ]
    if "scenedetect" in res:
        rows.append(
            (
                "PySceneDetect ContentDetector",
                res["scenedetect"],
                "fps",
                "spread",
                f"ours {round_ratios(runs, 'ours', 'scenedetect')} faster (goal >= 1.2)",
            )
        )
    print(
        f"\nrecording: {m['path'].name}, {truth['frames']} frames, {os.cpu_count()} CPU cores, "
        f"median of {max(1, repeat)} interleaved rounds (spread: lowest-highest frames/s; "
        f"ratios: median of the rounds' own ratios, range)"
    )
    print(f"{'measurement':36} {'frames/s':>9} {'spread':>13} {'CPU s':>6} {'peak MB':>8}  ratio")
    for name, r, key, spread_key, ratio in rows:
        lo, hi = r[spread_key]
        pass_row = key == "pass_fps"
        cpu = "" if pass_row else f"{r['cpu_seconds']:6.2f}"
        mb = "" if pass_row else f"{r['peak_mb']:8.0f}"
        print(f"{name:36} {r[key]:9.1f} {f'{lo:.0f}-{hi:.0f}':>13} {cpu:>6} {mb:>8}  {ratio}")
    print(cpu_bound(runs))
    print(
        f"peak memory of ours: {ours['peak_mb']:.0f} MB ru_maxrss, {ours['polled_peak_mb']:.0f} MB polled RSS (goal < 400)"
    )
    print(
        f"detection: first {ours['first']} (truth {truth['first']}), last {ours['last']} (truth {truth['last']})"
    )
    for kind in ("before", "ours"):
        if kind in res:
            print(
                f"stages of {kind} (s): "
                + ", ".join(f"{k} {v:.3f}" for k, v in res[kind]["stages"].items())
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--seconds",
        type=float,
        nargs="+",
        default=[10.0, 60.0],
        help="recording lengths (default: 10 and 60)",
    )
    ap.add_argument("--quick", action="store_true", help="one 5 s recording instead")
    ap.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "studio-frames-bench"
    )
    ap.add_argument("--skip-scenedetect", action="store_true")
    ap.add_argument(
        "--compare",
        type=Path,
        metavar="CHECKOUT",
        help="another checkout of the studio: its analyze() is measured beside ours (before/after)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="rounds, each one run of every measurement, interleaved; medians count (default 5)",
    )
    ap.add_argument(
        "--phone",
        type=float,
        nargs="+",
        metavar="MBITS",
        help="phone-like recordings at these bit rates instead (see above), e.g. 5 10 20",
    )
    ap.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "ROOT"), help=argparse.SUPPRESS)
    ap.add_argument("--make-phone", nargs=2, metavar=("PATH", "MBITS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_phone:
        make_phone(args.make_phone[0], float(args.make_phone[1]))
        return
    if args.phone:
        measure_phone(args.phone, args)
        return
    if args.child:
        kind, path, root = args.child
        sys.path.insert(0, root)  # the checkout measured (ours, or --compare's)
        print(json.dumps(CHILDREN[kind](path)))
        return

    results = [measure(s, args) for s in ([5.0] if args.quick else args.seconds)]
    for m in results:
        report(m, args.repeat)


if __name__ == "__main__":
    main()
