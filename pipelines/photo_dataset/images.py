"""Opening photos safely and at the size a step needs.

Every step asks for the smallest image it can work with: hashing needs a few
dozen pixels, face detection about 1000, the final crop the crop region at the
target size. JPEGs are decoded at 1/2, 1/4 or 1/8 scale by the decoder itself
(``Image.draft``), so a 6000x4000 photo never costs 72 MB when 750x500 will do.

Handled: EXIF orientation, CMYK, 16-bit, palette and alpha (flattened on white),
HEIC/HEIF when pillow-heif is installed, and a pixel-count guard that refuses a
decompression bomb from its header, before any pixel is decoded.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps

try:  # HEIC / HEIF photos from phones
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF = True
except Exception:  # pragma: no cover - optional
    HEIF = False

ImageFile.LOAD_TRUNCATED_IMAGES = False

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"} | (
    {".heic", ".heif", ".avif"} if HEIF else set()
)
DEFAULT_MAX_PIXELS = 120_000_000  # 120 MP: larger than any camera, smaller than a bomb


class ImageLoadError(ValueError):
    """A file that cannot be used as a photo; the message says why and what to do."""


@dataclass
class ImageInfo:
    width: int  # after EXIF orientation
    height: int
    format: str
    mode: str


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:
        return 1


def check_pixels(path: Path, w: int, h: int, max_pixels: int | None = None) -> None:
    """The decompression-bomb guard: refuse a ``w`` x ``h`` photo over ``max_pixels``
    (default :data:`DEFAULT_MAX_PIXELS`)."""
    max_pixels = max_pixels or DEFAULT_MAX_PIXELS
    if w * h > max_pixels:
        raise ImageLoadError(
            f"{path.name}: {w}x{h} = {w * h / 1e6:.0f} megapixels is over the limit of "
            f"{max_pixels / 1e6:.0f} MP (decompression-bomb guard); downscale it before adding it"
        )


JPEG_SCALES = (8, 4, 2, 1)  # the reductions libjpeg decodes directly (1/8 ... full)


def is_jpeg(data: bytes) -> bool:
    """Do these file bytes start like a JPEG?"""
    return data[:3] == b"\xff\xd8\xff"


def jpeg_scale(long_side: int, min_side: int) -> int:
    """The largest JPEG reduction (:data:`JPEG_SCALES`) that leaves at least ``min_side`` px
    on a ``long_side`` px photo's long side (1 when even the full size has fewer)."""
    return max(f for f in JPEG_SCALES if long_side >= min_side * f or f == 1)


def decode_jpeg_grey(data: bytes, scale: int) -> np.ndarray | None:
    """JPEG bytes decoded grey (uint8) at 1/``scale`` by OpenCV's libjpeg (the reduction
    done inside the decoder, about half the CPU of Pillow's draft decode), EXIF orientation
    applied; None when OpenCV cannot decode them (Pillow then reads them, with its messages).
    The caller checks the pixel limit (:func:`check_pixels`) on the size it knows."""
    import cv2

    flag = {
        8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
        4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
        2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
        1: cv2.IMREAD_GRAYSCALE,
    }[scale]
    grey = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    return None if grey is None else np.asarray(grey, dtype=np.uint8)


