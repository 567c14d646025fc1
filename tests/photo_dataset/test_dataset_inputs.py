"""Safe unpack and image loading: what users upload, good and bad."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipelines.photo_dataset.images import ImageLoadError, load_image, probe_image
from pipelines.photo_dataset.unpack import UnpackLimits, gather_inputs, safe_unpack_zip
from tests.photo_dataset.dataset_files import (
    jpeg_bytes,
    photo,
    write_huge_png,
    write_truncated_jpeg,
    zip_with_bad_entries,
)


def test_zip_unpacks_images_and_refuses_escapes_links_and_bombs(tmp_path):
    good = {
        "photos/a.jpg": jpeg_bytes(photo("coffee")),
        "photos/deep/b.jpg": jpeg_bytes(photo("chelsea")),
    }
    archive = zip_with_bad_entries(tmp_path / "upload.zip", good)
    out = safe_unpack_zip(archive, tmp_path / "unpacked")
    assert sorted(f.name for f in out.files) == ["photos/a.jpg", "photos/deep/b.jpg"]
    reasons = {s.name.split(":", 1)[1]: s.reason for s in out.skipped}
    assert "leaves the folder" in reasons["../evil.jpg"]
    assert "leaves the folder" in reasons["/etc/evil.jpg"]
    assert "symbolic link" in reasons["photos/link.jpg"]
    assert "zip bomb" in reasons["photos/bomb.png"]
    assert "not an image" in reasons["photos/readme.pdf"]
    assert not (tmp_path / "evil.jpg").exists()
    assert all((tmp_path / "unpacked").resolve() in f.path.resolve().parents for f in out.files)


def test_zip_limits_on_entries_and_total_size(tmp_path):
    good = {f"p{i}.jpg": jpeg_bytes(photo("coffee")) for i in range(3)}
    archive = zip_with_bad_entries(tmp_path / "upload.zip", good)
    out = safe_unpack_zip(archive, tmp_path / "u", UnpackLimits(max_entries=2))
    assert len(out.files) <= 2 and any("over the limit of 2" in s.reason for s in out.skipped)
    size = len(good["p0.jpg"])
    out = safe_unpack_zip(archive, tmp_path / "v", UnpackLimits(max_total_bytes=int(size * 1.5)))
    assert len(out.files) == 1 and any("total unpacked size" in s.reason for s in out.skipped)


def test_folder_is_walked_and_duplicate_names_made_unique(tmp_path):
    for sub in ("a", "b/c"):
        (tmp_path / "in" / sub).mkdir(parents=True)
        photo("coffee").save(tmp_path / "in" / sub / "IMG_1.jpg")
    (tmp_path / "in" / "notes.txt").write_text("x")
    out = gather_inputs([tmp_path / "in", tmp_path / "in" / "a" / "IMG_1.jpg"], tmp_path / "work")
    names = [f.name for f in out.files]
    assert len(names) == len(set(names)) == 3
    assert [s.reason for s in out.skipped] == ["not an image (.txt files are not used)"]


def test_bad_images_give_clear_messages(tmp_path):
    with pytest.raises(ImageLoadError, match="truncated"):
        load_image(write_truncated_jpeg(tmp_path / "half.jpg"))
    with pytest.raises(ImageLoadError, match=r"20000x20000 .*decompression-bomb"):
        load_image(write_huge_png(tmp_path / "huge.png"))
    (tmp_path / "fake.jpg").write_text("not really a jpeg")
    with pytest.raises(ImageLoadError, match="not a readable image"):
        load_image(tmp_path / "fake.jpg")


def test_exif_orientation_and_odd_modes_become_upright_rgb(tmp_path):
    im = photo("rocket")  # 640x427 landscape
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: the camera was held upright
    im.save(tmp_path / "rotated.jpg", exif=exif)
    assert probe_image(tmp_path / "rotated.jpg").width == 427
    assert load_image(tmp_path / "rotated.jpg").size == (427, 640)

    im.convert("CMYK").save(tmp_path / "cmyk.jpg")
    rgba = im.convert("RGBA")
    rgba.putalpha(0)
    rgba.save(tmp_path / "clear.png")
    Image.fromarray(np.asarray(im.convert("L"), dtype=np.uint16) * 257).save(
        tmp_path / "sixteen.png"
    )
    assert load_image(tmp_path / "cmyk.jpg").mode == "RGB"
    assert np.asarray(load_image(tmp_path / "clear.png")).min() == 255  # transparent -> white
    sixteen = np.asarray(load_image(tmp_path / "sixteen.png"))
    assert abs(float(sixteen.mean()) - float(np.asarray(im.convert("L")).mean())) < 2


def test_big_jpeg_is_decoded_at_reduced_size(tmp_path):
    big = photo("astronaut").resize((4000, 4000))
    big.save(tmp_path / "big.jpg", quality=85)
    small = load_image(tmp_path / "big.jpg", max_side=500)
    assert max(small.size) <= 500
    assert probe_image(tmp_path / "big.jpg").width == 4000
