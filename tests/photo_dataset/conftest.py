"""Shared fixtures of the dataset tests (photo set with known duplicates)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # so tests can `from tests.caption_fakes import ...`
    sys.path.insert(0, str(ROOT))


from tests.photo_dataset.dataset_files import photo  # noqa: E402


@pytest.fixture(scope="session")
def photo_set(tmp_path_factory) -> dict:
    """Distinct real photos + near-duplicates of the astronaut and the coffee cup.

    Returns {"folder": Path, "distinct": [...], "duplicates": {dup_name: original_name}}.
    """
    folder = tmp_path_factory.mktemp("photos")
    astro, coffee = photo("astronaut"), photo("coffee")
    distinct = {
        "astronaut.jpg": astro,
        "coffee.jpg": coffee,
        "chelsea.jpg": photo("chelsea"),
        "rocket.jpg": photo("rocket"),
    }
    for name, im in distinct.items():
        im.save(folder / name, quality=92)
    dups = {
        "astronaut_recompressed.jpg": (
            astro,
            lambda im: im.save(folder / "astronaut_recompressed.jpg", quality=40),
        ),
        "astronaut_resized.png": (
            astro,
            lambda im: im.resize((384, 384)).save(folder / "astronaut_resized.png"),
        ),
        "astronaut_brighter.jpg": (
            astro,
            lambda im: (
                ImageEnhance.Brightness(im)
                .enhance(1.25)
                .save(folder / "astronaut_brighter.jpg", quality=90)
            ),
        ),
        "astronaut_shifted.jpg": (
            astro,
            lambda im: im.crop((6, 6, 512, 512)).save(folder / "astronaut_shifted.jpg"),
        ),
        "coffee_recompressed.jpg": (
            coffee,
            lambda im: im.save(folder / "coffee_recompressed.jpg", quality=35),
        ),
    }
    for im, save in dups.values():
        save(im)
    blurry = astro.filter(ImageFilter.GaussianBlur(8))
    ImageOps_dark = Image.fromarray((np.asarray(photo("rocket")) * 0.08).astype(np.uint8))
    return {
        "folder": folder,
        "distinct": list(distinct),
        "duplicates": {
            "astronaut_recompressed.jpg": "astronaut.jpg",
            "astronaut_resized.png": "astronaut.jpg",
            "astronaut_brighter.jpg": "astronaut.jpg",
            "astronaut_shifted.jpg": "astronaut.jpg",
            "coffee_recompressed.jpg": "coffee.jpg",
        },
        "blurry": blurry,
        "dark": ImageOps_dark,
    }
