"""Names and short texts users give the studio: dataset names (they become
folder names), prefixes, trigger words, captions.

The one text rule lives here: a length limit, and no control characters (one line:
none at all; several lines: tab, line feed and carriage return allowed). It is
written once as two patterns, used by annotated types and Fields whose length
limit and pattern show in the OpenAPI schema (pydantic: :func:`text_rule`,
:func:`text_field`, :func:`line`), and by plain checks for the tabs, the command
line and the records (:func:`check_text`, :func:`has_control`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from pipelines.errors import BadInput

NAME_MAX = 64
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"  # one line of text: no NUL, newline or other control character
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # several lines: tab, LF and CR allowed
NO_CONTROL = ONE_LINE
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_LINES_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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


def text_pattern(multiline: bool = False) -> str:
    """The pattern of the text rule: :data:`MULTI_LINE` or :data:`ONE_LINE`."""
    return MULTI_LINE if multiline else ONE_LINE


def text_field(
    max_length: int = LINE_MAX, description: str = "", *, multiline: bool = False, **extra: Any
) -> Any:
    """A pydantic Field for user text: at most ``max_length`` characters, no control
    characters (``multiline``: tab and line breaks allowed). ``extra``: Field's other
    arguments (``default``, ``min_length``, ``examples`` ...)."""
    return Field(
        max_length=max_length, pattern=text_pattern(multiline), description=description, **extra
    )


def line(max_length: int = LINE_MAX, description: str = "", **extra: Any) -> Any:
    """A pydantic Field for one line of user text (:func:`text_field`)."""
    return text_field(max_length, description, **extra)


def text_rule(
    max_length: int = LINE_MAX,
    *,
    multiline: bool = False,
    strip: bool = False,
    min_length: int | None = None,
) -> StringConstraints:
    """The text rule as the metadata of an annotated type, for fields, list items and dict
    values: ``Annotated[str, text_rule(300, strip=True, min_length=1)]``."""
    return StringConstraints(
        strip_whitespace=strip or None,
        min_length=min_length,
        max_length=max_length,
        pattern=text_pattern(multiline),
    )


Caption = Annotated[
    str, text_field(CAPTION_MAX, description=f"one line, at most {CAPTION_MAX} characters")
]
ShortText = Annotated[str, text_rule(LINE_MAX)]
ServerPathText = Annotated[str, text_rule(PATH_MAX)]


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


def has_control(text: str, *, multiline: bool = False) -> bool:
    """Whether ``text`` breaks the text rule's characters (``multiline``: tab and line breaks allowed)."""
    return bool((_CONTROL_IN_LINES_RE if multiline else _CONTROL_RE).search(text))


def check_text(
    value: str, what: str, max_length: int = LINE_MAX, *, multiline: bool = False
) -> str:
    """``value`` if it keeps the text rule (at most ``max_length`` characters, no control
    characters; one line unless ``multiline``); else :class:`TextError` naming ``what``."""
    if not isinstance(value, str):
        raise TextError(f"{what} must be text")
    if len(value) > max_length:
        raise TextError(f"{what} is {len(value)} characters long; the limit is {max_length}")
    if has_control(value, multiline=multiline):
        raise TextError(
            f"{what} holds a control character (a NUL or other non-printing character)"
            if multiline
            else f"{what} holds a control character (a NUL, tab or line break); write it on one line"
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
    if not name or name in (".", "..") or has_control(name):
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
