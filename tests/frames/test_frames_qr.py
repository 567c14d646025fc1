"""QR tools: every produced code decodes back to the words (zxing-cpp)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageSequence

from pipelines.frames import FrameReviewError
from pipelines.frames.qr import animated_qr, artistic_qr, simple_qr

WORDS = "https://example.com/frame-review?task=42"


def decoded(img) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(img.convert("RGB"))]


@pytest.fixture(scope="module")
def photo():
    rng = np.random.default_rng(0)
    small = (rng.random((24, 24, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(small).resize((240, 240), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def gif():
    frames = [
        Image.fromarray(np.full((120, 120, 3), (40 * i, 120, 220 - 40 * i), np.uint8))
        for i in range(4)
    ]
    for i, f in enumerate(frames):  # a moving dark square
        f.paste((20, 20, 20), (10 + 20 * i, 30, 40 + 20 * i, 60))
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=90, loop=0)
    return buf.getvalue()


@pytest.mark.parametrize("version,level", [(None, "H"), (5, "L"), (10, "q")])
def test_simple(version, level):
    img = Image.open(io.BytesIO(simple_qr(WORDS, version=version, level=level)))
    assert img.format == "PNG" and decoded(img) == [WORDS]


@pytest.mark.parametrize("colorized", [False, True])
def test_artistic(photo, colorized):
    img = Image.open(
        io.BytesIO(
            artistic_qr(
                WORDS,
                photo,
                version=6,
                level="H",
                colorized=colorized,
                contrast=1.4,
                brightness=1.1,
            )
        )
    )
    assert decoded(img) == [WORDS]
    rgb = np.asarray(img.convert("RGB")).astype(int)
    is_grey = (
        np.abs(rgb[..., 0] - rgb[..., 1]).max() == 0
        and np.abs(rgb[..., 1] - rgb[..., 2]).max() == 0
    )
    assert is_grey != colorized


def test_animated(gif):
    img = Image.open(io.BytesIO(animated_qr(WORDS, gif, colorized=True, brightness=0.9)))
    assert img.format == "GIF" and img.n_frames == 4
    frames = [f.copy() for f in ImageSequence.Iterator(img)]
    assert all(decoded(f) == [WORDS] for f in frames)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"version": 0}, "1 to 40"),
        ({"version": 41}, "1 to 40"),
        ({"level": "X"}, "L, M, Q, H"),
        ({"words": "x" * 4000, "version": 1}, "does not fit"),
        ({"contrast": 5.0}, "contrast"),
        ({"words": ""}, "words"),
    ],
)
def test_bad_parameters(kwargs, match):
    args = {"words": WORDS, **kwargs}
    with pytest.raises(FrameReviewError, match=match):
        simple_qr(**args)


def test_version_is_a_minimum():
    """Seed 001's example (version 1, level H) with a text too long for version 1: the next version that fits;
    a short text keeps the version asked for."""
    import segno

    long_words = "https://example.com/" + "x" * 100
    img = Image.open(io.BytesIO(simple_qr(long_words, version=1, level="H")))
    assert decoded(img) == [long_words]
    assert segno.make_qr(long_words, error="H", boost_error=False).version > 1
    big = Image.open(io.BytesIO(simple_qr("hi", version=8, level="H", scale=1)))
    assert big.size[0] == (17 + 4 * 8) + 8  # a version 8 code: 49 modules + the border


def test_bad_pictures(photo):
    with pytest.raises(FrameReviewError, match="GIF"):
        animated_qr(WORDS, photo)
    with pytest.raises(FrameReviewError, match="picture"):
        artistic_qr(WORDS, b"not an image")
