"""The photo dataset pipeline end to end on real photos, and its re-runs."""

from __future__ import annotations

import json
import shutil
import tomllib
import zipfile

import pytest
from PIL import Image

from pipelines.captions import CaptionOptions
from pipelines.photo_dataset import (
    PhotoDatasetError,
    PhotoDatasetOptions,
    build_photo_dataset,
    repackage,
)
from pipelines.photo_dataset.quality import QualityOptions
from pipelines.progress import Cancelled
from tests.caption_fakes import FakeChatServer
from tests.photo_dataset.dataset_files import (
    jpeg_bytes,
    photo,
    write_huge_png,
    write_truncated_jpeg,
    zip_with_bad_entries,
)


def options(**kw) -> PhotoDatasetOptions:
    o = PhotoDatasetOptions(quality=QualityOptions(min_side=256), **kw)
    o.caption.trigger = "ohwx"
    return o


class Recorder:
    def __init__(self, cancel_at: str | None = None):
        self.updates, self.lines, self.cancel_at = [], [], cancel_at

    def update(self, *, stage=None, fraction=None, item=None, message=None):
        self.updates.append((stage, fraction, item))
        if stage and stage == self.cancel_at:
            raise Cancelled()

    def log(self, line):
        self.lines.append(line)


@pytest.fixture(scope="module")
def built(photo_set, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    progress = Recorder()
    result = build_photo_dataset(photo_set["folder"], out, options(), progress)
    return result, progress


def groups(photo_set) -> dict[str, list[str]]:
    out = {name: [name] for name in photo_set["distinct"]}
    for dup, original in photo_set["duplicates"].items():
        out[original].append(dup)
    return out


def test_duplicates_removed_and_distinct_photos_kept(built, photo_set):
    result, _ = built
    for original, members in groups(photo_set).items():
        kept = [m for m in members if result.record(m).status == "kept"]
        assert len(kept) == 1, (
            original,
            kept,
        )  # one photo per group of copies, every distinct photo kept
        for m in members:
            if m not in kept:
                assert "near-duplicate" in result.record(m).reasons[0]
                cluster = next(c for c in result.clusters if m in c.dropped)
                assert kept[0] in cluster.kept  # the gallery shows which photo stands for it
    assert len(result.kept()) == len(photo_set["distinct"])


def test_astronaut_face_is_whole_inside_its_crop(built, photo_set):
    result, _ = built
    r = next(
        result.record(m)
        for m in groups(photo_set)["astronaut.jpg"]
        if result.record(m).status == "kept"
    )
    assert r.focus == "face+pose"
    x0, y0, x1, y1 = r.crop_box
    fx0, fy0, fx1, fy1 = (v * s for v, s in zip(r.face_box, (r.width, r.height) * 2, strict=True))
    assert x0 <= fx0 and y0 <= fy0 and fx1 <= x1 and fy1 <= y1
    assert (x1 - x0) == (y1 - y0)  # square
    crop = Image.open(result.output_dir / r.output)
    assert crop.size == (x1 - x0, y1 - y0)  # a ~512 px photo is not upscaled to 1024 ...
    assert any("not upscaled" in w for w in r.warnings)  # ... and the user is told


def test_output_folder_has_pairs_manifest_configs_and_zip(built):
    result, progress = built
    out = result.output_dir
    kept = result.kept()
    assert [r.output for r in kept] == [f"{i:04d}.jpg" for i in range(1, len(kept) + 1)]
    for r in kept:
        assert (out / r.output).with_suffix(".txt").read_text().strip() == "ohwx"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert {f["name"] for f in manifest["files"]} == {r.name for r in result.records}
    assert tomllib.loads((out / "dataset.toml").read_text())["directory"][0]["path"] == str(
        out.resolve()
    )
    kohya = tomllib.loads((out / "dataset_config.toml").read_text())
    assert kohya["datasets"][0]["subsets"][0]["image_dir"] == str(out.resolve())
    names = set(zipfile.ZipFile(out / "dataset.zip").namelist())
    assert {"0001.jpg", "0001.txt", "manifest.json", "dataset.toml", "dataset_config.toml"} <= names
    stages = [s for s, _, _ in progress.updates if s]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == [
        "unpack",
        "filter",
        "dedup",
        "crop",
        "caption",
        "package",
    ]
    fractions = [f for _, f, _ in progress.updates if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_bad_files_get_their_own_result_and_the_rest_is_built(tmp_path):
    good = {
        "a/astronaut.jpg": jpeg_bytes(photo("astronaut")),
        "a/rocket.jpg": jpeg_bytes(photo("rocket")),
    }
    upload = zip_with_bad_entries(tmp_path / "upload.zip", good)
    extra = tmp_path / "extra"
    extra.mkdir()
    write_truncated_jpeg(extra / "half.jpg")
    write_huge_png(extra / "huge.png")
    result = build_photo_dataset([upload, extra], tmp_path / "out", options())
    by_name = {r.name.split("/")[-1].split(":")[-1]: r for r in result.records}
    assert "truncated" in by_name["half.jpg"].reasons[0] and by_name["half.jpg"].status == "error"
    assert "decompression-bomb" in by_name["huge.png"].reasons[0]
    assert "leaves the folder" in by_name["evil.jpg"].reasons[0]
    assert "zip bomb" in by_name["bomb.png"].reasons[0]
    assert sorted(r.name for r in result.kept()) == [
        "upload.zip/a/astronaut.jpg",
        "upload.zip/a/rocket.jpg",
    ]
    assert (tmp_path / "out" / "0002.txt").exists()


def test_quality_filter_reasons_and_user_overrides(tmp_path, photo_set):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("astronaut.jpg", "astronaut_recompressed.jpg", "chelsea.jpg"):
        shutil.copy(photo_set["folder"] / name, folder / name)
    photo_set["blurry"].save(folder / "blurry.jpg")
    photo_set["dark"].save(folder / "dark.jpg")
    o = options()
    o.dedup.use_faces = False  # pHash only: fast
    result = build_photo_dataset(folder, tmp_path / "out", o)
    assert "too blurry" in result.record("blurry.jpg").reasons[0]
    assert any("too dark" in reason for reason in result.record("dark.jpg").reasons)
    assert result.record("astronaut_recompressed.jpg").status == "dropped"

    # the user flips choices in the gallery and adjusts one crop, then re-runs
    o.force_keep = ["blurry.jpg", "astronaut_recompressed.jpg"]
    o.force_drop = ["chelsea.jpg"]
    o.crop_overrides = {"astronaut.jpg": [100, 20, 400, 320]}
    result = build_photo_dataset(folder, tmp_path / "out", o)
    assert {r.name for r in result.kept()} == {
        "astronaut.jpg",
        "astronaut_recompressed.jpg",
        "blurry.jpg",
    }
    assert result.record("chelsea.jpg").reasons == ["dropped by request"]
    assert any("kept by request" in w for w in result.record("blurry.jpg").warnings)
    assert result.record("astronaut.jpg").crop_box == [100, 20, 400, 320]
    assert sorted(p.name for p in (tmp_path / "out").glob("0*.jpg")) == [
        "0001.jpg",
        "0002.jpg",
        "0003.jpg",
    ]


def test_caption_edits_are_applied_by_repackaging_only(built):
    result, _ = built
    first = result.kept()[0]
    again = repackage(
        result.output_dir,
        caption_overrides={
            first.output: "ohwx, a woman in a white suit",
            result.kept()[1].name: "a cat",
        },
    )
    assert (result.output_dir / first.output).with_suffix(
        ".txt"
    ).read_text().strip() == "ohwx, a woman in a white suit"
    second = again.record(result.kept()[1].name)
    assert second.caption_source == "edited"
    assert any("trigger word" in w for w in second.warnings)
    with zipfile.ZipFile(result.output_dir / "dataset.zip") as z:
        assert (
            z.read(first.output.replace(".jpg", ".txt")).decode().strip()
            == "ohwx, a woman in a white suit"
        )


def test_cancel_keeps_the_crops_and_writes_the_manifest(tmp_path, photo_set):
    o = options()
    o.dedup.use_faces = False
    with pytest.raises(Cancelled):
        build_photo_dataset(photo_set["folder"], tmp_path / "out", o, Recorder(cancel_at="caption"))
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "cancelled" and manifest["stage"] == "caption"
    written = [f["output"] for f in manifest["files"] if f["output"]]
    assert written and all((tmp_path / "out" / name).exists() for name in written)


def test_buckets_and_api_captions(tmp_path, photo_set):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(photo_set["folder"] / "rocket.jpg", folder)  # 640x427 landscape
    key = "sk-pipeline-secret-000111222"
    with FakeChatServer(fail={"first": 1}) as server:
        o = options(
            caption=CaptionOptions(
                provider="api",
                trigger="ohwx",
                api_base_url=server.base_url,
                api_key=key,
                api_models=["first"],
                api_backoff=0.01,
                identity_words=["standing"],
            )
        )
        o.crop.mode, o.crop.size = "buckets", 512
        o.dedup.use_faces = False
        progress = Recorder()
        result = build_photo_dataset(folder, tmp_path / "out", o, progress)
    r = result.kept()[0]
    assert (
        r.caption == "ohwx, a person standing outdoors, described by first"
        and r.caption_source == "api"
    )
    assert any("identity word 'standing'" in w for w in r.warnings)
    w, h = Image.open(tmp_path / "out" / r.output).size
    assert w > h and w % 64 == 0 and h % 64 == 0  # a landscape bucket
    everything = (tmp_path / "out" / "manifest.json").read_text() + "\n".join(progress.lines)
    assert key not in everything


def test_unusable_options_are_refused_up_front(tmp_path, monkeypatch):
    o = options()
    o.dedup.insightface_model_dir = str(tmp_path / "buffalo_l")
    with pytest.raises(
        PhotoDatasetError, match=r"InsightFace model folder .* not found.*STUDIO_INSIGHTFACE_DIR"
    ):
        build_photo_dataset(tmp_path, tmp_path / "out", o)
    with pytest.raises(PhotoDatasetError, match="crop mode"):
        build_photo_dataset(tmp_path, tmp_path / "out", options(crop=type(o.crop)(mode="circle")))


def test_zip_trainer_configs_use_paths_that_resolve_where_it_is_unpacked(built, tmp_path):
    """Unpacked anywhere, every path in the ZIP's configs names the unpacked photos (no server path)."""
    result, _ = built
    unpacked = tmp_path / "somewhere" / "else"
    zipfile.ZipFile(result.output_dir / "dataset.zip").extractall(unpacked)
    paths = [d["path"] for d in tomllib.loads((unpacked / "dataset.toml").read_text())["directory"]]
    kohya = tomllib.loads((unpacked / "dataset_config.toml").read_text())
    paths += [s["image_dir"] for d in kohya["datasets"] for s in d["subsets"]]
    assert paths and str(result.output_dir) not in (unpacked / "dataset.toml").read_text()
    for path in paths:
        assert not path.startswith("/")
        folder = (
            unpacked / path
        ).resolve()  # relative to the config's folder = where the ZIP was unpacked
        assert (
            folder == unpacked.resolve()
            and (folder / "0001.jpg").is_file()
            and (folder / "0001.txt").is_file()
        )
