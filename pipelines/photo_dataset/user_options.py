"""The photo dataset's options as a user sends them (REST JSON, the tab, the CLI).

The one definition is :class:`~pipelines.photo_dataset.photos.PhotoDatasetOptions`
and its nested dataclasses (quality, dedup, crop, caption): their fields, types and
defaults. :func:`parse_options` reads user JSON into it (unknown names and wrong
types refused, text fields limited to one line of bounded length), and
:func:`describe` lists the fields for the API schema and the tab.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from typing import Any

from pipelines.errors import BadInput
from pipelines.names import LINE_MAX, TextError, check_text

from .photos import PhotoDatasetError, PhotoDatasetOptions

TEXT_LIMITS = {"instruction": 4000, "trigger": 100}  # others: LINE_MAX


class OptionsError(BadInput):
    """Options a user sent that cannot be used (HTTP 422)."""


def _coerce(value: Any, default: Any, where: str) -> Any:
    """``value`` as the type of the option's default (None: the default), or OptionsError naming the option."""
    if value is None:
        return default
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.strip().lower() in ("true", "1", "yes", "on"):
                    return True
                if value.strip().lower() in ("false", "0", "no", "off", ""):
                    return False
                raise ValueError
            return bool(value)
        if isinstance(default, int):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            number = int(value)
            if abs(number) > 2**31:
                raise ValueError
            return number
        if isinstance(default, float):
            real = float(value)
            if not math.isfinite(real):
                raise ValueError
            return real
        if isinstance(default, str):
            if not isinstance(value, (str, int, float)):
                raise ValueError
            return check_text(
                str(value), f"option {where}", TEXT_LIMITS.get(where.split(".")[-1], LINE_MAX)
            )
        if isinstance(default, list):
            if isinstance(value, str):
                value = [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
            if not isinstance(value, (list, tuple)) or len(value) > 100:
                raise ValueError
            return [check_text(str(v), f"option {where}", LINE_MAX) for v in value]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ValueError
            return dict(value)
    except TextError as exc:
        raise OptionsError(str(exc)) from None
    except (TypeError, ValueError, OverflowError):
        kind = (
            type(default)
            .__name__.replace("str", "text")
            .replace("float", "number")
            .replace("int", "whole number")
        )
        raise OptionsError(f"option {where} = {str(value)[:100]!r}: expected a {kind}") from None
    return value


def parse_options(
    data: dict[str, Any] | None, api_key: str = "", check: bool = True
) -> PhotoDatasetOptions:
    """``PhotoDatasetOptions`` from user JSON; unknown names and wrong types give OptionsError.

    ``check=False`` leaves :meth:`PhotoDatasetOptions.check` to the caller (the studio
    checks the models and endpoints the options name first).

    Shape: ``{"quality": {...}, "dedup": {...}, "crop": {...}, "caption": {...}, "num_repeats": 10}``
    (field names as in the pipeline's option dataclasses).
    """
    data = data or {}
    if not isinstance(data, dict):
        raise OptionsError(
            'options must be a JSON object such as {"dedup": {"keep_per_cluster": 1}}'
        )
    options = PhotoDatasetOptions()
    for key, value in data.items():
        if key == "limits" or key not in {f.name for f in fields(options)}:
            known = ", ".join(f.name for f in fields(options) if f.name != "limits")
            raise OptionsError(f"unknown option {str(key)[:100]!r}; options are {known}")
        current = getattr(options, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise OptionsError(f"option {key} must be an object of {key} settings")
            names = {f.name for f in fields(current)}
            for sub, subvalue in value.items():
                if sub not in names or sub == "api_key":
                    hint = (
                        " (send the key as the separate api_key field)" if sub == "api_key" else ""
                    )
                    raise OptionsError(
                        f"unknown option {key}.{str(sub)[:100]}{hint}; {key} options are "
                        f"{', '.join(sorted(names - {'api_key'}))}"
                    )
                setattr(current, sub, _coerce(subvalue, getattr(current, sub), f"{key}.{sub}"))
        else:
            setattr(options, key, _coerce(value, current, key))
    options.caption.api_key = api_key or ""
    if not check:
        return options
    try:
        options.check()
    except PhotoDatasetError as exc:
        raise OptionsError(str(exc)) from None
    return options
