"""The decoding pass's shortcuts give the same numbers as the plain computation."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pipelines.frames import cell_scans, metrics
from pipelines.frames.kept import KeptFrames
from pipelines.progress import Cancelled
from tests.progress_recorder import ProgressRecorder


def _frame(width: int, height: int, seed: int) -> av.VideoFrame:
    rng = np.random.default_rng(seed)
    yuv = rng.integers(0, 256, (height * 3 // 2, width), dtype=np.uint8)
    return av.VideoFrame.from_ndarray(yuv, format="yuv420p")


def _plain(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray]:
    """Working frame and grid the straightforward way: a strided slice of the Y plane."""
    sub, work_size, (tw, th) = metrics._reduction(frame.width, frame.height)
    y = frame.to_ndarray()[: frame.height]  # the Y plane of the raw I420 array
    work = cv2.resize(y[::sub, ::sub], work_size, interpolation=cv2.INTER_AREA)
    fw, fh = work_size[0] // tw, work_size[1] // th
    return work, cv2.resize(work[: th * fh, : tw * fw], (tw, th), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize(
    "width,height",
    [(1080, 2400), (1170, 2532), (1242, 2688), (1080, 1920), (720, 1600), (1284, 2778), (64, 128)],
)
def test_wide_gather_equals_strided_slice(width, height):
    """Every ``sub``-th pixel read as the low byte of wider integers, for even and odd widths
    (the last column of an odd width included) and the sizes without that path."""
    r = metrics._Reductions(Path("clip.mp4"), None)
    frames = [_frame(width, height, seed) for seed in range(3)]
    for f in frames:
        r.add(f)
    for k, f in enumerate(frames):
        work, grid = _plain(f)
        np.testing.assert_array_equal(r.thumbs[k], grid)
        assert r.bright[k] == cv2.mean(work)[0] / 255.0
    assert r.change[0] == 0.0 and r.change[1] > 0


def test_a_repeated_frame_gets_the_figures_computed_for_it():
    """A working frame equal to the one before (a still screen) takes the previous frame's
    brightness and sharpness: the figures the plain computation gives it, its change 0."""
    r = metrics._Reductions(Path("clip.mp4"), None)
    a, b = _frame(1080, 2400, seed=0), _frame(1080, 2400, seed=1)
    sequence = (a, a, b, b, b, a)
    for f in sequence:  # one frame per call: the previous frame carried over between calls
        r.add(f)
    for k, f in enumerate(sequence):
        work, _ = _plain(f)
        _, sd = cv2.meanStdDev(cv2.Laplacian(work, cv2.CV_16S, ksize=1))
        assert r.bright[k] == cv2.mean(work)[0] / 255.0
        assert r.sharp[k] == float(sd[0, 0]) ** 2
    assert r.change == [0.0, 0.0, r.change[2], 0.0, 0.0, r.change[5]]
    assert r.change[2] > 0 and r.change[5] > 0 and r.sharp[0] != r.sharp[2]


def _first_true_plain(a: np.ndarray, default: int) -> np.ndarray:
    out = np.full(a.shape[1], default)
    for c in range(a.shape[1]):
        hits = np.flatnonzero(a[:, c])
        if len(hits):
            out[c] = hits[0]
    return out


@pytest.mark.parametrize(
    "n", [1, 5, cell_scans.BLOCK, cell_scans.BLOCK + 1, 3 * cell_scans.BLOCK + 7]
)
def test_first_and_last_true_by_blocks(n):
    rng = np.random.default_rng(n)
    a = rng.random((n, 40)) < rng.random(40) * 0.05  # sparse, some columns never true
    a[:, 0] = False
    a[-1, 1] = True  # only in the last row
    if n > 1:
        a[:, 2] = True
    np.testing.assert_array_equal(cell_scans.first_true(a, n), _first_true_plain(a, n))
    last = _first_true_plain(a[::-1], -1)
    np.testing.assert_array_equal(
        cell_scans.last_true(a, -1), np.where(last >= 0, n - 1 - last, -1)
    )


def test_first_change_by_blocks():
    cells = np.full((300, 10), 100, np.uint8)
    assert cell_scans.first_change(cells, 6.0) is None
    cells[cell_scans.BLOCK + 3, 4] = 107
    assert cell_scans.first_change(cells, 6.0) == cell_scans.BLOCK + 3


@pytest.fixture
def light(monkeypatch):
    """Every stream counts as light: one decoding thread, the reductions in a second one."""
    monkeypatch.setattr(metrics, "_light", lambda *_: True)


def _passes(path, monkeypatch) -> dict[str, tuple]:
    """compute_metrics by each pass: GOP-parallel (the default where it applies), one
    decoder with slice threads (light) and one with frame threads (heavy); with the kept
    frames each offered."""
    out = {}
    for name in ("gop", "light", "heavy"):
        with monkeypatch.context() as m:
            if name != "gop":
                m.setattr(metrics, "_gop_plan", lambda *_: None)
                m.setattr(metrics, "_light", lambda *_, light=name == "light": light)
            keep = KeptFrames(480)
            result = metrics.compute_metrics(path, keep=keep)
            out[name] = (result, {pts: keep.frames[pts] for pts in sorted(keep.frames)}, keep)
    return out


def _same_passes(out: dict[str, tuple]) -> None:
    (a, kept_a, keep_a) = out["heavy"]
    for name in ("light", "gop"):
        b, kept_b, keep_b = out[name]
        for field in ("pts", "times", "keyframe", "brightness", "sharpness", "change", "thumbs"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=name)
        assert (a.width, a.height, a.rotation) == (b.width, b.height, b.rotation), name
        assert list(kept_a) == list(kept_b) and kept_a, name
        for pts in kept_a:  # the kept copies themselves: luma as read, chroma samples
            for plane_a, plane_b in zip(kept_a[pts], kept_b[pts], strict=True):
                np.testing.assert_array_equal(plane_a, plane_b)
        assert keep_a.rotation == keep_b.rotation, name


def test_the_three_passes_agree(recordings, monkeypatch):
    """The GOP-parallel pass (the recording has several GOPs, each from an IDR picture), the
    light and the heavy pass give the same metrics and keep the same frames."""
    path = recordings["60fps"].path
    with av.open(str(path)) as container:
        plan = metrics._gop_plan(Path(path), container)
    assert plan is not None and len(plan) >= 2 and sum(plan) == recordings["60fps"].frame_count
    out = _passes(path, monkeypatch)
    assert len(out["gop"][0]) == recordings["60fps"].frame_count
    _same_passes(out)


def test_a_rotated_recording_cut_into_gops_keeps_its_rotation(tmp_path, monkeypatch):
    """Only the demuxing container's own decoder gives its pictures the stream's rotation
    (the GOP decoders of the other threads are bare codec contexts): the grid and the kept
    frames still come out upright, as the other passes give them."""
    path = tmp_path / "rotated.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 128, 256, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "8"}
        stream.set_display_rotation(90)
        for i in range(40):
            page = np.full((256, 128, 3), 230, np.uint8)
            page[20 + 5 * i : 30 + 5 * i, 10:60] = 30  # a bar that moves down the page
            for packet in stream.encode(av.VideoFrame.from_ndarray(page, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with av.open(str(path)) as container:
        assert len(metrics._gop_plan(path, container) or []) == 5
    out = _passes(path, monkeypatch)
    assert out["gop"][0].rotation == 90 and out["gop"][2].rotation == 90
    assert out["gop"][0].thumbs.shape[1] < out["gop"][0].thumbs.shape[2]  # upright: wide
    _same_passes(out)


def test_a_decoding_error_keeps_the_frames_before_it_in_every_pass(tmp_path, monkeypatch):
    """A recording whose data breaks off (the bytes of the P pictures of its second half
    zeroed, its IDR pictures left whole, so it is still cut into GOPs): each pass keeps the
    frames decoded before the damage, and says where it stopped. The one decoder of the
    other passes still holds the last good picture when the error comes (it is lost
    there); a GOP's decoder has given it out: one frame more, the same before it."""
    from pipelines.frames.synthetic import make_recording

    truth = make_recording(tmp_path / "clip.mp4", fps=30, gop=15, seed=4)
    data = bytearray(Path(truth.path).read_bytes())
    with av.open(str(truth.path)) as container:
        packets = [
            (p.pos, p.size, p.is_keyframe)
            for p in container.demux(container.streams.video[0])
            if p.size
        ]
    for pos, size, keyframe in packets[len(packets) // 2 :]:
        if not keyframe:
            data[pos : pos + size] = bytes(size)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with av.open(str(damaged)) as container:
        assert metrics._gop_plan(damaged, container) is not None
    counts = {}
    for name in ("gop", "heavy"):
        with monkeypatch.context() as m:
            if name != "gop":
                m.setattr(metrics, "_gop_plan", lambda *_: None)
                m.setattr(metrics, "_light", lambda *_: False)
            progress = ProgressRecorder()
            result = metrics.compute_metrics(damaged, progress)
            counts[name] = result.pts.tolist()
            assert any("decoding stopped at frame" in line for line in progress.lines), name
    gop, heavy = counts["gop"], counts["heavy"]
    assert 0 < len(heavy) <= len(gop) <= len(heavy) + 1 < truth.frame_count
    assert gop[: len(heavy)] == heavy


@pytest.mark.parametrize(
    "marks,expected",
    [
        ([True, False, False, True, False], [3, 2]),
        ([True, False, True], [2, 1]),
        ([True, False, False], None),  # one GOP: nothing to share
        ([False, True, False, True], None),  # a picture before the first keyframe
        ([True] + [False] * metrics.MAX_GOP_FRAMES + [True], None),  # a GOP too long to wait whole
    ],
)
def test_gop_sizes(marks, expected):
    assert metrics._gop_sizes([(k, 0, 0) for k in marks], lambda *_: True) == expected


def test_a_keyframe_that_is_not_an_idr_picture_keeps_the_stream_whole():
    """An I picture that is not IDR (an open GOP's recovery point) may be referred to across
    itself: the stream is not cut there, and not decoded GOP by GOP at all."""
    marks = [(True, "idr", 0), (False, "p", 0), (True, "i", 0), (False, "p", 0)]
    assert metrics._gop_sizes(marks, lambda where, _: where == "idr") is None
    assert metrics._gop_sizes(marks, lambda *_: True) == [2, 2]


def test_gops_are_found_by_demuxing_without_a_full_index(tmp_path, monkeypatch):
    """Matroska indexes only its keyframes: the plan comes from one pass over the packets,
    and the GOP pass agrees with the others there too."""
    from pipelines.frames.synthetic import make_recording

    truth = make_recording(tmp_path / "clip.mkv", fps=30, gop=10, seed=5)
    with av.open(str(truth.path)) as container:
        plan = metrics._gop_plan(Path(truth.path), container)
    assert plan is not None and len(plan) >= 2 and sum(plan) == truth.frame_count
    _same_passes(_passes(truth.path, monkeypatch))


def test_gop_pass_is_cancelled(recordings):
    with av.open(str(recordings["30fps"].path)) as container:
        assert metrics._gop_plan(Path(recordings["30fps"].path), container) is not None
    with pytest.raises(Cancelled):
        metrics.compute_metrics(
            recordings["30fps"].path,
            ProgressRecorder(cancel_when=lambda u: True),
            expected_frames=10,
        )


def test_light_pass_is_cancelled(recordings, light, monkeypatch):
    monkeypatch.setattr(metrics, "_gop_plan", lambda *_: None)
    with pytest.raises(Cancelled):
        metrics.compute_metrics(
            recordings["30fps"].path,
            ProgressRecorder(cancel_when=lambda u: True),
            expected_frames=10,
        )


def test_bits_per_pixel_of_a_recording(recordings):
    with av.open(recordings["30fps"].path) as c:
        bpp = metrics._bits_per_pixel(c, c.streams.video[0])
    assert bpp is not None and 0 < bpp < 8


def _still_page(path: Path, slices: int, codec: str = "libx264") -> Path:
    """Ten frames of a still page with a moving bar: a light stream, coded in ``slices``
    slices per picture (frame-threaded encoding, as phones and screen recorders write)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = 128, 256, "yuv420p"
        if codec == "libx264":
            stream.thread_type = "FRAME"
            stream.options = {"preset": "ultrafast", "x264-params": f"slices={slices}"}
        for i in range(10):
            page = np.full((256, 128, 3), 235, np.uint8)
            page[100:110, : 10 * (i + 1)] = 40
            for packet in stream.encode(av.VideoFrame.from_ndarray(page, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize("suffix", ["mp4", "ts", "mkv"])
def test_the_slices_of_an_h264_picture_are_counted_in_every_container(tmp_path, suffix):
    assert metrics._slices(_still_page(tmp_path / f"one.{suffix}", 1)) == 1
    assert metrics._slices(_still_page(tmp_path / f"three.{suffix}", 3)) == 3


def test_a_light_stream_in_one_slice_is_decoded_by_frame_threads(tmp_path):
    """Slice threads give a picture coded in one slice one core (1.5x slower than frame
    threads on phone-like recordings): such a stream takes the frame-threaded pass, however
    light, as do other codecs; a light H.264 stream in several slices (the synthetic
    recordings) keeps slice threads."""
    for slices, light in ((1, False), (3, True)):
        path = _still_page(tmp_path / f"page-{slices}.mp4", slices)
        with av.open(str(path)) as c:
            assert metrics._bits_per_pixel(c, c.streams.video[0]) < metrics.LIGHT_BITS_PER_PIXEL
            assert metrics._light(path, c, c.streams.video[0]) is light
    webm = _still_page(tmp_path / "page.webm", 1, codec="libvpx-vp9")
    with av.open(str(webm)) as c:  # another codec: frame threads (faster on VP9 and HEVC)
        assert metrics._slices(webm) is None and not metrics._light(webm, c, c.streams.video[0])
    assert len(metrics.compute_metrics(tmp_path / "page-1.mp4")) == 10  # the frame-threaded pass


def test_kept_frame_is_shrunk_when_written():
    """A kept frame holds the luma as the metrics read it and gives the same thumbnail as
    shrinking it at once; a luma that is a view of the decoder's buffer is copied."""
    frame = _frame(1080, 2400, seed=4)
    frame.pts = 7
    r = metrics._Reductions(Path("clip.mp4"), None)
    r.add(frame)
    y = frame.to_ndarray()[: frame.height]
    small = np.ascontiguousarray(y[:: r.sub, :: r.sub])
    keep = KeptFrames(480)
    keep.offer(frame, small, r.thumbs[0])
    kept_y, u, v = keep.frames[7]
    assert kept_y is small  # no copy, no resize during the pass
    th, tw = u.shape[0] * 2, u.shape[1] * 2
    assert (tw, th) == (180, 400)
    eager = cv2.resize(small, (tw, th), interpolation=cv2.INTER_AREA)
    i420 = np.concatenate([eager.ravel(), u.ravel(), v.ravel()]).reshape(th * 3 // 2, tw)
    expected = cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)
    np.testing.assert_array_equal(np.asarray(keep.image(7)), expected)

    view = y[:: r.sub, :: r.sub]  # a strided view of the frame's plane
    other = KeptFrames(480)
    other.offer(frame, view, r.thumbs[0])
    stored = other.frames[7][0]
    assert stored.base is None and not np.shares_memory(stored, y)
    np.testing.assert_array_equal(stored, small)
