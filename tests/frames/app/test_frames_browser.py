"""The Frame review tab in a real browser on ``python app.py`` at 1440×900:
upload a recording from the tab; review it with the keyboard — 20 quick arrow
presses move exactly 20 frames (stepping happens in the browser, frames are
fetched by index), F / L mark, a candidate thumbnail jumps; the review view
fits the window; a half-reviewed recording stays in the queue and Next says
when nothing is left; exclusion regions drawn with two clicks; QR defaults
make a code without touching a field. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import time

import httpx

from tests.conftest import ARTIFACTS, settled, table_layout_problems, upload_files


def _wait_completed(base: str, filename: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for v in httpx.get(f"{base}/api/v1/video/list", params={"limit": 100}).json():
            if v["filename"] == filename and v["status"] in ("completed", "failed"):
                assert v["status"] == "completed", v["error_message"]
                return v
        time.sleep(0.5)
    raise AssertionError(f"{filename} was not analysed in {timeout} s")


def _text_shows(page, selector: str, text: str, timeout: float = 20_000) -> None:
    page.wait_for_function(
        "([s, t]) => (document.querySelector(s) || {innerText: ''}).innerText.includes(t)",
        arg=[selector, text],
        timeout=timeout,
    )


def _frame_shown(page, index: int) -> None:
    """The viewer is at ``index`` and its image is that frame, loaded."""
    page.wait_for_function(
        """i => { const v = document.querySelector('#frames-viewer'), img = document.querySelector('#frames-img');
                 return v && v.dataset.index === String(i) && img.src.includes('/frame/' + i + '?')
                        && img.complete && img.naturalWidth > 0; }""",
        arg=index,
        timeout=20_000,
    )


def _method(candidates: list[dict], frame: int) -> str:
    return "hybrid" if any(abs(c["frame_number"] - frame) <= 3 for c in candidates) else "manual"


def test_review_with_the_keyboard_fits_1440x900_and_the_queue(studio_server, page, recordings):
    base, _, _ = studio_server
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    truth = recordings["good"]
    page.goto(base + "/")
    page.locator("#tab-frames-button").click()
    page.locator("#tab-frames-upload-button").click()
    assert page.locator("#frames-videos th").count() == 10
    assert not table_layout_problems(page, "#frames-videos")  # an empty table shows its columns
    upload_files(page, "frames-files", truth.path)
    page.locator("#frames-analyse").click()
    page.locator("#frames-upload-message").get_by_text("Queued 1 analysis job").wait_for(
        timeout=30_000
    )
    video = _wait_completed(base, "login.mp4")
    vid = video["video_id"]
    page.locator("#frames-job-status .job-status[data-status='succeeded']").wait_for(timeout=30_000)
    _text_shows(page, "#frames-videos", "completed")  # the table refreshed itself while the job ran
    page.screenshot(path=str(ARTIFACTS / "frames-upload-1440.png"))
    review = httpx.get(f"{base}/api/v1/review/{vid}").json()
    first = review["marked_first_frame"]["frame_number"]

    page.locator("#tab-frames-review-button").click()
    settled(page)  # Gradio resets a just-shown tab's fields once rendered
    page.locator("#frames-review-id input, #frames-review-id textarea").first.fill(vid)
    _frame_shown(page, first)
    page.evaluate("document.activeElement && document.activeElement.blur()")

    # 20 quick presses → exactly 20 frames on; the frame shown is that one.
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    _frame_shown(page, first + 20)
    _text_shows(
        page, "#frames-pos", f"Frame {first + 20} at {truth.times[first + 20] * 1000:.1f} ms"
    )

    # The review view fits 1440×900 without scrolling: frame, scrubber, candidates, mark buttons.
    assert page.evaluate("window.scrollY") == 0
    for sel in (
        "#frames-img",
        "#frames-scrub",
        "#frames-first-candidates",
        "#frames-last-candidates",
        "#frames-mark-first",
        "#frames-mark-last",
        "#frames-marks",
    ):
        box = page.locator(sel).bounding_box()
        assert (
            box
            and box["y"] >= 0
            and box["y"] + box["height"] <= 900
            and box["x"] + box["width"] <= 1440
        ), (sel, box)
    page.screenshot(path=str(ARTIFACTS / "frames-review-1440.png"))

    # F marks the first frame; half reviewed, the recording stays in the queue.
    page.keyboard.press("f")
    _text_shows(page, "#frames-marks", f"First: {first + 20} (")
    assert vid in {p["video_id"] for p in httpx.get(f"{base}/api/v1/review/pending").json()}
    _text_shows(page, "#frames-queue-note", "1 recording(s) to review")

    # A last-frame candidate thumbnail jumps there; Shift+→ ten on, L marks; then the queue is empty.
    last = review["last_candidates"][0]["frame_number"]
    page.locator(f"#frames-last-candidates .frames-cand[data-index='{last}']").click()
    _frame_shown(page, last)
    page.keyboard.press("Shift+ArrowRight")
    _frame_shown(page, last + 10)
    page.keyboard.press("l")
    _text_shows(page, "#frames-marks", f"Last: {last + 10} (")
    _text_shows(page, "#frames-queue-note", "Nothing left to review")
    page.keyboard.press("n")
    page.get_by_text("Nothing left to review: every recording").first.wait_for(timeout=10_000)

    # Typing in the notes field does not trigger shortcuts.
    page.locator("#frames-notes textarea").fill("fl")
    page.locator("#frames-notes textarea").press("l")
    page.wait_for_timeout(500)
    history = httpx.get(f"{base}/api/v1/review/{vid}/history").json()
    assert [(h["which"], h["method"]) for h in history] == [
        ("first", "algorithm"),
        ("last", "algorithm"),
        ("first", _method(review["first_candidates"], first + 20)),
        ("last", _method(review["last_candidates"], last + 10)),
    ]
    assert [h["user"] for h in history[2:]] == ["anonymous"] * 2
    status = httpx.get(f"{base}/api/v1/video/{vid}/status").json()
    latency = (truth.times[last + 10] - truth.times[first + 20]) * 1000
    assert abs(status["latency_ms"] - latency) < 0.01 and status["review_status"] == "reviewed"
    assert f"{latency:.1f} ms" in page.locator("#frames-marks").inner_text()

    # An exclusion region drawn with two clicks on the frame (over the status bar).
    page.get_by_text("Exclusion regions (status-bar clock, spinners)").click()
    frame = page.locator("#frames-img")
    box = frame.bounding_box()
    frame.click(position={"x": 2, "y": 2})
    frame.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.05})
    page.wait_for_function(
        "() => /\\d\\.\\d{3},\\d\\.\\d{3},0\\.[45]\\d{2},0\\.0[3-6]\\d/.test("
        "document.querySelector('#frames-exclusions textarea').value)",
        timeout=10_000,
    )
    assert page.locator("#frames-regions .frames-region").count() == 1

    # QR codes: the defaults (automatic version) make a code without touching any field.
    page.locator("#tab-frames-qr-button").click()
    settled(page)
    page.locator("#frames-qr-words textarea, #frames-qr-words input").first.fill(
        "https://example.com"
    )
    page.locator("#frames-qr-make").click()
    page.locator("#frames-qr-result img").wait_for(timeout=30_000)
    assert page.get_by_text("less than minimum").count() == 0
    page.screenshot(path=str(ARTIFACTS / "frames-qr-1440.png"))
    page.locator("#tab-frames-tasks-button").click()
    page.screenshot(path=str(ARTIFACTS / "frames-tasks-1440.png"))
