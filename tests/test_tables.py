"""Every table in the studio gives its column widths, in the units Gradio's Dataframe reads:
"120px", 120 or "10%". Anything else is read as a bare number of pixels ("9em" → 9 px),
which drew the Frame review's "Your recordings" table as a strip of 9-px columns with no
readable header; without widths a table grows with its longest cell (the Jobs table with
a long error: 2,016 px in a 1,216 px box, the models table 3,135 px), so what a user looks
for scrolls away sideways. The browser tests check the tables as drawn
(``tests.conftest.table_layout_problems``)."""

from __future__ import annotations

import re

WIDTH = re.compile(r"\d+(\.\d+)?(px|%)")


def test_every_table_gives_its_column_widths_in_pixels_or_percentages(studio_home):
    from studio.server import build_ui

    config = build_ui().config
    tables = [c for c in config["components"] if c["type"] == "dataframe"]
    assert len(tables) >= 10, len(tables)  # every tool's tables are in the page
    for table in tables:
        widths = table["props"].get("column_widths") or []
        name = table["props"].get("elem_id") or table["props"].get("label")
        assert widths, (name, "no column_widths: the table grows with its longest cell")
        bad = [w for w in widths if not (isinstance(w, int) or WIDTH.fullmatch(str(w)))]
        assert not bad, (name, bad)
        headers = table["props"]["value"]["headers"]
        assert len(widths) == len(headers), (name, widths, headers)
        percent = [float(str(w)[:-1]) for w in widths if str(w).endswith("%")]
        assert sum(percent) <= 100.5, (name, sum(percent))
