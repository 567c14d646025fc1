"""Near-duplicates of detailed, high-frequency images (scanned-text-like pages):
rescanned copies — recompressed, resized, shifted a few px, rotated by up to 2 degrees —
are one photo, while distinct pages of the same font and smooth photos stay apart.

The pages are the benchmark's generator (benchmarks/dedup.py ``text_page``/``rotated_copy``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.photo_dataset import dedup, dedup_aligned

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from dedup import (  # noqa: E402  (benchmarks/dedup.py)
    _base_image,
    rotated_copy,
    small_text_page,
    text_page,
)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """6 distinct text pages, 2 rotated copies of each of the first 3; 4 smooth photos."""
    folder = tmp_path_factory.mktemp("pages")
    rng = np.random.default_rng(7)
    files, groups = [], []
    originals = [text_page(rng) for _ in range(6)]
    for g, page in enumerate(originals):
        path = folder / f"page{g}.jpg"
        page.save(path, quality=90)
        files.append(path), groups.append(g)
    for g in range(3):
        for k in range(2):
            copy, quality = rotated_copy(originals[g], rng)
            path = folder / f"page{g}_copy{k}.jpg"
            copy.save(path, quality=quality)
            files.append(path), groups.append(g)
    for p in range(4):
        path = folder / f"photo{p}.jpg"
        _base_image(rng).save(path, quality=90)
        files.append(path), groups.append(100 + p)
    return files, groups


def _components(n, pairs):
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in pairs:
        parent[find(a)] = find(b)
    return [find(i) for i in range(n)]


def test_detail_tells_text_pages_from_smooth_photos(pages):
    files, groups = pages
    details = [dedup.hash_and_detail(f)[1] for f in files]
    assert all(d >= dedup.MIN_DETAIL for d, g in zip(details, groups, strict=True) if g < 100)
    assert all(d < dedup.MIN_DETAIL for d, g in zip(details, groups, strict=True) if g >= 100)


def test_rotated_copies_of_a_text_page_are_one_photo_and_distinct_pages_are_not(pages):
    files, groups = pages
    hashes = [dedup.hash_file(f) for f in files]
    phash_pairs = dedup.near_duplicate_pairs(hashes, 10)
    pairs = phash_pairs + dedup.aligned_duplicate_pairs(files, hashes, 10, near_distance=64)
    labels = _components(len(files), pairs)
    for a in range(len(files)):
        for b in range(a + 1, len(files)):
            same = groups[a] == groups[b]
            assert (labels[a] == labels[b]) == same, (files[a].name, files[b].name)
    # the pHash alone misses some of them (the case): the second comparison is what joins them
    phash_labels = _components(len(files), phash_pairs)
    assert len(set(phash_labels)) > len(set(labels))


def test_the_geometric_check_wants_one_small_rotation(pages):
    files, groups = pages
    a, b = files[0], files[6]  # page0 and its first copy
    assert groups[6] == 0
    assert dedup.same_under_alignment(dedup_aligned.keypoints(a), dedup_aligned.keypoints(b))
    assert not dedup.same_under_alignment(
        dedup_aligned.keypoints(a), dedup_aligned.keypoints(files[1])
    )
    assert not dedup.same_under_alignment(None, dedup_aligned.keypoints(b))


@pytest.fixture(scope="module")
def small_pages(tmp_path_factory):
    """Issue 25: 10 small detailed pages (150-400 px on the long side), a copy of each of the
    first 7 rotated by 0.5-2 degrees, shifted by up to 4 % of its size, resized to 75-100 %
    and recompressed; 3 small smooth photos."""
    folder = tmp_path_factory.mktemp("small_pages")
    rng = np.random.default_rng(25)
    files, groups = [], []
    originals = [small_text_page(rng) for _ in range(10)]
    for g, page in enumerate(originals):
        files.append(folder / f"small{g}.jpg"), groups.append(g)
        page.save(files[-1], quality=90)
    for g in range(7):
        copy, quality = rotated_copy(originals[g], rng, shift=0.04)
        files.append(folder / f"small{g}_copy.jpg"), groups.append(g)
        copy.save(files[-1], quality=quality)
    for p in range(3):
        files.append(folder / f"photo{p}.jpg"), groups.append(100 + p)
        _base_image(rng, 320, 240).save(files[-1], quality=90)
    return files, groups


def test_small_rotated_copies_are_found_and_distinct_small_pages_are_not(small_pages):
    """The benchmark's path: hashes and details in one pass, then the geometric check on
    the pairs near the threshold (the default gate, not a wider one)."""
    files, groups = small_pages
    assert all(max(Image.open(f).size) <= 400 for f in files)
    hashes, details = dedup.hashes_and_details(files)
    distances = dedup.hamming_matrix(hashes)
    pairs = dedup.near_duplicate_pairs(hashes, 10, distances)
    pairs += dedup.aligned_duplicate_pairs(files, hashes, 10, distances=distances, detail=details)
    labels = _components(len(files), pairs)
    for a in range(len(files)):
        for b in range(a + 1, len(files)):
            same = groups[a] == groups[b]
            assert (labels[a] == labels[b]) == same, (files[a].name, files[b].name)


def test_small_rotated_copies_through_the_pipelines_hashes(small_pages):
    """The pipeline hashes the filter copy (≤ 512 px) and reads the details itself."""
    from pipelines.photo_dataset.images import load_image

    files, groups = small_pages
    hashes = [dedup.phash_of(load_image(f, max_side=512, mode="L")) for f in files]
    pairs = dedup.near_duplicate_pairs(hashes, 10) + dedup.aligned_duplicate_pairs(
        files, hashes, 10, workers=1
    )
    labels = _components(len(files), pairs)
    for a in range(len(files)):
        for b in range(a + 1, len(files)):
            assert (labels[a] == labels[b]) == (groups[a] == groups[b])


def test_batched_hashes_are_the_per_file_ones(pages, small_pages):
    files = pages[0] + small_pages[0]
    hashes, details = dedup.hashes_and_details(files)
    for f, h, d in zip(files, hashes, details, strict=True):
        one_h, one_d = dedup.hash_and_detail(f)
        assert h == one_h and d == pytest.approx(one_d, abs=1e-9)
        assert h == dedup.hash_file(f)


def test_a_phash_collision_of_two_detailed_pages_is_not_a_copy(pages):
    """pHash holds little of a detailed image: two distinct text pages whose hashes land
    within the threshold (seen at 8-10 bits between coarsely recompressed copies in the
    2,000-photo benchmark) stay apart, while a real copy within it is still joined."""
    files, groups = pages
    page0, page1, copy0 = files[0], files[1], files[6]
    assert groups[6] == 0 and groups[1] == 1
    same_hash = [0x0123456789ABCDEF] * 3  # as if pHash could not tell the three apart
    pairs = dedup.duplicate_pairs([page0, page1, copy0], same_hash, 10)
    assert sorted(tuple(sorted(p)) for p in pairs) == [(0, 2)]
    # smooth photos are not detailed: their pHash pairs are taken as they are
    photos = [f for f, g in zip(files, groups, strict=True) if g >= 100][:2]
    assert dedup.duplicate_pairs(photos, same_hash[:2], 10) == [(0, 1)]


def test_the_pipeline_keeps_one_of_a_rescanned_page(tmp_path):
    from pipelines.photo_dataset import PhotoDatasetOptions, QualityOptions, build_photo_dataset
    from pipelines.photo_dataset.dedup import DedupOptions

    rng = np.random.default_rng(3)
    page = text_page(rng, 900, 700)
    inputs = tmp_path / "in"
    inputs.mkdir()
    page.save(inputs / "scan.jpg", quality=92)
    for k in range(2):
        copy, quality = rotated_copy(page, rng)
        copy.save(inputs / f"rescan{k}.jpg", quality=quality)
    text_page(rng, 900, 700).save(inputs / "other_page.jpg", quality=92)
    options = PhotoDatasetOptions(
        quality=QualityOptions(min_side=256, min_sharpness=0),
        dedup=DedupOptions(use_faces=False, keep_per_cluster=1),
    )
    result = build_photo_dataset(inputs, tmp_path / "out", options)
    kept = sorted(r.name for r in result.kept())
    assert len(kept) == 2 and "other_page.jpg" in kept, kept


def test_one_scan_finds_the_same_copies_as_the_separate_steps(pages, small_pages):
    """The benchmark's path: hashes, details, the detailed images' keypoints and their
    cheap test in one pass (both threads) give the same hashes, details and pairs as the
    steps run one after the other from the files."""
    files = pages[0] + small_pages[0]
    groups = pages[1] + [1000 + g for g in small_pages[1]]
    read = dedup.scan(files)
    hashes, details = dedup.hashes_and_details(files, workers=1)
    assert read.hashes == hashes and read.details == pytest.approx(details, abs=1e-12)
    rich = {k for k, d in enumerate(details) if d >= dedup.MIN_DETAIL}
    assert set(read.points) == rich and read.same  # every detailed image read for keypoints
    assert all(a < b and {a, b} <= rich for a, b in read.same)
    distances = dedup.hamming_matrix(hashes)
    with_scan = dedup.duplicate_pairs(files, hashes, 10, distances=distances, read=read)
    alone = dedup.duplicate_pairs(files, hashes, 10, distances=distances)
    assert sorted(with_scan) == sorted(alone)
    labels = _components(len(files), with_scan)
    for a in range(len(files)):
        for b in range(a + 1, len(files)):
            assert (labels[a] == labels[b]) == (groups[a] == groups[b]), (files[a], files[b])


def test_the_keypoint_copy_is_the_pixels_pillow_would_give(tmp_path):
    """OpenCV decodes the keypoint copy (at the reduction its size asks for) and Pillow's
    resampling brings it to ALIGN_SIDE: the same pixels as Pillow's own draft decode, so
    the pairs found do not depend on which path read the image. A small page is brought
    up to ALIGN_SIDE."""
    from pipelines.photo_dataset.images import load_image

    side = dedup_aligned.ALIGN_SIDE
    rng = np.random.default_rng(11)
    for w, h in ((640, 480), (900, 700), (557, 418), (1700, 1200)):
        path = tmp_path / f"page{w}.jpg"
        text_page(rng, w, h).save(path, quality=88)
        expected = np.asarray(load_image(path, max_side=side, mode="L"))
        assert np.array_equal(dedup_aligned.aligned_grey(path), expected), (w, h)
        data = path.read_bytes()  # the scan's call: bytes and size known
        assert np.array_equal(dedup_aligned.aligned_grey(path, data, w), expected), (w, h)
    small = tmp_path / "small.jpg"
    text_page(rng, 300, 200).save(small, quality=88)
    assert dedup_aligned.aligned_grey(small).shape == (256, side)
    # stored on its side with the EXIF tag that turns it upright: upright here too (the
    # same pixels but for rounding: Pillow turns it after resampling, OpenCV before)
    exif = Image.Exif()
    exif[0x0112] = 6
    tagged = tmp_path / "tagged.jpg"
    text_page(rng, 640, 480).transpose(Image.Transpose.ROTATE_90).save(tagged, exif=exif)
    expected = np.asarray(load_image(tagged, max_side=side, mode="L")).astype(int)
    got = dedup_aligned.aligned_grey(tagged)
    assert got.shape == expected.shape == (288, side)
    assert np.abs(got.astype(int) - expected).max() <= 2


def test_opencv_threads_are_off_during_a_scan_and_restored_after(pages, monkeypatch):
    """Our two threads share the images; OpenCV's own pool is off while they run (its
    workers would only spin beside them) and comes back as it was, also after an error."""
    import cv2

    files = pages[0]
    seen = []
    read_one = dedup._read_one

    def watched(*args):
        seen.append(cv2.getNumThreads())
        return read_one(*args)

    monkeypatch.setattr(dedup, "_read_one", watched)
    original = cv2.getNumThreads()
    cv2.setNumThreads(2)  # a pool, whatever this process had
    try:
        dedup.scan(files)
        assert set(seen) == {1} and cv2.getNumThreads() == 2
        with pytest.raises(FileNotFoundError):
            dedup.scan([*files, files[0].with_name("gone.jpg")])
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(original)
