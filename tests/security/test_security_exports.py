"""Issue 19.5: exports never hold formulas. A task named ``=1+1`` holding a recording named
``=2+2.mp4`` exports its names as text (CSV: quoted, with a leading ``'``; XLSX: string
cells), numbers stay numbers; the scenario runs' metrics.csv uses the same writer."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from pipelines.exports import as_text, csv_writer
from pipelines.frames.synthetic import Timeline, make_recording
from tests.security.conftest import as_


@pytest.fixture(scope="module")
def formula_recording(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formula-recording")
    return make_recording(folder / "clip.mp4", fps=30, timeline=Timeline(tap=0.5, tail=0.5), seed=2)


def _task_with_formula_names(client, recording) -> str:
    with open(recording.path, "rb") as fh:
        up = client.post(
            "/api/v1/video/upload",
            files={"file": ("=2+2.mp4", fh, "video/mp4")},
            headers=as_("alice"),
        )
    assert up.status_code == 200, up.text
    task = client.post("/api/v1/task/create", json={"name": "=1+1"}, headers=as_("alice"))
    assert task.status_code == 201, task.text
    tid = task.json()["id"]
    added = client.post(
        f"/api/v1/task/{tid}/videos",
        json={"video_ids": [up.json()["video_id"]]},
        headers=as_("alice"),
    )
    assert added.json()["added_count"] == 1, added.text
    return tid


def test_xlsx_export_holds_no_formula_and_keeps_the_names_as_text(secured, formula_recording):
    tid = _task_with_formula_names(secured, formula_recording)
    resp = secured.get(
        f"/api/v1/task/{tid}/export", params={"format": "excel"}, headers=as_("alice")
    )
    assert resp.status_code == 200, resp.text
    book = load_workbook(io.BytesIO(resp.content))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    timing = list(book["timing"].values)
    row = dict(zip(timing[0], timing[1], strict=True))
    assert row["task"] == "=1+1" and row["video"] == "=2+2.mp4"  # shown as typed, as text
    assert isinstance(row["order"], int)  # numbers stay numbers


def test_csv_export_quotes_formula_text(secured, formula_recording):
    tid = _task_with_formula_names(secured, formula_recording)
    resp = secured.get(f"/api/v1/task/{tid}/export", params={"format": "csv"}, headers=as_("alice"))
    assert resp.status_code == 200, resp.text
    text = resp.content.decode("utf-8-sig")
    assert '"\'=1+1"' in text and '"\'=2+2.mp4"' in text
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["task"] == "'=1+1" and row["video"] == "'=2+2.mp4"
    for field in text.splitlines()[1].split(","):
        assert not field.lstrip('"').startswith(("=", "+", "-", "@")), field


def test_numbers_stay_numbers_text_never_starts_a_formula():
    assert [as_text(v) for v in (-1.5, 3, None, "-2", "@SUM(A1)", "\t=1", "ok")] == [
        -1.5,
        3,
        None,
        "'-2",
        "'@SUM(A1)",
        "'\t=1",
        "ok",
    ]
    buf = io.StringIO()
    writer = csv_writer(buf, ["name", "value"])
    writer.writeheader()
    writer.writerow({"name": "+cmd|' /C calc'!A0", "value": -3.25})
    assert buf.getvalue().splitlines()[1] == "\"'+cmd|' /C calc'!A0\",-3.25"
