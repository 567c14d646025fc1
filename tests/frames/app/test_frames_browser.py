"""The Frame review tab in a real browser on ``python app.py``: upload a
recording from the tab, review it with the keyboard (←/→, Shift+→, F, L), jump
to a candidate from the gallery, correct a mark; the history shows every entry
with its method, and the REST API agrees."""

from __future__ import annotations

import time

import httpx

from tests.conftest import ARTIFACTS


def _wait_completed(base: str, filename: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for v in httpx.get(f"{base}/api/v1/video/list", params={"limit": 100}).json():
            if v["filename"] == filename and v["status"] in ("completed", "failed"):
                assert v["status"] == "completed", v["error_message"]
                return v
        time.sleep(0.5)
    raise AssertionError(f"{filename} was not analysed in {timeout} s")


def _marks_show(page, text: str) -> None:
    page.wait_for_function("t => document.querySelector('#frames-marks').innerText.includes(t)", arg=text,
                           timeout=20_000)


def _method(candidates: list[dict], frame: int) -> str:
    return "hybrid" if any(abs(c["frame_number"] - frame) <= 3 for c in candidates) else "manual"


def test_review_with_the_keyboard_and_the_history(studio_server, page, recordings):
    base, _, _ = studio_server
    ARTIFACTS.mkdir(exist_ok=True)
    truth = recordings["good"]
    page.goto(base + "/")
    page.locator("#tab-frames-button").click()
    page.locator("#tab-frames-upload-button").click()
    page.locator("#frames-files input[type=file]").set_input_files(truth.path)
    page.wait_for_timeout(1000)  # the upload finishes before the click is handled
    page.locator("#frames-analyse").click()
    page.locator("#frames-upload-message").get_by_text("Queued 1 analysis job").wait_for(timeout=30_000)
    video = _wait_completed(base, "login.mp4")
    vid = video["video_id"]
    page.locator("#frames-job-status .job-status[data-status='succeeded']").wait_for(timeout=30_000)
    review = httpx.get(f"{base}/api/v1/review/{vid}").json()
    first = review["marked_first_frame"]["frame_number"]

    page.locator("#tab-frames-review-button").click()
    page.locator("#frames-review-id input, #frames-review-id textarea").first.fill(vid)
    _marks_show(page, f"Frame {first} ")
    page.locator("#frames-frame img").wait_for(timeout=20_000)
    page.evaluate("document.activeElement && document.activeElement.blur()")

    # → one frame, F marks the first frame (next to the detector's candidate: hybrid).
    page.keyboard.press("ArrowRight")
    _marks_show(page, f"Frame {first + 1} ")
    page.keyboard.press("f")
    _marks_show(page, f"First: {first + 1} (")

    # Jump to the best last-frame candidate from the gallery, L marks it; Shift+→ moves ten frames, L corrects it.
    page.locator("#frames-last-candidates .thumbnail-item").first.click()
    last = review["last_candidates"][0]["frame_number"]
    _marks_show(page, f"Frame {last} ")
    page.keyboard.press("l")
    _marks_show(page, f"Last: {last} (")
    page.keyboard.press("Shift+ArrowLeft")
    _marks_show(page, f"Frame {last - 10} ")
    page.keyboard.press("l")
    _marks_show(page, f"Last: {last - 10} (")

    # Typing in the notes field does not trigger shortcuts.
    page.locator("#frames-notes textarea").fill("fl")
    page.locator("#frames-notes textarea").press("l")
    page.wait_for_timeout(500)
    history = httpx.get(f"{base}/api/v1/review/{vid}/history").json()
    expected = [("first", "algorithm"), ("last", "algorithm"), ("first", "hybrid"),
                ("last", _method(review["last_candidates"], last)),
                ("last", _method(review["last_candidates"], last - 10))]
    assert [(h["which"], h["method"]) for h in history] == expected
    assert [h["user"] for h in history[2:]] == ["anonymous"] * 3
    assert history[-1]["from_frame"] == last and history[-1]["to_frame"] == last - 10

    # The history table on the page shows all five entries with their methods.
    page.wait_for_function("n => (document.querySelector('#frames-history').innerText.match(/anonymous/g) || [])"
                           ".length >= n", arg=3, timeout=10_000)
    text = page.locator("#frames-history").inner_text()
    assert text.count("algorithm") >= 4  # two rows: user and method columns
    assert text.count("hybrid") >= [m for _, m in expected].count("hybrid") and expected[-1][1] in text
    status = httpx.get(f"{base}/api/v1/video/{vid}/status").json()
    latency = (truth.times[last - 10] - truth.times[first + 1]) * 1000
    assert abs(status["latency_ms"] - latency) < 0.01
    assert f"{latency:.1f} ms" in page.locator("#frames-marks").inner_text()

    # An exclusion region drawn with two clicks on the frame (over the status bar).
    page.get_by_text("Exclusion regions (status-bar clock, spinners)").click()
    frame = page.locator("#frames-frame img")
    box = frame.bounding_box()
    frame.click(position={"x": 2, "y": 2})
    page.wait_for_timeout(500)
    frame.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.05})
    page.wait_for_function("() => /\\d\\.\\d{3},\\d\\.\\d{3},0\\.[45]\\d{2},0\\.0[3-6]\\d/.test("
                           "document.querySelector('#frames-exclusions textarea').value)", timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "frames-review.png"), full_page=True)
