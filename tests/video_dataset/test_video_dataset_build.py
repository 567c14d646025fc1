"""The whole build: folder in, N.mp4 + N.txt out, bad files reported, cancel, dataset files."""

from __future__ import annotations

import json
import tomllib
import zipfile

import av
import pytest

from pipelines.captions import CaptionOptions
from pipelines.progress import Cancelled
from pipelines.video_dataset import (
    DEFAULT_CAPTION_PREFIX,
    DatasetNameError,
    VideoDatasetOptions,
    build_video_dataset,
    dataset_exists,
    list_datasets,
    preview_grid,
    summarize_dataset,
    validate_dataset_name,
)


class Recorder:
    """Progress that remembers what the job system would show."""

    def __init__(self, cancel_at_clip: int | None = None):
        self.updates, self.lines, self.cancel_at_clip, self.items = [], [], cancel_at_clip, set()

    def update(self, *, stage=None, fraction=None, item=None, message=None):
        self.updates.append((stage, fraction, item))
        if stage == "convert" and item not in self.items:
            self.items.add(item)  # a new clip starts converting
            if self.cancel_at_clip and len(self.items) == self.cancel_at_clip:
                raise Cancelled()

    def log(self, line):
        self.lines.append(line)


def test_folder_becomes_numbered_clips_with_captions(tmp_path, video_folder):
    out = tmp_path / "my_set"
    progress = Recorder()
    result = build_video_dataset(video_folder, out, VideoDatasetOptions(preset="wan"), progress)

    # four good videos done, the corrupt one and the text file reported with a reason
    assert len(result.clips) == 4
    skipped = {s.path.name: s.reason for s in result.skipped}
    assert set(skipped) == {"corrupt.mp4", "notes.txt"}
    assert "corrupt" in skipped["corrupt.mp4"] and "not a video" in skipped["notes.txt"]
    assert any("corrupt.mp4" in line for line in progress.lines)

    for n, clip in enumerate(result.clips, start=1):
        assert clip.path == out / f"{n}.mp4"
        caption = (out / f"{n}.txt").read_text().strip()
        assert caption == DEFAULT_CAPTION_PREFIX.strip().strip(",")
        with av.open(str(clip.path)) as c:
            assert not c.streams.audio
            assert float(c.streams.video[0].average_rate) == pytest.approx(16.0)
    by_source = {c.source.name: c for c in result.clips}
    assert abs(by_source["fps30.mp4"].frames - 48) <= 1
    assert by_source["phone_vfr.mp4"].duration == pytest.approx(3.0, abs=0.1)
    assert any("variable frame rate" in w for w in by_source["phone_vfr.mp4"].warnings)
    assert any("4k+1" in w for w in result.warnings)  # 48 frames: the trainer would use 45
    record = json.loads(json.dumps(result.as_dict()))  # what a job stores
    assert [c["file"] for c in record["clips"]] == ["1.mp4", "2.mp4", "3.mp4", "4.mp4"]
    assert {s["file"] for s in record["skipped"]} == {"corrupt.mp4", "notes.txt"}

    # the steps a user sees, and a fraction that only grows to 1
    stages = {s for s, _, _ in progress.updates}
    assert {"probe", "convert", "check", "save"} <= stages
    fractions = [f for _, f, _ in progress.updates if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0

    # dataset files, and nothing temporary left
    toml = (out / "dataset.toml").read_text()
    assert "frame_buckets = [1, 33, 65, 81]" in toml and str(out.resolve()) in toml
    # the preview lies beside the training folder, never in it (a trainer would take it for a sample)
    assert (tmp_path / "my_set.preview.jpg").stat().st_size > 0 and not list(out.glob("*.jpg"))
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []

    summary = summarize_dataset(out)
    assert (summary.clips, summary.captions) == (4, 4)
    assert summary.total_duration == pytest.approx(3.0 + 2.0 + 2.0 + 3.0, abs=0.3)
    assert summary.fps == [16.0]
    assert [d.name for d in list_datasets(tmp_path)] == ["my_set"]


def test_scratch_files_go_to_local_disk_never_beside_the_dataset(tmp_path, media, monkeypatch):
    """Work files (conversions in progress) live in TMPDIR: the dataset's folder
    may be on storage that several machines share (STUDIO_HOME)."""
    import tempfile

    local = tmp_path / "local-tmp"
    local.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(local))
    out = tmp_path / "shared" / "ds"
    seen: list[tuple[list[str], list[str]]] = []

    class Looking(Recorder):
        def update(self, *, stage=None, fraction=None, item=None, message=None):
            if stage == "check":  # a clip converted, not saved yet
                scratch = [p.name for p in local.rglob("*.mp4")]
                hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
                seen.append((scratch, hidden))
            super().update(stage=stage, fraction=fraction, item=item, message=message)

    opts = VideoDatasetOptions(preset="wan", write_preview=False)
    result = build_video_dataset(media["fps30"], out, opts, Looking())
    assert len(result.clips) == 1
    assert seen and all(scratch and not hidden for scratch, hidden in seen)
    assert list(local.iterdir()) == []  # removed at the end
    assert sorted(p.name for p in out.iterdir() if p.suffix in (".mp4", ".txt")) == [
        "1.mp4",
        "1.txt",
    ]


