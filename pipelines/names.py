"""Names and short texts users give the studio: dataset names (they become
folder names), prefixes, trigger words, captions.

The limits live here once, as annotated types whose length limit and pattern
show in the OpenAPI schema (pydantic), and as plain checks for the tab and the
command line.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

from pipelines.errors import BadInput

NAME_MAX = 64
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"  # one line of text: no NUL, newline or other control character
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
CAPTION_MAX = 2000
LINE_MAX = 500
PATH_MAX = 4096

DatasetName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=NAME_MAX,
        pattern=NAME_PATTERN,
        description="1-64 letters, digits, '_', '-' or '.', starting with a letter "
        "or digit (it becomes a folder name)",
        examples=["wan_dance_v1"],
    ),
]


def line(max_length: int = LINE_MAX, description: str = "", **extra: Any) -> Any:
    """A pydantic Field for one line of user text: at most ``max_length`` characters, no control characters."""
    return Field(max_length=max_length, pattern=NO_CONTROL, description=description, **extra)


Caption = Annotated[
    str,
    Field(
        max_length=CAPTION_MAX,
        pattern=NO_CONTROL,
        description=f"one line, at most {CAPTION_MAX} characters",
    ),
]
ShortText = Annotated[str, Field(max_length=LINE_MAX, pattern=NO_CONTROL)]
ServerPathText = Annotated[str, Field(max_length=PATH_MAX, pattern=NO_CONTROL)]


class DatasetNameError(BadInput):
    pass


class TextError(BadInput):
    pass


def validate_dataset_name(name: str) -> str:
    """The name, stripped, if it is safe as a folder name; else :class:`DatasetNameError`.

    Allowed: 1-64 characters, letters, digits, ``_ - .``, starting with a letter or digit.
    """
    name = (name or "").strip() if isinstance(name, str) else ""
    if not _NAME_RE.match(name) or ".." in name:
        shown = name if len(name) <= 80 else name[:80] + "…"
        raise DatasetNameError(
            f"dataset name {shown!r} is not allowed: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (for example 'wan_dance_v1')"
        )
    return name


def check_text(value: str, what: str, max_length: int = LINE_MAX) -> str:
    """``value`` if it is one line of at most ``max_length`` characters; else :class:`TextError`."""
    if not isinstance(value, str):
        raise TextError(f"{what} must be text")
    if len(value) > max_length:
        raise TextError(f"{what} is {len(value)} characters long; the limit is {max_length}")
    if _CONTROL_RE.search(value):
        raise TextError(
            f"{what} holds a control character (a NUL, tab or line break); write it on one line"
        )
    return value


FILE_NAME_MAX = 255


class FileNameError(BadInput):
    pass


def file_name(raw: str | None) -> str:
    """The name of an uploaded file, the one rule for every upload: the last part of what the
    client sent (folders, ``/`` or ``\\``, are dropped); empty, ``.``, ``..``, control
    characters and names over 255 characters are refused (422)."""
    name = re.split(r"[/\\]", raw or "")[-1].strip()
    if not name or name in (".", "..") or _CONTROL_RE.search(name):
        raise FileNameError(
            f"The uploaded file name {raw!r} is not usable (empty, '.', '..' or a control "
            "character); send the file under its own name, e.g. clip.mp4."
        )
    if len(name) > FILE_NAME_MAX:
        raise FileNameError(
            f"The uploaded file name is {len(name)} characters long; rename the file to at "
            f"most {FILE_NAME_MAX} characters."
        )
    return name
