"""Issue 19.8: one prober (``pipelines.video_probe.open_video``) opens videos for every
tool and accepts only an allow-list of containers. An HLS playlist (``.m3u8``) or a
concat list that points at another file is refused before it opens that file: by the
prober itself, by each tool's reader, by the ffmpeg conversion, and at the video edit and
video dataset upload routes with a 4xx that says why."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from pipelines.video_probe import ContainerRefused, VideoProbeError, open_video, probe
from tests.security.conftest import as_


@pytest.fixture(scope="module")
def lists(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("playlists")
    secret = folder / "secret.mp4"  # the file a playlist would make the worker read
    with av.open(str(secret), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), k * 20, np.uint8), "rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    hls = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.0,\n{}\n#EXT-X-ENDLIST\n"
    (folder / "list.m3u8").write_text(hls.format(secret))
    (folder / "disguised.mp4").write_text(hls.format(secret))  # a playlist named like a video
    (folder / "concat.ffconcat").write_text(f"ffconcat version 1.0\nfile '{secret}'\n")
    return {p.stem: p for p in folder.iterdir()}


def test_the_prober_refuses_playlists_and_lists_and_opens_videos(lists):
    assert "mp4" in probe(lists["secret"]).container
    for name in ("list", "concat"):
        with pytest.raises(ContainerRefused, match="Playlists"):
            probe(lists[name])
        with pytest.raises(ContainerRefused):
            open_video(lists[name])
    with pytest.raises(VideoProbeError):  # FFmpeg's HLS demuxer wants the .m3u8 name
        probe(lists["disguised"])


def test_every_tools_reader_refuses_a_playlist(lists):
    from pipelines.dance.video import VideoError as DanceVideoError
    from pipelines.dance.video import probe_video as dance_probe
    from pipelines.frames.video import FrameReviewError
    from pipelines.frames.video import probe as frames_probe
    from pipelines.video_dataset.convert import ConvertError, convert_clip
    from pipelines.video_dataset.probe import probe_video as dataset_probe
    from pipelines.video_edit.video_io import VideoError as EditVideoError
    from pipelines.video_edit.video_io import probe as edit_probe

    playlist = lists["list"]
    for read, error in [
        (frames_probe, FrameReviewError),
        (dance_probe, DanceVideoError),
        (edit_probe, EditVideoError),
        (dataset_probe, VideoProbeError),
    ]:
        with pytest.raises(error, match="Playlists"):
            read(playlist)
    with pytest.raises(ConvertError):  # the ffmpeg binary gets the same allow-list
        convert_clip(playlist, playlist.with_name("out.mp4"))
    assert not playlist.with_name("out.mp4").exists()


def test_video_edit_and_video_dataset_uploads_refuse_a_playlist(secured, lists):
    data = lists["list"].read_bytes()
    edit = secured.post(
        "/api/v1/video/edit",
        files={"file": ("list.m3u8", data, "application/vnd.apple.mpegurl")},
        data={"mask_prompt": "the cup", "edit_prompt": "make it red"},
        headers=as_("alice"),
    )
    assert edit.status_code == 422, edit.text
    assert "Playlists" in edit.json()["detail"]
    dataset = secured.post(
        "/api/v1/preprocessing/upload",
        files=[("files", ("list.m3u8", data, "application/vnd.apple.mpegurl"))],
        data={"dataset_name": "hls"},
        headers=as_("alice"),
    )
    assert dataset.status_code == 422, dataset.text
    assert "Playlists" in dataset.json()["detail"]
    check = secured.get("/api/v1/preprocessing/check/hls", headers=as_("alice")).json()
    assert check["exists"] is False  # nothing was reserved
