"""Video edit in a real browser (Playwright + Debian's Chromium) against
``python app.py`` and its worker: upload the astronaut clip, Preview mask,
Preview edit, Run; the three players and the downloads fill in."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import ARTIFACTS, settled


def fill_number(page, elem_id: str, value: str) -> None:
    box = page.locator(f"#{elem_id} input").first
    box.fill(value)
    box.press("Tab")


@pytest.mark.slow
def test_preview_mask_preview_edit_and_run(studio_server, page, clips, tiny_ip2p):
    base, home, _ = studio_server
    target = home / "models" / "instruct-pix2pix"
    if not target.exists():
        shutil.copytree(tiny_ip2p, target)
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(base + "/")
    page.get_by_role("tab", name="Video edit").click()
    page.locator("#video-edit-models-box").get_by_text("Models on this machine").click()
    page.locator("#video-edit-models-refresh").click()
    page.locator("#video-edit-models").get_by_text(str(target)).wait_for(
        timeout=15_000
    )  # found, with its folder

    page.locator("#video-edit-upload input[type=file]").set_input_files(str(clips["person"]))
    page.locator("#video-edit-upload video").wait_for(timeout=30_000)
    page.locator("#video-edit-mask-prompt textarea, #video-edit-mask-prompt input").first.fill(
        "person"
    )
    page.locator("#video-edit-edit-prompt textarea, #video-edit-edit-prompt input").first.fill(
        "make the person red"
    )
    page.locator("#video-edit-advanced").get_by_text("Advanced").click()
    settled(page)  # Gradio resets a just-opened accordion's fields once rendered
    fill_number(page, "video-edit-num-inference-steps", "2")
    fill_number(page, "video-edit-working-size", "64")
    fill_number(page, "video-edit-frame-index", "3")

    page.locator("#video-edit-preview-mask").click()
    page.locator("#video_edit-job-status .job-status[data-status='succeeded']").wait_for(
        timeout=90_000
    )
    assert (
        "video_edit.preview_mask" in page.locator("#video_edit-job-status").inner_text()
    )  # CPU lane: MediaPipe
    # the views sit below the fold; their images load lazily, as a person scrolls to them
    page.locator("#video-edit-mask-view").scroll_into_view_if_needed()
    page.locator("#video-edit-mask-view img").wait_for(timeout=30_000)

    page.locator("#video-edit-preview-edit").click()
    page.locator("#video-edit-edit-view img").wait_for(timeout=90_000)
    assert "video_edit.preview" in page.locator("#video_edit-job-status").inner_text()

    page.locator("#video-edit-run").click()
    page.locator("#video-edit-player-output video").wait_for(timeout=120_000)
    status = page.locator("#video_edit-job-status").inner_text()
    assert "video_edit.run" in status and "frame 10/10" in status
    page.locator("#video-edit-player-mask video").wait_for(timeout=15_000)
    page.locator("#video-edit-player-input video").wait_for(timeout=15_000)
    downloads = page.locator(
        "#video-edit-downloads"
    ).inner_text()  # names and extensions shown apart
    assert (
        "_output" in downloads
        and "_mask" in downloads
        and "_log" in downloads
        and "status" in downloads
    )
    page.screenshot(path=str(ARTIFACTS / "video-edit.png"), full_page=True)

    # the same tab without the browser: its named endpoints answer gradio_client
    from gradio_client import Client

    client = Client(base + "/", verbose=False)
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {
        "/video_edit_preview_mask",
        "/video_edit_preview_edit",
        "/video_edit_run",
        "/video_edit_result",
        "/video_edit_models",
        "/video_edit_job_status",
        "/video_edit_job_cancel",
    } <= names
    assert "InstructPix2Pix" in client.predict(api_name="/video_edit_models")
