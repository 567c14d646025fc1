"""The examples every tab opens with (pipelines/examples.py): written once into
STUDIO_HOME/examples, small, real media, and each shows what its tool does."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from pipelines import examples
from pipelines.video_probe import probe


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("studio-home")


def test_the_examples_are_written_once_into_the_data_folder(home):
    photos = examples.photos(home)
    clips = examples.videos(home)
    launch = examples.recording(home)
    clip, mask, edit = examples.video_edit(home)
    reference, motion = examples.dance(home)
    files = [*photos, *clips, launch, clip, reference, motion]
    assert all(examples.folder(home) in f.parents for f in files)
    assert (mask, edit) == ("person", "make it look like a bronze statue")

    written = {f: f.stat().st_mtime_ns for f in files}
    examples.photos(home), examples.videos(home), examples.recording(home), examples.dance(home)
    assert {f: f.stat().st_mtime_ns for f in files} == written  # kept, not written again
    assert not list(examples.folder(home).rglob("*.part*"))  # no half-written file left
    assert sum(f.stat().st_size for f in set(files)) < 2 * 1024 * 1024


def test_the_example_media_are_what_the_tools_take(home):
    for photo in examples.photos(home):
        with Image.open(photo) as image:
            assert min(image.size) >= 512  # the photo tool's default minimum
    for clip in [*examples.videos(home), examples.recording(home)]:
        info = probe(clip)
        assert info.codec == "h264" and info.duration >= 1.5, (clip.name, info)
    launch = probe(examples.recording(home))
    assert launch.height > launch.width  # a phone screen, portrait
    with Image.open(examples.dance(home)[0]) as reference:
        assert reference.size == (512, 512)


@pytest.mark.slow
def test_the_example_photos_build_into_three_with_the_duplicate_and_the_blurry_one_left_out(
    home, tmp_path
):
    from pipelines.photo_dataset.photos import PhotoDatasetOptions, build_photo_dataset

    result = build_photo_dataset(examples.photos(home), tmp_path / "out", PhotoDatasetOptions())
    manifest = json.loads(result.manifest_path.read_text())
    kept = sorted(f["name"] for f in manifest["files"] if f["status"] == "kept")
    assert kept == ["astronaut.jpg", "chelsea.jpg", "coffee.jpg"]
    assert {"kept": ["astronaut.jpg"], "dropped": ["astronaut_again.jpg"]}.items() <= next(
        iter(manifest["clusters"])
    ).items()
    blurry = next(f for f in manifest["files"] if f["name"] == "astronaut_blurry.jpg")
    assert any("blurry" in reason for reason in blurry["reasons"]), blurry
