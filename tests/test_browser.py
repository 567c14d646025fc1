"""The studio in a real browser (Playwright + Debian's Chromium): every tab
(and sub-tab) opens, and the worker diagnostics job runs from the Jobs tab."""

from __future__ import annotations

from tests.conftest import ARTIFACTS


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
    page.wait_for_timeout(2500)  # one more tick: the jobs table and the worker chart refresh
    assert "system.diagnostics" in page.locator("#jobs-table").inner_text()
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
