"""Dataset builder → Videos in a real browser (Playwright + Debian's Chromium)
against ``python app.py`` with its worker: upload two videos, start, follow the
job, see the preview grid, the clip table and the datasets list."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, upload_files


def test_upload_two_videos_build_and_see_the_preview_and_clips(studio_server, page, clips):
    base, home, _ = studio_server
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(base + "/")
    page.get_by_role("tab", name="Dataset builder").click()
    page.get_by_role("tab", name="Videos").click()

    upload_files(page, "videos-files", clips["fps30"], clips["fps25"])
    page.locator("#videos-name textarea, #videos-name input").first.fill("browser_clips")
    page.locator("#videos-check").click()
    page.locator("#videos-name-status").get_by_text("is free").wait_for(timeout=15_000)
    page.locator("#videos-start").click()

    page.locator("#videos-job-status .job-status[data-status='succeeded']").wait_for(timeout=90_000)
    assert "video_dataset.build" in page.locator("#videos-job-status").inner_text()
    # the preview sits below the examples: scrolled to, as a user does (its <img> loads lazily)
    page.locator("#videos-preview").scroll_into_view_if_needed()
    page.locator("#videos-preview img").wait_for(timeout=30_000)
    clips_table = page.locator("#videos-clips")
    clips_table.get_by_text("2.mp4").first.wait_for(timeout=15_000)
    text = clips_table.inner_text()
    assert "fps30.mp4" in text and "fps25.mov" in text and "A high quality video" in text
    expect(page.locator("#videos-datasets")).to_contain_text("browser_clips", timeout=15_000)
    assert (home / "datasets" / "anonymous" / "browser_clips" / "1.mp4").is_file()
    assert (home / "datasets" / "anonymous" / "browser_clips" / "2.txt").is_file()

    # the name is now taken: the check says so
    page.locator("#videos-check").click()
    page.locator("#videos-name-status").get_by_text("is taken").wait_for(timeout=15_000)
    page.screenshot(path=str(ARTIFACTS / "dataset-videos.png"), full_page=True)