def _open(path: Path, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            old = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None  # our own guard below gives the clearer message
            try:
                im = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = old
    except FileNotFoundError:
        raise ImageLoadError(f"{path.name}: file not found") from None
    except Image.UnidentifiedImageError:
        suffix = path.suffix.lower()
        hint = (
            " (install pillow-heif to read HEIC photos)"
            if suffix in (".heic", ".heif") and not HEIF
            else ""
        )
        raise ImageLoadError(
            f"{path.name}: not a readable image{hint}; convert it to JPEG or PNG"
        ) from None
    except OSError as exc:
        raise ImageLoadError(
            f"{path.name}: cannot open ({exc}); re-export it as JPEG or PNG"
        ) from None
    w, h = im.size
    try:
        check_pixels(path, w, h, max_pixels)
    except ImageLoadError:
        im.close()
        raise
    if w < 1 or h < 1:
        im.close()
        raise ImageLoadError(f"{path.name}: empty image ({w}x{h})")
    return im


def probe_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Size (after EXIF rotation) and format from the header only; no pixel is decoded."""
    path = Path(path)
    with _open(path, max_pixels) as im:
        w, h = im.size
        if _orientation(im) in (5, 6, 7, 8):
            w, h = h, w
        return ImageInfo(w, h, im.format or "", im.mode)


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any mode to 8-bit RGB; alpha flattened on white, 16-bit scaled, CMYK converted."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        return Image.fromarray(np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), "L").convert(
            "RGB"
        )
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float64)
        a = a / max(a.max(), 1e-9) if a.max() > 1.0 else a
        return Image.fromarray(np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8), "L").convert(
            "RGB"
        )
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, im).convert("RGB")
    if im.mode in ("RGB;16", "RGBA;16") or im.mode.startswith("I;16"):
        return im.convert("RGB")
    return im.convert("RGB") if im.mode != "RGB" else im


def fit_within(im: Image.Image, max_side: int) -> Image.Image:
    """``im`` reduced to at most ``max_side`` on its long side (itself when it fits): by a
    whole factor first (box filter), then bilinear (in place), as :func:`load_image` does
    after the decoder's own reduction."""
    if max(im.size) <= max_side:
        return im
    factor = int(max(im.size) // max_side)
    if factor >= 2:
        im = im.reduce(factor)
    if max(im.size) > max_side:
        im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return im


def load_image(
    path: Path, max_side: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS, mode: str = "RGB"
) -> Image.Image:
    """The photo upright, as 8-bit ``mode`` ("RGB" or "L"), at most ``max_side`` on its long side.

    ``max_side`` lets the JPEG decoder skip detail (draft mode) and reduces other
    formats right after decoding, so only one full-size copy ever exists briefly.
    Raises :class:`ImageLoadError` with a message for the user.
    """
    path = Path(path)
    src = im = _open(path, max_pixels)
    try:
        if max_side and im.format == "JPEG":
            w, h = im.size
            scale = max_side / max(w, h)
            if scale < 1:
                draft_mode = (
                    "L"
                    if mode == "L" and im.mode in ("RGB", "L")
                    else ("RGB" if im.mode in ("RGB", "L") else None)
                )
                # draft keeps the size >= requested: ask for the box that scales to max_side
                im.draft(draft_mode or im.mode, (max(1, int(w * scale)), max(1, int(h * scale))))
        im.load()
        if max_side:
            im = fit_within(im, max_side)
        im = ImageOps.exif_transpose(im)
        if not (mode == "L" and im.mode == "L"):
            im = _to_rgb(im)
            if mode == "L":
                im = im.convert("L")
        return im
    except ImageLoadError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc)
        if "truncated" in msg or "broken data stream" in msg or "premature" in msg.lower():
            raise ImageLoadError(
                f"{path.name}: the file is truncated or corrupt ({msg}); copy it again from the original"
            ) from None
        raise ImageLoadError(
            f"{path.name}: cannot decode ({msg}); re-export it as JPEG or PNG"
        ) from None
    except MemoryError:
        raise ImageLoadError(
            f"{path.name}: not enough memory to decode it; downscale it first"
        ) from None
    finally:
        if im is not src or sys.exc_info()[0] is not None:
            src.close()  # the returned image is a decoded copy; the source file is released


def load_region(
    path: Path,
    box: tuple[int, int, int, int],
    out_size: tuple[int, int],
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """``box`` (in upright full-size pixels) of the photo, resized to ``out_size``.

    For a JPEG the decoder is asked for the smallest scale at which the box still
    has at least ``out_size`` pixels, so memory stays bounded for 6000x4000 photos.
    """
    info = probe_image(path, max_pixels)
    bw, bh = box[2] - box[0], box[3] - box[1]
    scale = min(1.0, max(out_size[0] / max(bw, 1), out_size[1] / max(bh, 1)))
    need = int(np.ceil(max(info.width, info.height) * scale)) + 8
    im = load_image(path, max_side=need if scale < 1 else None, max_pixels=max_pixels)
    fx, fy = im.width / info.width, im.height / info.height
    region = im.crop(
        (round(box[0] * fx), round(box[1] * fy), round(box[2] * fx), round(box[3] * fy))
    )
    size = (out_size[0], out_size[1])
    if region.size != size:
        region = region.resize(size, Image.Resampling.LANCZOS)
    return region
