"""Dataset builder → Photos in a real browser: upload a ZIP, build, review the cluster
gallery (flip a photo), edit a caption in the grid, save & repackage."""

from __future__ import annotations

import httpx

from tests.conftest import ARTIFACTS, settled, upload_files


def field(page, elem_id: str):
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def test_build_review_edit_and_repackage_in_the_browser(studio_server, page, small_zip):
    base, _, _ = studio_server
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(base + "/")
    page.get_by_role("tab", name="Dataset builder").click()
    page.get_by_role("tab", name="Photos", exact=True).click()

    upload_files(page, "photos-upload", small_zip)
    field(page, "photos-name").fill("browser-set")
    page.get_by_role("button", name="Captions").click()
    settled(page)  # Gradio resets a just-opened accordion's fields once rendered
    field(page, "photos-trigger").fill("ohwx")
    page.get_by_role("button", name="Quality filter").click()
    settled(page)  # Gradio resets a just-opened accordion's fields once rendered
    min_side = page.get_by_label("min shorter side (px)")
    min_side.fill("256")
    min_side.press("Tab")
    page.locator("#photos-build").click()

    try:
        page.locator("#photos-job-status .job-status[data-status='succeeded']").wait_for(
            timeout=30_000
        )
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "dataset-photos-failure.png"), full_page=True)
        raise
    page.locator("#photos-summary").get_by_text("2 kept, 1 dropped").wait_for(timeout=30_000)
    page.locator("#photos-kept img").first.wait_for(timeout=15_000)  # kept photos as thumbnails
    assert page.locator("#photos-kept img").count() == 2
    page.get_by_role("tab", name="Groups").click()
    thumbs = page.locator("#photos-clusters button img, #photos-clusters img")
    thumbs.first.wait_for(timeout=15_000)
    assert thumbs.count() >= 2  # the astronaut's cluster: the kept photo and its dropped copy

    # flip the dropped copy (the cluster's second photo) back to kept
    thumbs.nth(1).click()
    page.wait_for_function(
        "el => el.value.includes('astronaut')",
        arg=field(page, "photos-selected").element_handle(),
        timeout=15_000,
    )
    flipped = field(page, "photos-selected").input_value()
    page.locator("#photos-toggle").click()
    page.locator("#photos-summary").get_by_text("1 keep/drop flips").wait_for(timeout=15_000)

    # edit the first caption in the grid
    page.get_by_role("tab", name="Captions").click()
    cell = page.locator("#photos-captions [data-testid='cell-0-2']")
    source = page.locator("#photos-captions [data-testid='cell-0-1']").inner_text().strip()
    cell.dblclick()
    editor = page.locator(
        "#photos-captions [data-testid='cell-0-2'] textarea, "
        "#photos-captions [data-testid='cell-0-2'] input"
    ).first
    editor.wait_for(timeout=10_000)
    editor.fill("ohwx, an astronaut holding a helmet")
    editor.press("Enter")
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "dataset-photos-review.png"), full_page=True)

    page.locator("#photos-save").click()
    page.locator("#photos-job-status").get_by_text("photo_dataset.repackage").wait_for(
        timeout=30_000
    )
    page.locator("#photos-job-status .job-status[data-status='succeeded']").wait_for(timeout=90_000)
    page.locator("#photos-summary").get_by_text("3 kept, 0 dropped").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Groups").click()
    page.screenshot(path=str(ARTIFACTS / "dataset-photos.png"), full_page=True)

    manifest = httpx.get(f"{base}/api/v1/datasets/browser-set/manifest", timeout=10).json()
    by_name = {f["name"]: f for f in manifest["files"]}
    assert by_name[flipped]["status"] == "kept"
    assert by_name[source]["caption"] == "ohwx, an astronaut holding a helmet"
    assert httpx.get(f"{base}/api/v1/datasets/browser-set/download", timeout=10).status_code == 200


def test_the_minimum_size_warning_before_the_run_and_screenshots(studio_server, page, tmp_path):
    """Most photos under the minimum size: a warning before the run says how many and why, and one
    click lowers the minimum; then both Dataset builder sub-tabs are kept as 1440x900 screenshots."""
    import zipfile

    from tests.photo_dataset.dataset_files import jpeg_bytes, photo

    base, _, _ = studio_server
    ARTIFACTS.mkdir(exist_ok=True)
    small = tmp_path / "small_photos.zip"
    with zipfile.ZipFile(small, "w") as z:
        for i, name in enumerate(("rocket", "coffee", "chelsea")):
            z.writestr(f"p/{name}.jpg", jpeg_bytes(photo(name).resize((400 - 20 * i, 300))))
        z.writestr("p/astronaut.jpg", jpeg_bytes(photo("astronaut")))  # 512x512: kept
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(base + "/")
    page.get_by_role("tab", name="Dataset builder").click()
    page.get_by_role("tab", name="Photos", exact=True).click()
    upload_files(page, "photos-upload", small)
    note = page.locator("#photos-size-check")
    note.get_by_text("3 of 4 photos are smaller than 512 px").wait_for(timeout=30_000)
    assert "Most photos would be left out" in note.inner_text()
    assert "the smallest is 300 px" in note.inner_text()
    lower = page.locator("#photos-lower-min")
    assert lower.is_visible() and "296 px" in lower.inner_text()
    build = page.locator("#photos-build").bounding_box()
    panel = page.locator("#photos-job-status").bounding_box()
    assert (
        build and panel and build["y"] + build["height"] < 900 and panel["y"] < 900
    )  # both in view
    page.screenshot(path=str(ARTIFACTS / "dataset-photos-size-warning-1440x900.png"))

    lower.click()
    note.get_by_text("4 photos, all at least 296 px").wait_for(timeout=15_000)
    assert not lower.is_visible()
    page.get_by_role("button", name="Quality filter").click()
    settled(page)  # Gradio resets a just-opened accordion's fields once rendered
    assert page.get_by_label("min shorter side (px)").input_value() == "296"
    page.screenshot(path=str(ARTIFACTS / "dataset-photos-1440x900.png"))

    page.get_by_role("tab", name="Videos", exact=True).click()
    page.locator("#videos-start").wait_for(timeout=15_000)
    page.screenshot(path=str(ARTIFACTS / "dataset-videos-1440x900.png"))
