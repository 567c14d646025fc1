"""Shared pieces of the Dance generation tab: errors shown in the UI, the
caller, dropdown helpers and the config form built from ``DanceConfig``."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, get_args

import gradio as gr
import pandas as pd

from pipelines.dance.config import STEADYDANCER_SIZES, DanceConfig
from pipelines.errors import BadInput, StudioError
from studio.errors import ui_error
from studio.ui_user import current_user

KEEP = "(experiment's)"
CONFIG_FIELDS = list(DanceConfig.model_fields)


@contextmanager
def shown():
    """Studio errors become a message in the UI (no traceback)."""
    try:
        yield
    except StudioError as exc:
        raise ui_error(exc) from None


def user_of(request: gr.Request | None):
    return current_user(request)


def keep(update: dict, current: Any, multiselect: bool = False) -> dict:
    """A dropdown update that keeps the current value when it is still a choice."""
    ids = [c[1] for c in update.get("choices", [])]
    if multiselect:
        update["value"] = [v for v in (current or []) if v in ids]
    elif current in ids:
        update["value"] = current
    return update


def pick_row(table: pd.DataFrame, evt: gr.SelectData) -> Any:
    """The id column of the clicked table row."""
    try:
        return table.iloc[evt.index[0]]["id"]
    except (IndexError, KeyError, TypeError):
        return gr.update()


def config_input(name: str, with_default: bool) -> gr.components.Component:
    """A form control for one DanceConfig field: its default (experiment form) or
    empty, meaning "the experiment's value" (job overrides)."""
    info = DanceConfig.model_fields[name]
    default = info.default if with_default else None
    label, help_text = name, info.description
    elem = f"dance-{'cfg' if with_default else 'ovr'}-{name.replace('_', '-')}"
    args = get_args(info.annotation)
    if name == "size":
        choices = list(STEADYDANCER_SIZES) if with_default else [KEEP, *STEADYDANCER_SIZES]
        return gr.Dropdown(
            choices,
            value=default or KEEP,
            label=label,
            info=help_text,
            allow_custom_value=True,
            elem_id=elem,
        )
    if info.annotation in (bool, bool | None):
        choices = (
            ["default", "true", "false"] if with_default else [KEEP, "default", "true", "false"]
        )
        value = {None: "default", True: "true", False: "false"}[default] if with_default else KEEP
        return gr.Dropdown(choices, value=value, label=label, info=help_text, elem_id=elem)
    if args and all(isinstance(a, str) for a in args):  # Literal[...]
        choices = list(args) if with_default else [KEEP, *args]
        return gr.Dropdown(
            choices,
            value=default if with_default else KEEP,
            label=label,
            info=help_text,
            elem_id=elem,
        )
    if name == "cuda_visible_devices":
        return gr.Textbox(
            value=default or "", label=label, info=help_text, elem_id=elem, max_length=64
        )
    precision = 0 if info.annotation in (int, int | None) else None
    if default is None:  # an empty number: a textbox (a Number shows 0)
        return gr.Textbox(
            value="",
            label=label,
            info=help_text,
            elem_id=elem,
            max_length=32,
            placeholder=KEEP if not with_default else "default",
        )
    return gr.Number(value=default, label=label, info=help_text, precision=precision, elem_id=elem)


def config_from_controls(values: list[Any]) -> dict[str, Any]:
    """Control values → config fields; empty and "(experiment's)" values are left out."""
    out: dict[str, Any] = {}
    for name, value in zip(CONFIG_FIELDS, values, strict=True):
        if value is None or value == "" or value == KEEP:
            continue
        annotation = DanceConfig.model_fields[name].annotation
        if annotation in (bool, bool | None):
            if value == "default":
                continue
            value = value == "true"
        elif annotation in (int, int | None, float, float | None):
            number = str(value).strip()
            if not number:
                continue
            try:
                value = int(float(number)) if annotation in (int, int | None) else float(number)
            except ValueError:
                raise BadInput(f"{name}: {number!r} is not a number.") from None
        out[name] = value
    return out
