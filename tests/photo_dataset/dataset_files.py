"""Files for the dataset tests: real photos that ship offline (scikit-image) and the
broken files users upload (truncated JPEG, 20000x20000 PNG, hostile ZIP)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image


def photo(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


def write_huge_png(path: Path, side: int = 20000) -> Path:
    """A valid 1-bit PNG of side x side pixels (a few hundred kB on disk, 400 MP decoded)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    row = b"\x00" * (1 + (side + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row * 1000) for _ in range(side // 1000)) + comp.flush()
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )
    return path


def write_truncated_jpeg(path: Path) -> Path:
    buf = io.BytesIO()
    photo("coffee").save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


def zip_with_bad_entries(path: Path, good: dict[str, bytes]) -> Path:
    """A ZIP with good images plus a zip-slip entry, an absolute path, a symlink and a zip bomb."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in good.items():
            z.writestr(name, data)
        z.writestr("../evil.jpg", good[next(iter(good))])
        z.writestr("/etc/evil.jpg", good[next(iter(good))])
        link = zipfile.ZipInfo("photos/link.jpg")
        link.external_attr = 0o120777 << 16
        z.writestr(link, "/etc/passwd")
        z.writestr("photos/bomb.png", b"\x00" * (50 * 1024 * 1024))  # 50 MB of zeros, ~50 kB packed
        z.writestr("photos/readme.pdf", b"%PDF-1.4")
    return path


def jpeg_bytes(image: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
