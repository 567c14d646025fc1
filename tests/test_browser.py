"""The studio in a real browser (Playwright + Debian's Chromium): every tab
opens, and the worker diagnostics job runs from the Jobs tab."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_every_tab_opens_and_diagnostics_runs_from_the_jobs_tab(studio_server, page):
    base, _, _ = studio_server
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(base + "/")
    page.get_by_role("tab").first.wait_for(timeout=30_000)
    tabs = page.get_by_role("tab")
    names = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
    assert "Jobs / Monitor" in names
    for name in names:
        page.get_by_role("tab", name=name).click()
        page.wait_for_timeout(300)
        assert page.get_by_role("tab", name=name).get_attribute("aria-selected") == "true"
        page.screenshot(path=str(ARTIFACTS / f"tab-{name.split()[0].lower()}.png"))

    page.get_by_role("tab", name="Jobs / Monitor").click()
    page.locator("#run-diagnostics").click()
    status = page.locator("#jobs-job-status .job-status[data-status='succeeded']")
    status.wait_for(timeout=60_000)
    assert "system.diagnostics" in page.locator("#jobs-job-status").inner_text()
    page.get_by_text("alive").first.wait_for(timeout=10_000)
    page.wait_for_timeout(2500)  # one more tick: the jobs table and the worker chart refresh
    assert "system.diagnostics" in page.locator("#jobs-table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "jobs-diagnostics.png"), full_page=True)
