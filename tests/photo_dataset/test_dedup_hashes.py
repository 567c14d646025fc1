"""The dedup hashes' fast decode (OpenCV at 1/8 for JPEGs, issue 25): the photo as the
user sees it (EXIF orientation), any format, the pixel limit, and small photos read
at a scale that keeps their detail."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.photo_dataset import dedup, images
from pipelines.photo_dataset.images import ImageLoadError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from dedup import _base_image, small_text_page  # benchmarks/dedup.py


def test_exif_rotated_jpeg_and_png_hash_like_the_upright_jpeg(tmp_path):
    photo = _base_image(np.random.default_rng(5), 640, 480)
    photo.save(tmp_path / "upright.jpg", quality=92)
    # stored on its side, with the EXIF tag that turns it upright (as phones do)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    photo.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "tagged.jpg", quality=92, exif=exif)
    photo.save(tmp_path / "copy.png")
    other = _base_image(np.random.default_rng(6), 640, 480)
    other.save(tmp_path / "other.jpg", quality=92)
    files = [tmp_path / n for n in ("upright.jpg", "tagged.jpg", "copy.png", "other.jpg")]
    hashes, _ = dedup.hashes_and_details(files)
    d = dedup.hamming_matrix(hashes)
    assert d[0, 1] <= 4 and d[0, 2] <= 4  # the same photo
    assert d[0, 3] > 10  # another photo


def test_small_photos_are_read_at_a_scale_that_keeps_their_detail(tmp_path):
    """A 200 px page decoded at 1/8 would be 25 px wide: its 32x32 copy would be JPEG
    blocks blown up, not the page; it is read at 1/2 instead (>= HASH_SIDE px)."""
    page = small_text_page(np.random.default_rng(2))
    page = page.resize((200, 120))
    page.save(tmp_path / "small.jpg", quality=90)
    path = tmp_path / "small.jpg"
    grey, scale = dedup._small_grey(path, path.read_bytes())
    assert max(grey.shape) == 100 >= dedup.HASH_SIDE and scale == 2


def test_a_jpeg_over_the_pixel_limit_is_refused(tmp_path, monkeypatch):
    _base_image(np.random.default_rng(1), 640, 480).save(tmp_path / "big.jpg")
    monkeypatch.setattr(images, "DEFAULT_MAX_PIXELS", 100_000)  # as if 640x480 were a bomb
    with pytest.raises(ImageLoadError, match="decompression-bomb guard"):
        dedup.hash_file(tmp_path / "big.jpg")


def test_the_hash_is_imagehash_phash_of_the_32x32_copy_and_detail_splits_pages_from_photos():
    """The DCT done once per image (OpenCV, orthonormal, rescaled) gives imagehash's pHash
    bits; the detail measure is high for a text page and low for a smooth photo."""
    rng = np.random.default_rng(9)
    page = np.asarray(small_text_page(rng).convert("L").resize((32, 32)), dtype=np.uint8)
    photo = np.asarray(_base_image(rng, 64, 48).convert("L").resize((32, 32)), dtype=np.uint8)
    coeffs = np.stack([dedup._coefficients(x.astype(np.float64)) for x in (page, photo)])
    hashes, details = dedup._hashes_of(coeffs), [dedup._detail(c) for c in coeffs]
    assert hashes == [dedup.phash_of(Image.fromarray(page)), dedup.phash_of(Image.fromarray(photo))]
    assert details[0] >= dedup.MIN_DETAIL > details[1]
