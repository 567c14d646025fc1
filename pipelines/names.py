"""Names users give things that become folder names (datasets)."""

from __future__ import annotations

import re

from pipelines.errors import BadInput

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class DatasetNameError(BadInput):
    pass


def validate_dataset_name(name: str) -> str:
    """The name, stripped, if it is safe as a folder name; else :class:`DatasetNameError`.

    Allowed: 1-64 characters, letters, digits, ``_ - .``, starting with a letter or digit.
    """
    name = (name or "").strip()
    if not _NAME_RE.match(name) or ".." in name:
        raise DatasetNameError(
            f"dataset name {name!r} is not allowed: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (for example 'wan_dance_v1')")
    return name
