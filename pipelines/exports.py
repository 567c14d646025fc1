"""Spreadsheet-safe CSV and XLSX writing: the one rule for every file the studio exports.

A spreadsheet reads a text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return) as a formula (OWASP "CSV injection"): a task named ``=1+1`` or a recording
named ``=HYPERLINK(...)`` would run when the export is opened. So text is always written as
text, numbers stay numbers:

- CSV (:func:`csv_writer`): such text gets a leading ``'`` and every text field is quoted;
- XLSX (:func:`append_xlsx_row`): every text cell is a string cell (never a formula cell),
  its text unchanged.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: Any) -> Any:
    """``value`` with text that a spreadsheet would run as a formula prefixed by ``'``;
    numbers, ``None`` and other text unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` / ``csv.DictWriter`` whose rows go through :func:`as_text`, text quoted."""

    def __init__(self, fh: IO[str], fieldnames: Sequence[str] | None = None):
        self._fields = list(fieldnames) if fieldnames is not None else None
        self._writer = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC)

    def writeheader(self) -> None:
        if self._fields is None:
            raise ValueError("writeheader needs fieldnames")
        self.writerow(self._fields)

    def writerow(self, row: Iterable[Any] | Mapping[str, Any]) -> None:
        if isinstance(row, Mapping):
            if self._fields is None:
                raise ValueError("a dict row needs fieldnames")
            values: list[Any] = [row.get(name) for name in self._fields]
        else:
            values = list(row)
        self._writer.writerow(["" if v is None else as_text(v) for v in values])


def csv_writer(fh: IO[str], fieldnames: Sequence[str] | None = None) -> SafeCsvWriter:
    """A CSV writer for an export (list rows, or dict rows with ``fieldnames``)."""
    return SafeCsvWriter(fh, fieldnames)


def append_xlsx_row(sheet: Any, values: Iterable[Any]) -> None:
    """Append ``values`` to an openpyxl sheet; text cells are string cells, never formulas."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
