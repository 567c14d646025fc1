"""The studio in a real browser (Playwright + Debian's Chromium): every tab
(and sub-tab) opens with readable table headers, and the worker diagnostics job runs from the Jobs tab; every
tool's first example fills its inputs in one click (and leaves the README's
screenshot of the tool in docs/screenshots/)."""

from __future__ import annotations

import io
from pathlib import Path

from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, settled, table_layout_problems


def visit_every_tab(page) -> list[str]:
    """Click every tab, including tabs nested in tabs; returns their names."""
    visited: list[str] = []
    while True:
        tabs = page.get_by_role("tab")
        names = [
            tabs.nth(i).inner_text().strip()
            for i in range(tabs.count())
            if tabs.nth(i).is_visible()
        ]
        todo = [n for n in names if n not in visited]
        if not todo:
            return visited
        name = todo[0]
        tab = page.get_by_role("tab", name=name, exact=True).first
        tab.click()
        page.wait_for_timeout(300)
        assert tab.get_attribute("aria-selected") == "true", name
        # every table shown names its columns readably and fits its box (no sideways scroll)
        assert not table_layout_problems(page), name
        page.screenshot(path=str(ARTIFACTS / f"tab-{name.split()[0].lower()}.png"))
        visited.append(name)


def test_every_tab_opens_and_diagnostics_runs_from_the_jobs_tab(studio_server, page):
    base, _, _ = studio_server
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(base + "/")
    page.get_by_role("tab").first.wait_for(timeout=30_000)
    assert "Jobs / Monitor" in visit_every_tab(page)

    page.get_by_role("tab", name="Jobs / Monitor").click()
    page.get_by_role("tab", name="Jobs", exact=True).click()
    page.locator("#run-diagnostics").click()
    status = page.locator("#jobs-job-status .job-status[data-status='succeeded']")
    status.wait_for(timeout=60_000)
    assert "system.diagnostics" in page.locator("#jobs-job-status").inner_text()
    page.get_by_text("alive").first.wait_for(timeout=10_000)
    # the next tick of the jobs table lists the job
    expect(page.locator("#jobs-table")).to_contain_text("system.diagnostics", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "jobs-diagnostics.png"), full_page=True)


def test_a_reload_shows_the_panels_last_job_again(studio_server, page):
    base, _, _ = studio_server
    page.goto(base + "/")
    page.get_by_role("tab", name="Jobs / Monitor").click()
    page.locator("#run-diagnostics").click()
    job_id = page.locator("#jobs-job-id textarea, #jobs-job-id input").first
    page.wait_for_function("el => el.value.length > 0", arg=job_id.element_handle(), timeout=30_000)
    submitted = job_id.input_value()
    # The browser keeps the id in localStorage (encrypted by Gradio's BrowserState) a moment later.
    page.wait_for_function(
        "() => Object.keys(localStorage).includes('studio-jobs-last-job')", timeout=30_000
    )
    page.reload()
    page.get_by_role("tab", name="Jobs / Monitor").click()
    page.wait_for_function(
        "([el, v]) => el.value === v",
        arg=[
            page.locator("#jobs-job-id textarea, #jobs-job-id input").first.element_handle(),
            submitted,
        ],
        timeout=30_000,
    )
    page.locator("#jobs-job-status .job-status[data-status='succeeded']").wait_for(timeout=60_000)


# -- examples on every tab, the Jobs tab's first view, the README's screenshots -----

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
SCREEN = {"width": 1280, "height": 800}


def save_screenshot(page, tool: str) -> None:
    """The viewport as ``docs/screenshots/<tool>.png`` (the README shows them): 1280×800,
    256 colours, optimised."""
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    shot.quantize(colors=256).save(SCREENSHOTS / f"{tool}.png", optimize=True)


def open_tab(page, *names: str) -> None:
    for name in names:
        tab = page.get_by_role("tab", name=name, exact=True).first
        tab.click()
        page.wait_for_function(
            "el => el.getAttribute('aria-selected') === 'true'", arg=tab.element_handle()
        )
    settled(page)


def click_first_example(page, elem_id: str) -> None:
    examples = page.locator(f"#{elem_id}")
    examples.scroll_into_view_if_needed()
    examples.locator("tbody tr, button.gallery-item").first.click()


def file_rows(page, elem_id: str, *names: str) -> None:
    for name in names:
        page.locator(f"#{elem_id} td.filename[aria-label='{name}']").wait_for(timeout=30_000)


def value_of(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first.input_value()


def test_every_tool_tab_fills_its_inputs_from_its_first_example(studio_server, page):
    base, _, _ = studio_server
    page.set_viewport_size(SCREEN)
    page.goto(base + "/")
    page.get_by_role("tab").first.wait_for(timeout=30_000)

    open_tab(page, "Dataset builder", "Photos")
    click_first_example(page, "photos-examples")
    file_rows(
        page,
        "photos-upload",
        "astronaut.jpg",
        "astronaut_again.jpg",
        "astronaut_blurry.jpg",
        "coffee.jpg",
        "chelsea.jpg",
    )
    assert value_of(page, "photos-name") == "example_photos"
    save_screenshot(page, "photo_dataset")

    open_tab(page, "Videos")
    click_first_example(page, "videos-examples")
    file_rows(page, "videos-files", "person_walking.mp4", "coffee_pan.mp4")
    assert value_of(page, "videos-name") == "example_clips"
    save_screenshot(page, "video_dataset")

    open_tab(page, "Frame review", "Upload & analyse")
    click_first_example(page, "frames-examples")
    file_rows(page, "frames-files", "app_launch.mp4")
    save_screenshot(page, "frames")

    open_tab(page, "Video edit")
    click_first_example(page, "video-edit-examples")
    page.locator("#video-edit-upload video").wait_for(timeout=30_000)  # the clip's preview
    assert value_of(page, "video-edit-mask-prompt") == "person"
    assert value_of(page, "video-edit-edit-prompt") == "make it look like a bronze statue"
    save_screenshot(page, "video_edit")

    open_tab(page, "Dance generation", "Assets")
    click_first_example(page, "dance-examples")
    file_rows(page, "dance-ref-file", "dance_reference.png")
    file_rows(page, "dance-motion-file", "person_walking.mp4")
    assert value_of(page, "dance-new-project-name") == "dance example"
    assert value_of(page, "dance-ref-name") == "astronaut"
    save_screenshot(page, "dance")

    # The Jobs tab's first view: the worker line and its charts come from the page's
    # load event. From here on every event's request is held, unanswered (the tab's
    # timer, paused until now, would fill them at its first tick), so what shows
    # came with the page.
    held: list = []

    def hold(route) -> None:
        held.append(route)

    page.route("**/gradio_api/run/**", hold)
    page.route("**/gradio_api/queue/join**", hold)
    page.get_by_role("tab", name="Jobs / Monitor", exact=True).click()
    worker = page.locator("#worker-status")
    worker.wait_for(timeout=30_000)
    first = worker.inner_text()
    assert "heartbeat" in first and "alive" in first, first
    for chart in ("worker-cpu", "worker-memory", "worker-gpu"):  # charts, not empty frames
        page.locator(f"#{chart} .vega-embed").wait_for(timeout=30_000)
    settled(page)
    save_screenshot(page, "jobs")
    page.unroute_all(behavior="ignoreErrors")
