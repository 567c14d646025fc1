"""The Models view in a real browser: Jobs / Monitor → Models lists every tool's models
with the free disk space; offline (as the suite runs), Fetch says why nothing is
downloaded and what to run instead."""

from __future__ import annotations


def test_the_models_view_lists_the_models_and_explains_an_offline_fetch(studio_server, page):
    base, home, _ = studio_server
    page.goto(base + "/")
    page.get_by_role("tab", name="Jobs / Monitor").click()
    page.get_by_role("tab", name="Models", exact=True).click()
    table = page.locator("#models-table")
    # Gradio's table keeps a hidden copy of its first rows (to size its columns), and rows
    # below its fold are in the page but not shown: the first row as shown, the rest as text
    first_row = table.get_by_text("Wan2.2-Animate-14B (diffusers)").filter(visible=True)
    first_row.first.wait_for(timeout=30_000)
    for title in ("Florence-2 base", "InstructPix2Pix", "SAM3", "CLIPSeg"):
        assert title in (table.text_content() or ""), title
    assert "free" in page.locator("#models-disk").inner_text()
    models = home / "models"

    def files() -> set[str]:  # what the shared studio's earlier tests left there stays
        return {str(p) for p in models.rglob("*")} if models.exists() else set()

    before = files()
    page.locator("#models-fetch").click()  # an open studio: its user is an admin
    page.get_by_text("HF_HUB_OFFLINE=1: the studio fetches nothing").first.wait_for(timeout=15_000)
    assert files() == before  # nothing downloaded