def test_trim_makes_every_clip_4k_plus_1_and_drop_leaves_out_short_ones(tmp_path, media):
    opts = VideoDatasetOptions(
        preset="wan", clip_seconds=1.25, frame_policy="trim", write_preview=False
    )
    trimmed = build_video_dataset(media["fps30"], tmp_path / "trim", opts)
    assert trimmed.clips and all((c.frames - 1) % 4 == 0 for c in trimmed.clips)

    opts = VideoDatasetOptions(
        preset="wan", frame_buckets=(1, 33), frame_policy="drop", write_preview=False
    )
    dropped = build_video_dataset([media["fps30"], media["fps25"]], tmp_path / "drop", opts)
    assert [c.source.name for c in dropped.clips] == ["fps30.mp4"]  # 48 frames fits 33
    assert (
        "fps25.mov" in dropped.skipped[0].reason
        and "smallest frame bucket" in dropped.skipped[0].reason
    )


def test_split_at_scene_cuts(tmp_path, media):
    opts = VideoDatasetOptions(preset="hunyuan", split="scenes", write_preview=False)
    result = build_video_dataset(media["scenes"], tmp_path / "scenes", opts)
    assert [round(c.duration) for c in result.clips] == [2, 2]
    assert all(round(c.fps) == 24 for c in result.clips)


def test_cancel_keeps_finished_clips_and_cleans_up(tmp_path, video_folder):
    out = tmp_path / "cancelled"
    with pytest.raises(Cancelled):
        build_video_dataset(video_folder, out, VideoDatasetOptions(), Recorder(cancel_at_clip=3))
    assert sorted(p.name for p in out.iterdir()) == ["1.mp4", "1.txt", "2.mp4", "2.txt"]


def test_existing_dataset_is_not_overwritten(tmp_path, media):
    out = tmp_path / "ds"
    build_video_dataset(media["fps25"], out, VideoDatasetOptions(write_preview=False))
    with pytest.raises(ValueError, match="already holds a dataset"):
        build_video_dataset(media["fps25"], out, VideoDatasetOptions())
    more = build_video_dataset(media["fps25"], out, VideoDatasetOptions(append=True, make_zip=True))
    assert [c.number for c in more.clips] == [2]
    with zipfile.ZipFile(more.zip_path) as zf:
        assert {"ds/1.mp4", "ds/1.txt", "ds/2.mp4", "ds/2.txt", "ds/dataset.toml"} <= set(
            zf.namelist()
        )
        unpacked = tmp_path / "unpacked" / "here"
        zf.extractall(unpacked)
    # the ZIP's config: every path resolves where the ZIP is unpacked (relative to the config), no server path
    config = unpacked / "ds" / "dataset.toml"
    assert str(out.resolve()) not in config.read_text()
    paths = [d["path"] for d in tomllib.loads(config.read_text())["directory"]]
    assert paths and all(not p.startswith("/") for p in paths)
    for path in paths:
        assert (config.parent / path).resolve() == (unpacked / "ds").resolve()
        assert ((config.parent / path) / "2.mp4").is_file()
    assert tomllib.loads((out / "dataset.toml").read_text())["directory"][0]["path"] == str(
        out.resolve()
    )


def test_bad_options_fail_before_any_work(tmp_path, media):
    with pytest.raises(ValueError, match="preset"):
        build_video_dataset(media["fps25"], tmp_path / "a", VideoDatasetOptions(preset="sora"))
    with pytest.raises(ValueError, match="frame rate"):
        build_video_dataset(media["fps25"], tmp_path / "b", VideoDatasetOptions(preset=None))
    rewrite_without_api = VideoDatasetOptions(caption=CaptionOptions(provider="none"), rewrite=True)
    from pipelines.captions import CaptionError

    with pytest.raises(CaptionError, match="API"):
        build_video_dataset(media["fps25"], tmp_path / "c", rewrite_without_api)
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


def test_dataset_names(tmp_path):
    assert validate_dataset_name(" wan_dance-v1.2 ") == "wan_dance-v1.2"
    for bad in ["", "../etc", "a/b", ".hidden", "x" * 65, "名字", "a b"]:
        with pytest.raises(DatasetNameError):
            validate_dataset_name(bad)
    (tmp_path / "taken").mkdir()
    assert dataset_exists(tmp_path, "taken") and not dataset_exists(tmp_path, "free")


def test_preview_grid_shows_every_clip(tmp_path, media):
    out = tmp_path / "p"
    build_video_dataset(
        [media["fps30"], media["fps25"], media["fps60"]],
        out,
        VideoDatasetOptions(write_preview=False),
    )
    image = preview_grid(out, columns=2, cell=128)
    assert image.size[0] == 256 and image.size[1] > 2 * 128  # two rows of cells with caption lines
    assert not list(out.glob("*.jpg"))
    assert preview_grid(out, True) == out.with_name(out.name + ".preview.jpg")
    assert out.with_name(out.name + ".preview.jpg").is_file() and not list(out.glob("*.jpg"))


def test_truncated_and_corrupt_h264_are_bad_clips_and_the_rest_is_built(tmp_path):
    from video_media import make_faststart

    folder = tmp_path / "in"
    folder.mkdir()
    whole = make_faststart(folder / "whole.mp4", 30, 4.0)
    data = whole.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) * 6 // 10])
    damaged = bytearray(data)
    for offset in range(len(data) // 3, len(data) // 3 + 3000, 50):  # garbage inside the frames
        damaged[offset] ^= 0x5A
    (folder / "damaged.mp4").write_bytes(bytes(damaged))
    result = build_video_dataset(folder, tmp_path / "out", VideoDatasetOptions(write_preview=False))
    assert [c.source.name for c in result.clips] == ["whole.mp4"]
    reasons = {s.path.name: s.reason for s in result.skipped}
    assert "bad clip" in reasons["truncated.mp4"] and "frames missing" in reasons["truncated.mp4"]
    assert "bad clip" in reasons["damaged.mp4"] and "decode errors" in reasons["damaged.mp4"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mp4")) == ["1.mp4"]
