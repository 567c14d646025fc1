"""Fixtures of the photo Dataset builder app tests: a small ZIP of real photos with
near-duplicates and hostile members, and the REST client on the real app."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import ImageEnhance

from tests.photo_dataset.dataset_files import jpeg_bytes, photo, zip_with_bad_entries


def photo_bytes() -> dict[str, bytes]:
    """4 distinct photos + 2 near-duplicates of the astronaut (a recompressed and a brighter copy)."""
    astro = photo("astronaut")
    return {
        "photos/astronaut.jpg": jpeg_bytes(astro, 92),
        "photos/astronaut_q40.jpg": jpeg_bytes(astro, 40),
        "photos/astronaut_bright.jpg": jpeg_bytes(ImageEnhance.Brightness(astro).enhance(1.25), 90),
        "photos/coffee.jpg": jpeg_bytes(photo("coffee")),
        "photos/chelsea.jpg": jpeg_bytes(photo("chelsea")),
        "photos/rocket.jpg": jpeg_bytes(photo("rocket")),
    }


@pytest.fixture(scope="session")
def photos_zip(tmp_path_factory) -> Path:
    """The photos plus zip-slip, absolute-path, symlink, zip-bomb and PDF members."""
    return zip_with_bad_entries(tmp_path_factory.mktemp("zips") / "photos.zip", photo_bytes())


@pytest.fixture(scope="session")
def small_zip(tmp_path_factory) -> Path:
    """Three photos, one a duplicate (for the quick builds)."""
    path = tmp_path_factory.mktemp("zips") / "small.zip"
    data = photo_bytes()
    with zipfile.ZipFile(path, "w") as z:
        for name in ("photos/astronaut.jpg", "photos/astronaut_q40.jpg", "photos/coffee.jpg"):
            z.writestr(name, data[name])
    return path


@pytest.fixture(scope="session")
def tiny_blip(tiny_blips) -> Path:
    """The tiny BLIP captioner that says "photo" (built once per session)."""
    return tiny_blips("photo")


@pytest.fixture
def client(studio_home):
    from tests.conftest import studio_app

    with TestClient(studio_app()) as test_client:
        yield test_client


# keep per cluster 1 and a 256 px floor: skimage's photos are 512 px
OPTIONS = {
    "quality": {"min_side": 256},
    "dedup": {"keep_per_cluster": 1},
    "crop": {"size": 256},
    "caption": {"trigger": "ohwx"},
}


def zip_names(data: bytes) -> list[str]:
    return sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
