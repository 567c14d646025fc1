"""Every table in the studio gives its column widths in the units Gradio's Dataframe reads:
"120px", 120 or "10%". Anything else is read as a bare number of pixels ("9em" → 9 px),
which drew the Frame review's "Your recordings" table as a strip of 9-px columns with no
readable header (tests/frames/app/test_frames_browser.py checks the headers as drawn)."""

from __future__ import annotations

import re

WIDTH = re.compile(r"\d+(\.\d+)?(px|%)")


def test_every_tables_column_widths_are_pixels_or_percentages(studio_home):
    from studio.server import build_ui

    config = build_ui().config
    tables = [c for c in config["components"] if c["type"] == "dataframe"]
    assert len(tables) >= 10, len(tables)  # every tool's tables are in the page
    for table in tables:
        widths = table["props"].get("column_widths") or []
        name = table["props"].get("elem_id") or table["props"].get("label")
        bad = [w for w in widths if not (isinstance(w, int) or WIDTH.fullmatch(str(w)))]
        assert not bad, (name, bad)
        headers = table["props"]["value"]["headers"]
        assert not widths or len(widths) == len(headers), (name, widths, headers)
        percent = [float(str(w)[:-1]) for w in widths if str(w).endswith("%")]
        assert sum(percent) <= 100.5, (name, sum(percent))
