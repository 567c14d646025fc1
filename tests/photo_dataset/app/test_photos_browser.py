"""Dataset builder → Photos in a real browser: upload a ZIP, build, review the cluster
gallery (flip a photo), edit a caption in the grid, save & repackage."""

from __future__ import annotations

import httpx

from tests.conftest import ARTIFACTS


def field(page, elem_id: str):
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def test_build_review_edit_and_repackage_in_the_browser(studio_server, page, small_zip):
    base, _, _ = studio_server
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(base + "/")
    page.get_by_role("tab", name="Dataset builder").click()
    page.get_by_role("tab", name="Photos", exact=True).click()

    page.locator("#photos-upload input[type=file]").set_input_files(str(small_zip))
    page.locator("#photos-upload").get_by_text("small.zip").first.wait_for(timeout=30_000)
    field(page, "photos-name").fill("browser-set")
    field(page, "photos-trigger").fill("ohwx")
    page.get_by_role("button", name="Quality filter").click()
    min_side = page.get_by_label("min shorter side (px)")
    min_side.fill("256")
    min_side.press("Tab")
    page.locator("#photos-build").click()

    try:
        page.locator("#photos-job-status .job-status[data-status='succeeded']").wait_for(timeout=30_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "dataset-photos-failure.png"), full_page=True)
        raise
    page.locator("#photos-summary").get_by_text("2 kept, 1 dropped").wait_for(timeout=30_000)
    thumbs = page.locator("#photos-clusters button img, #photos-clusters img")
    thumbs.first.wait_for(timeout=15_000)
    assert thumbs.count() >= 2  # the astronaut's cluster: the kept photo and its dropped copy

    # flip the dropped copy (the cluster's second photo) back to kept
    thumbs.nth(1).click()
    page.wait_for_function("el => el.value.includes('astronaut')",
                           arg=field(page, "photos-selected").element_handle(), timeout=15_000)
    flipped = field(page, "photos-selected").input_value()
    page.locator("#photos-toggle").click()
    page.locator("#photos-summary").get_by_text("1 keep/drop flips").wait_for(timeout=15_000)

    # edit the first caption in the grid
    page.get_by_role("tab", name="Captions").click()
    cell = page.locator("#photos-captions [data-testid='cell-0-2']")
    source = page.locator("#photos-captions [data-testid='cell-0-1']").inner_text().strip()
    cell.dblclick()
    editor = page.locator("#photos-captions [data-testid='cell-0-2'] textarea, "
                          "#photos-captions [data-testid='cell-0-2'] input").first
    editor.wait_for(timeout=10_000)
    editor.fill("ohwx, an astronaut holding a helmet")
    editor.press("Enter")
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "dataset-photos-review.png"), full_page=True)

    page.locator("#photos-save").click()
    page.locator("#photos-job-status").get_by_text("photo_dataset.repackage").wait_for(timeout=30_000)
    page.locator("#photos-job-status .job-status[data-status='succeeded']").wait_for(timeout=90_000)
    page.locator("#photos-summary").get_by_text("3 kept, 0 dropped").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Clusters").click()
    page.screenshot(path=str(ARTIFACTS / "dataset-photos.png"), full_page=True)

    manifest = httpx.get(f"{base}/api/v1/datasets/browser-set/manifest", timeout=10).json()
    by_name = {f["name"]: f for f in manifest["files"]}
    assert by_name[flipped]["status"] == "kept"
    assert by_name[source]["caption"] == "ohwx, an astronaut holding a helmet"
    assert httpx.get(f"{base}/api/v1/datasets/browser-set/download", timeout=10).status_code == 200
