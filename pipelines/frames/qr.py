"""QR code tools (seed 001 ``/qr/simple``, ``/qr/artistic``, ``/qr/animated``).

Parameters as in the seed (one definition, :class:`QROptions`: the REST schema,
the tab's defaults and the job read it): ``words``, ``version`` (1-40, the
smallest version to use — a longer text gets the next version that fits, as the
seed's library does; None: the smallest that fits), ``level`` (L/M/Q/H), ``colorized`` (keep the background's
colours; otherwise it is turned grey), ``contrast`` and ``brightness``
(0.1-3.0, applied to the background picture with PIL ImageEnhance; the simple
code has no background, so there they only need to be valid).

Built on segno and its artistic plugin (``qrcode-artistic``): every module's
centre keeps the code colour, the rest shows the background.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from .video import FrameReviewError

LEVELS = ("L", "M", "Q", "H")
SCALE = 9  # pixels per module; multiples of 3 suit the artistic renderer
WORDS_MAX = 2953  # bytes a version 40-L code holds
MAX_FRAMES = 300  # frames of an animated QR code's background GIF
MAX_GIF_PIXELS = 100_000_000  # all its frames together (300 frames of 577 × 577)


class QROptions(BaseModel):
    """A QR code's options (seed 001 ``QRCodeRequest``), with their defaults and limits."""

    words: str = Field(
        min_length=1,
        max_length=WORDS_MAX,
        examples=["https://example.com"],
        description="the text or URL to encode",
    )
    version: int | None = Field(
        None,
        ge=1,
        le=40,
        description="smallest QR version 1-40; a longer text gets the next version "
        "that fits; empty = automatic",
    )
    level: Literal["L", "M", "Q", "H"] = Field(
        "H", description="error correction: L, M, Q or H (most robust)"
    )
    colorized: bool = Field(False, description="keep the background picture's colours (else grey)")
    contrast: float = Field(1.0, ge=0.1, le=3.0, description="background contrast, 1.0 = unchanged")
    brightness: float = Field(
        1.0, ge=0.1, le=3.0, description="background brightness, 1.0 = unchanged"
    )


def _check(words: str, version: int | str | None, level: str, contrast: float, brightness: float):
    import segno

    if not isinstance(words, str) or not words:
        raise FrameReviewError("words: give the text or URL to encode (not empty).")
    if version in ("", "auto"):
        version = None
    if version is not None:
        try:
            version = int(version)
        except (TypeError, ValueError) as exc:
            raise FrameReviewError(
                f"version {version!r}: give a whole number 1-40, or leave it empty for automatic."
            ) from exc
        if not 1 <= version <= 40:
            raise FrameReviewError(
                f"version {version}: QR versions go from 1 to 40 (or leave it empty for automatic)."
            )
    lvl = str(level).upper()
    if lvl not in LEVELS:
        raise FrameReviewError(
            f"level {level!r}: use one of L, M, Q, H (error correction, H = most robust)."
        )
    for name, v in (("contrast", contrast), ("brightness", brightness)):
        if not isinstance(v, (int, float)) or not 0.1 <= v <= 3.0:
            raise FrameReviewError(
                f"{name} {v!r}: give a number from 0.1 to 3.0 (1.0 = unchanged)."
            )
    try:
        # boost_error=False: keep the level the user asked for. The version is a minimum.
        qr = segno.make_qr(words, error=lvl, boost_error=False)
    except segno.DataOverflowError as exc:
        raise FrameReviewError(
            f"'{words[:40]}…' ({len(words.encode('utf-8'))} bytes) does not fit in any QR code (version 40) "
            f"at level {lvl}: shorten the text or use a lower level."
        ) from exc
    if version is not None and int(qr.version) < version:
        qr = segno.make_qr(words, error=lvl, version=version, boost_error=False)
    return qr


def _prepare_background(img, colorized: bool, contrast: float, brightness: float):
    from PIL import ImageEnhance

    img = img.convert("RGB") if colorized else img.convert("L").convert("RGB")
    if contrast != 1.0:
        img = ImageEnhance.Contrast(img).enhance(contrast)
    if brightness != 1.0:
        img = ImageEnhance.Brightness(img).enhance(brightness)
    return img


def _open_picture(picture, what: str):
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(picture if not isinstance(picture, bytes) else io.BytesIO(picture))
        img.load()
        return img
    except (UnidentifiedImageError, OSError) as exc:
        raise FrameReviewError(
            f"picture: not a readable {what} image ({exc}). Use PNG, JPG, BMP or GIF."
        ) from exc


def simple_qr(
    words: str,
    version: int | None = None,
    level: str = "H",
    contrast: float = 1.0,
    brightness: float = 1.0,
    scale: int = SCALE,
) -> bytes:
    """A black-on-white QR code as PNG bytes."""
    qr = _check(words, version, level, contrast, brightness)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def artistic_qr(
    words: str,
    picture: str | Path | bytes | io.BytesIO,
    version: int | None = None,
    level: str = "H",
    colorized: bool = False,
    contrast: float = 1.0,
    brightness: float = 1.0,
    scale: int = SCALE,
) -> bytes:
    """A QR code drawn over a background picture (PNG/JPG/BMP...), as PNG bytes."""
    qr = _check(words, version, level, contrast, brightness)
    img = _prepare_background(
        _open_picture(picture, "PNG/JPG/BMP"), colorized, contrast, brightness
    )
    bg = io.BytesIO()
    img.save(bg, format="PNG")
    bg.seek(0)
    out = io.BytesIO()
    qr.to_artistic(background=bg, target=out, kind="png", scale=scale, border=4)
    return out.getvalue()


def animated_qr(
    words: str,
    picture: str | Path | bytes | io.BytesIO,
    version: int | None = None,
    level: str = "H",
    colorized: bool = False,
    contrast: float = 1.0,
    brightness: float = 1.0,
    scale: int = SCALE,
) -> bytes:
    """A QR code over every frame of an animated GIF, as GIF bytes (frame durations and loop kept)."""
    from PIL import ImageSequence

    qr = _check(words, version, level, contrast, brightness)
    gif = _open_picture(picture, "GIF")
    if gif.format != "GIF":
        raise FrameReviewError(
            f"picture: an animated QR code needs a GIF background, got {gif.format}."
        )
    frames, durations = [], []
    for n, fr in enumerate(ImageSequence.Iterator(gif), start=1):
        if n > MAX_FRAMES or n * gif.width * gif.height > MAX_GIF_PIXELS:
            raise FrameReviewError(
                f"picture: the GIF is too long for an animated QR code: at most {MAX_FRAMES} "
                f"frames and {MAX_GIF_PIXELS:,} pixels in all ({gif.width}×{gif.height} per "
                "frame); shorten it or scale it down."
            )
        durations.append(fr.info.get("duration", gif.info.get("duration", 100)))
        frames.append(_prepare_background(fr.copy(), colorized, contrast, brightness))
    bg = io.BytesIO()
    frames[0].save(
        bg,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=gif.info.get("loop", 0),
    )
    bg.seek(0)
    out = io.BytesIO()
    qr.to_artistic(background=bg, target=out, kind="gif", scale=scale, border=4)
    return out.getvalue()
