"""The Dance generation tab in a real browser (Playwright + Debian's Chromium)
against ``python app.py`` with its worker and a stand-in SteadyDancer: create a
project, upload a reference and a motion, create an experiment, see the pose
preview, run two seeds, play a result and compare both side by side."""

from __future__ import annotations

import shutil
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, run_studio, settled
from tests.dance.app.conftest import STANDIN

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dance_server(tmp_path_factory, dance_media):
    """``python app.py`` with STEADYDANCER_DIR set to the stand-in."""
    base_dir = tmp_path_factory.mktemp("dance-server")
    standin = base_dir / "SteadyDancer"
    standin.mkdir()
    (standin / "generate_dancer.py").write_text(STANDIN)
    root = base_dir / "shared"
    root.mkdir()
    media = base_dir / "media"
    media.mkdir()
    shutil.copyfile(dance_media["ref"], media / "astronaut.png")
    shutil.copyfile(dance_media["clip"].path, media / "dance.mp4")
    settings = {"STEADYDANCER_DIR": str(standin), "STUDIO_ALLOWED_ROOTS": str(root)}
    with run_studio(base_dir, **settings) as (url, home, _):
        yield url, home, media


def _fill(page, elem_id: str, text: str) -> None:
    settled(page)
    field = page.locator(f"#{elem_id} textarea, #{elem_id} input").first
    field.fill(text)
    field.press("Tab")  # leave the field, so Gradio has the value before the next click


def _choose(page, elem_id: str, option: str) -> None:
    settled(page)
    page.locator(f"#{elem_id} input").first.click()
    page.get_by_role("option", name=option).first.click()


def test_project_to_compare_grid(dance_server, page):
    url, home, media = dance_server
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(url + "/")
    page.locator("#tab-dance-button").click()

    page.locator("#dance-models").get_by_text("steadydancer").wait_for(
        timeout=15_000
    )  # the tab has loaded
    _fill(page, "dance-new-project-name", "Browser dance")
    page.locator("#dance-create-project").click()
    page.locator("#dance-project input").first.wait_for()
    page.wait_for_function(
        "document.querySelector('#dance-project input').value === 'Browser dance'", timeout=30_000
    )

    page.locator("#dance-ref-file input[type=file]").set_input_files(str(media / "astronaut.png"))
    page.locator("#dance-ref-file td.filename[aria-label='astronaut.png']").wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    _fill(page, "dance-ref-name", "astronaut")
    page.locator("#dance-add-ref").click()
    page.locator("#dance-asset-msg").get_by_text("Added reference").wait_for(timeout=30_000)
    page.locator("#dance-motion-file input[type=file]").set_input_files(str(media / "dance.mp4"))
    page.locator("#dance-motion-file td.filename[aria-label='dance.mp4']").wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    _fill(page, "dance-motion-name", "slide")
    page.locator("#dance-add-motion").click()
    page.locator("#dance-asset-msg").get_by_text("Added motion").wait_for(timeout=30_000)
    assert page.locator("#dance-refs img").count() >= 1

    page.locator("#dance-experiments-button").click()
    _fill(page, "dance-exp-name", "astronaut slide")
    page.get_by_text("Config (seed 004's defaults)").click()
    _fill(page, "dance-cfg-frame-num", "9")
    size = page.locator("#dance-cfg-size input").first
    size.fill("256*256")
    size.press("Enter")
    settled(page)
    # what the form shows is what the click sends (issue 13: frame_num went back to 81)
    expect(page.locator("#dance-exp-name input, #dance-exp-name textarea").first).to_have_value(
        "astronaut slide"
    )
    expect(page.locator("#dance-cfg-frame-num input").first).to_have_value("9")
    expect(size).to_have_value("256*256")
    page.locator("#dance-create-experiment").click()
    page.locator("#dance-exp-msg").get_by_text("created").wait_for(timeout=30_000)
    page.locator("#dance-job-status .job-status[data-status='succeeded']").wait_for(timeout=90_000)
    assert "dance.preprocess" in page.locator("#dance-job-status").inner_text()
    page.locator("#dance-exp-refresh").click()
    page.locator("#dance-exp-status").get_by_text("SUCCESS").wait_for(timeout=15_000)
    page.locator("#dance-preview video").wait_for(timeout=15_000)
    assert "9 pose frames, 256×256" in page.locator("#dance-exp-status").inner_text()

    page.locator("#dance-jobs-button").click()
    _fill(page, "dance-seeds", "1, 2")
    page.locator("#dance-run").click()
    page.locator("#dance-run-msg").get_by_text("Queued 2 job(s)").wait_for(timeout=30_000)
    page.locator("#dance-job-status .job-status[data-status='succeeded']").wait_for(timeout=90_000)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page.locator("#dance-jobs-refresh").click()
        page.wait_for_timeout(1000)
        if page.locator("#dance-job-table").inner_text().count("SUCCESS") == 2:
            break
    assert page.locator("#dance-job-table").inner_text().count("SUCCESS") == 2
    _choose(page, "dance-job-pick", "astronaut slide · seed 1")
    page.locator("#dance-player video").wait_for(timeout=15_000)
    page.locator("#dance-download td.filename[aria-label='result.mp4']").wait_for(timeout=15_000)

    page.locator("#dance-compare-tab-button").click()
    _choose(page, "dance-compare-pick", "astronaut slide · seed 1")
    _choose(page, "dance-compare-pick", "astronaut slide · seed 2")
    page.locator("#dance-compare").click()
    videos = page.locator("#dance-grid video.dance-sync")
    videos.nth(1).wait_for(timeout=15_000)
    assert videos.count() == 2
    statuses = page.evaluate("""async () => Promise.all(Array.from(document.querySelectorAll(
        '#dance-grid video.dance-sync')).map(v => fetch(v.src).then(r => r.status)))""")
    assert all(status in (200, 206) for status in statuses) and len(statuses) == 2
    # the players are synchronised: seeking one moves the other
    page.wait_for_function(
        """Array.from(document.querySelectorAll('#dance-grid video.dance-sync'))
        .every(v => v.readyState >= 1)""",
        timeout=15_000,
    )
    page.evaluate("document.querySelectorAll('#dance-grid video.dance-sync')[0].currentTime = 0.3")
    page.wait_for_function(
        """Math.abs(document.querySelectorAll('#dance-grid video.dance-sync')[1].currentTime
        - 0.3) < 0.11""",
        timeout=10_000,
    )
    page.locator("#dance-grid button[data-dance='play']").click()
    page.wait_for_function(
        """Array.from(document.querySelectorAll('#dance-grid video.dance-sync'))
        .every(v => !v.paused)""",
        timeout=10_000,
    )
    page.locator("#dance-grid button[data-dance='pause']").click()
    page.screenshot(path=str(ARTIFACTS / "dance.png"), full_page=True)
    assert (home / "projects").is_dir()
